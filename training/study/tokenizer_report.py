"""The report's tokenizer section (issue 14): bpe, indent and ast at equal shape and FLOPs, and the vocabulary.

Points of the experiments that `training/study/tokenizers.toml` plans: `tokenizers` (seed
1337 at both sizes), `tokenizer_seeds` (seed 2 at the small size) and `vocabulary` (bpe and
indent at 8192 and 16384 ids; their 4096 column is the `tokenizers` points), each at three
budgets. At the largest budget every tokenizer is compared with `indent`, the hypothesis.

Two noises bound a difference. The paired bootstrap over the test files resamples the same
files for both points: it measures test-set noise only. The seed noise measures training noise:
from each tokenizer's seed 1337 - seed 2 difference d at the small size, a run's standard
deviation sd = sqrt(sum d^2 / 2k) over the k tokenizers with both seeds (each pair one degree of
freedom), taken to hold at both sizes. Where a tokenizer has both seeds its value is their mean.
A difference of means over n_a and n_b seeds has the 95% seed interval
d +- t(0.975, k) sd sqrt(1/n_a + 1/n_b), and counts only where that interval and the file
interval both exclude 0; with k = 2 or 3 pairs the t quantile is large (4.3, 3.2), which is what
two seeds can say. Until every point of `tokenizers` and `tokenizer_seeds` is there the verdict is
provisional: the seed noise comes from the tokenizers that have both seeds, a tokenizer without a
point is not judged, and the section lists the missing points.

Pure functions of the points: `tokenizer_study` gives the fits.json entry, `tokenizer_section`
renders it, `tokenizer_figures` draws the figures.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats

from pycodesmall.training.evaluation.tasks.functional import COMMONEST_MESSAGES, OTHER_MESSAGES
from pycodesmall.training.study.fits import Estimate
from pycodesmall.training.study.measures import MEASURE, MEASURES, Measure, measure_value, value
from pycodesmall.training.study.report_parts import (
    add_legend, experiment_table, fixed, markdown_table, point_labels, pyplot, run_flops, save_figure,
)

__all__ = ["EXPERIMENTS", "MEASURES", "paired_bootstrap", "run_sd", "seed_half_width", "tokenizer_figures",
           "tokenizer_section", "tokenizer_study"]

# What tokenizers.toml plans (tests/study/test_tokenizer_report.py checks that they agree).
EXPERIMENTS = ("tokenizers", "tokenizer_seeds", "vocabulary")
TOKENIZERS = ("bpe", "indent", "ast")
HYPOTHESIS = "indent"
SIZES = ("s332k", "s2_66m")
SEEDS = (1337, 2)  # the first at every size, the second at SEED_SIZE only
SEED_SIZE = "s332k"
BUDGETS = ("B1", "B2", "B3")
VOCABULARY_VARIANTS = ("bpe", "indent")
VOCABULARY_SIZES = (4096, 8192, 16384)  # 4096: the `tokenizers` points
RESAMPLES = 2000
COLOURS = {"bpe": "tab:blue", "indent": "tab:orange", "ast": "tab:green"}


TEST_BPB = MEASURE["test_bpb"]
SAMPLED_COLUMNS = ("humaneval_syntax_valid", "syntax_task_syntax_valid", "humaneval_indentation_errors",
                   "syntax_task_indentation_errors", "line_exact_match", "line_edit_similarity")


def paired_bootstrap(bits_a, bits_b, file_bytes, *, resamples: int = RESAMPLES, seed: int = 0) -> Estimate:
    """bpb(a) - bpb(b) over the same files, with its 95% percentile interval.

    Each resample draws the files with replacement, the same draw for both points, and takes
    sum(bits) / sum(bytes) of each: the pairing removes the files' own difficulty, which both
    points share, so the interval is that of the difference, not of two separate means.
    """
    bits_a, bits_b, file_bytes = (np.asarray(x, dtype=float) for x in (bits_a, bits_b, file_bytes))
    if not (bits_a.shape == bits_b.shape == file_bytes.shape) or bits_a.ndim != 1 or not len(bits_a):
        raise ValueError("paired_bootstrap needs both points' bits over the same files: one value per file each")
    draws = np.random.default_rng(seed).integers(0, len(file_bytes), size=(resamples, len(file_bytes)))
    sizes = file_bytes[draws].sum(axis=1)
    replicates = bits_a[draws].sum(axis=1) / sizes - bits_b[draws].sum(axis=1) / sizes
    low, high = np.percentile(replicates, [2.5, 97.5])
    return Estimate(float((bits_a.sum() - bits_b.sum()) / file_bytes.sum()), float(low), float(high))


# --- the points ------------------------------------------------------------------------

def _planned() -> list[tuple[str, str, str, dict]]:
    """(experiment, size, variant, the labels that pick its points) of every planned family."""
    return ([("tokenizers", s, t, {"size": s, "tokenizer": t, "seed": SEEDS[0]}) for s in SIZES for t in TOKENIZERS]
            + [("tokenizer_seeds", SEED_SIZE, t, {"size": SEED_SIZE, "tokenizer": t, "seed": SEEDS[1]})
               for t in TOKENIZERS]
            + [("vocabulary", s, f"{v}-{n}", {"size": s, "vocabulary": f"{v}-{n}"})
               for s in SIZES for v in VOCABULARY_VARIANTS for n in VOCABULARY_SIZES[1:]])


def _index(experiments: dict[str, list[dict]]) -> tuple[dict[tuple, dict], dict[str, list], dict[str, list]]:
    """(experiment, size, variant, budget) -> point for every planned point found once; and, by
    experiment, the missing and the duplicated (say, a family rerun at another lr), described."""
    found, missing, duplicated = {}, {name: [] for name in EXPERIMENTS}, {name: [] for name in EXPERIMENTS}
    for experiment, size, variant, family in _planned():
        described = f"{experiment} " + " ".join(f"{k}={v}" for k, v in family.items())
        absent = []
        for budget in BUDGETS:
            matches = [p for p in experiments.get(experiment, []) if point_labels(p).get("budget") == budget
                       and all(point_labels(p).get(k) == v for k, v in family.items())]
            if len(matches) == 1:
                found[experiment, size, variant, budget] = matches[0]
            elif matches:
                duplicated[experiment].append(f"{described} {budget}: {', '.join(p['_file'] for p in matches)}")
            else:
                absent.append(budget)
        if absent:
            missing[experiment].append(f"{described}: {', '.join(absent)}")
    return found, missing, duplicated


def _file_bits(point: dict) -> tuple[list, list] | None:
    test = (point.get("eval") or {}).get("test_bpb") or {}
    bits, sizes = test.get("file_bits"), test.get("file_bytes")
    if isinstance(bits, list) and isinstance(sizes, list) and bits and len(bits) == len(sizes):
        return bits, sizes
    return None


def _mean_file_bits(points: list[dict]) -> tuple[np.ndarray, list] | None:
    """The per-file bits averaged over `points` (the seeds of one tokenizer), where each kept
    them for the same files (equal per-file bytes show that); None otherwise."""
    files = [_file_bits(p) for p in points]
    if not files or any(f is None or f[1] != files[0][1] for f in files):
        return None
    return np.mean([f[0] for f in files], axis=0), files[0][1]


def _file_interval(a: list[dict], b: list[dict], seed: int) -> Estimate | None:
    """mean bpb(a) - mean bpb(b) paired over the test files, where every point kept the same
    files' bits (older points have none)."""
    files_a, files_b = _mean_file_bits(a), _mean_file_bits(b)
    if files_a is None or files_b is None or files_a[1] != files_b[1]:
        return None
    return paired_bootstrap(files_a[0], files_b[0], files_a[1], seed=seed)


# --- the analysis ----------------------------------------------------------------------

def _mean(points: list[dict], m: Measure) -> float | None:
    """`m` averaged over the seeds in `points`; None where one of them lacks it."""
    values = [measure_value(p, m) for p in points]
    return None if not values or None in values else float(np.mean(values))


def _difference_dict(a: list[dict], b: list[dict], seed: int, m: Measure = TEST_BPB) -> dict:
    """mean(a) - mean(b) on `m`, with the file interval where the measure and the points have one."""
    interval = _file_interval(a, b, seed) if m is TEST_BPB else None
    return {"difference": _mean(a, m) - _mean(b, m), "low": None if interval is None else interval.low,
            "high": None if interval is None else interval.high}


def _bytes_per_token(point: dict) -> float | None:
    test = (point.get("eval") or {}).get("test_bpb") or {}
    size_bytes, tokens = value(test.get("bytes")), value(test.get("tokens"))
    return size_bytes / tokens if size_bytes and tokens else None


def _row(size: str, tokenizer: str, points: list[dict], hypothesis: list[dict], seed: int) -> dict:
    """A table row: the tokenizer's values at `size`, the means over its seeds there. Its
    generation speed in bytes per second relative to indent's: the variants share the model
    shape and vocabulary, so they generate the same tokens per second and bytes per second go
    as bytes per token (the transforms' decoding left out)."""
    bytes_per_token = _bytes_per_token(points[0])
    reference = _bytes_per_token(hypothesis[0]) if hypothesis else None
    ci = (((points[0].get("eval") or {}).get("sampled") or {}).get("humaneval") or {}).get("pass@1_ci95")
    paired = tokenizer != HYPOTHESIS and None not in (_mean(points, TEST_BPB), _mean(hypothesis, TEST_BPB))
    return {"size": size, "tokenizer": tokenizer, "points": [p.get("point", p["_file"]) for p in points],
            "seeds": len(points), **{m.key: _mean(points, m) for m in MEASURES},
            "difference_to_indent": _difference_dict(points, hypothesis, seed) if paired else None,
            "bytes_per_token": bytes_per_token,
            "bytes_per_second_vs_indent": bytes_per_token / reference if bytes_per_token and reference else None,
            "pass_at_1_ci95": ci if len(points) == 1 and isinstance(ci, list) and len(ci) == 2 else None}


def run_sd(differences: list[float]) -> tuple[float | None, int]:
    """A run's standard deviation and its degrees of freedom from the differences between two
    seeds of k configurations: each difference is two runs' noise, variance 2 sd^2, one degree
    of freedom. (None, 0) without any."""
    if not differences:
        return None, 0
    return math.sqrt(sum(d * d for d in differences) / (2 * len(differences))), len(differences)


def _seed_noise(main: dict, seconds: dict) -> dict:
    """Per measure: seed 1337 - seed 2 per tokenizer at SEED_SIZE, the tokenizers that have both
    ("from"), and from them a run's standard deviation "sd" on "df" = len(from) degrees of
    freedom (None where no tokenizer has both seeds)."""
    by_measure = {}
    for m in MEASURES:
        differences = {}
        for t in TOKENIZERS:
            first, second = measure_value(main[SEED_SIZE, t], m), measure_value(seconds[t], m)
            differences[t] = None if first is None or second is None else first - second
        sd, df = run_sd([d for d in differences.values() if d is not None])
        by_measure[m.key] = {"differences": differences, "from": [t for t, d in differences.items() if d is not None],
                             "sd": sd, "df": df}
    return {"size": SEED_SIZE, "budget": BUDGETS[-1], "seeds": list(SEEDS), "by_measure": by_measure}


def _seed_standard_error(noise: dict, seeds_a: int, seeds_b: int) -> float:
    """The standard error, from seed noise alone, of a difference of means over `seeds_a` and `seeds_b` seeds."""
    return noise["sd"] * math.sqrt(1 / seeds_a + 1 / seeds_b)


def _t95(noise: dict) -> float:
    """The t quantile of a two-sided 95% interval on the seed noise's degrees of freedom."""
    return float(stats.t.ppf(0.975, noise["df"]))


def seed_half_width(noise: dict, seeds_a: int, seeds_b: int) -> float:
    """Half the 95% seed interval of a difference of means over `seeds_a` and `seeds_b` seeds."""
    return _t95(noise) * _seed_standard_error(noise, seeds_a, seeds_b)


def _comparison(m: Measure, a: list[dict], b: list[dict], noise: dict, seed: int) -> dict:
    """mean(a) - mean(b) on `m` with its seed interval, its t ratio and two-sided p on the seed
    noise's degrees of freedom, and whether it is distinguishable: the seed interval and the file
    interval (if there is one) both exclude 0."""
    c = _difference_dict(a, b, seed, m)
    d = c["difference"]
    se = _seed_standard_error(noise, len(a), len(b))
    half = seed_half_width(noise, len(a), len(b))
    if se > 0:
        t_ratio = d / se
        p = float(2 * stats.t.sf(abs(t_ratio), noise["df"]))
    else:  # no seed-to-seed difference at all (say, pass@1 at 0 everywhere)
        t_ratio, p = None, 1.0 if d == 0 else 0.0
    beyond_file = None if c["low"] is None else not c["low"] <= 0.0 <= c["high"]
    beyond_seed = abs(d) > half
    return {**c, "seeds": [len(a), len(b)], "seed_low": d - half, "seed_high": d + half, "t": t_ratio,
            "df": noise["df"], "p": p, "beyond_file_interval": beyond_file, "beyond_seed_noise": beyond_seed,
            "distinguishable": beyond_seed and beyond_file is not False}


def _indent_beats(c: dict, m: Measure) -> bool:
    # c = other - indent: indent is better where that is positive for a loss, negative for a rate
    return c["distinguishable"] and (c["difference"] > 0) == m.lower_is_better


def _key(entry: dict) -> str:
    return f"{entry['measure']} at {entry['size']}"


def _verdict(runs: dict, seed_noise: dict, seed: int, provisional: bool) -> dict:
    """Per measure and size, the tokenizers ranked by their seed means and each other tokenizer
    against indent, over the tokenizers measured there ("unmeasured": the others). "indent_wins"
    lists the pairs where every other tokenizer is measured and beaten; "indent_beats", per
    other tokenizer, where it is beaten."""
    entries = []
    for m in MEASURES:
        noise = seed_noise["by_measure"][m.key]
        for size in SIZES:
            values = {t: v for t in TOKENIZERS if (v := _mean(runs[size, t], m)) is not None}
            if noise["sd"] is None or HYPOTHESIS not in values or len(values) < 2:
                entries.append({"measure": m.key, "size": size, "values": values, "not_judged":
                                "no tokenizer has both seeds measured at the largest budget" if noise["sd"] is None
                                else "indent, or every other tokenizer, is not measured there"})
                continue
            ranked = sorted(values, key=lambda t: values[t] if m.lower_is_better else -values[t])
            best, runner_up = ranked[:2]
            against = {o: _comparison(m, runs[size, o], runs[size, HYPOTHESIS], noise, seed)
                       for o in values if o != HYPOTHESIS}
            unmeasured = [t for t in TOKENIZERS if t not in values]
            entries.append({"measure": m.key, "size": size, "values": values,
                            "seeds": {t: len(runs[size, t]) for t in values}, "ranked": ranked,
                            "unmeasured": unmeasured,
                            "best_vs_runner_up": _comparison(m, runs[size, best], runs[size, runner_up], noise, seed),
                            "against_indent": against,
                            "indent_wins": not unmeasured and all(_indent_beats(c, m) for c in against.values())})
    others = [t for t in TOKENIZERS if t != HYPOTHESIS]
    return {"provisional": provisional, "entries": entries,
            "indent_wins": [_key(e) for e in entries if e.get("indent_wins")],
            "indent_beats": {o: [_key(e) for e in entries if o in e.get("against_indent", {})
                                 and _indent_beats(e["against_indent"][o], MEASURE[e["measure"]])] for o in others}}


VOCABULARY_MEASURES = ("humaneval_syntax_valid", "humaneval_cut_by_length", "humaneval_syntax_valid_ended",
                       "syntax_task_syntax_valid", "syntax_task_cut_by_length", "syntax_task_syntax_valid_ended",
                       "line_edit_similarity", "line_indentation_match", "line_code_edit_similarity")

COMPILE_ERROR_TASKS = {"humaneval": "HumanEval samples", "syntax": "the syntax task's completions"}


def _vocabulary(found: dict) -> list[dict]:
    """Per size and variant, each vocabulary's point at the largest budget (4096: the
    `tokenizers` point, seed 1337) and the vocabulary of least test bpb once all are there. The
    same FLOPs buy fewer tokens at a larger vocabulary (its embedding costs compute too), so the
    rows also say how many tokens each trained on."""
    rows = []
    for size in SIZES:
        for variant in VOCABULARY_VARIANTS:
            points = {n: found.get(("tokenizers", size, variant, BUDGETS[-1]) if n == VOCABULARY_SIZES[0]
                                   else ("vocabulary", size, f"{variant}-{n}", BUDGETS[-1]))
                      for n in VOCABULARY_SIZES}
            bpb = {str(n): measure_value(p, TEST_BPB) for n, p in points.items()}
            ranked = sorted((x, int(n)) for n, x in bpb.items() if x is not None)
            complete = len(ranked) == len(VOCABULARY_SIZES)
            measured = {str(n): None if p is None else {
                "parameters_total": p["parameters"]["total"], "tokens": p["tokens"],
                "precision": p.get("precision"), "bytes_per_token": _bytes_per_token(p),
                "compile_errors": {task: p["eval"].get("sampled", {}).get(task, {}).get("compile_errors")
                                   for task in COMPILE_ERROR_TASKS},
                **{key: measure_value(p, MEASURE[key]) for key in VOCABULARY_MEASURES}} for n, p in points.items()}
            rows.append({"size": size, "variant": variant, "test_bpb": bpb, "measured": measured,
                         "best": ranked[0][1] if complete else None,
                         "margin_to_next": ranked[1][0] - ranked[0][0] if complete else None})
    return rows


def tokenizer_study(experiments: dict[str, list[dict]], *, seed: int = 0) -> dict:
    """The tokenizer study's numbers (the fits.json entry) from the points by experiment.

    `seed` seeds the file bootstrap. "verdict" is None until some tokenizer has both seeds, and
    provisional while a point of `tokenizers` or `tokenizer_seeds` is missing or duplicated
    ("missing", "duplicated" say which, by experiment); the vocabulary is a separate question
    and does not hold it back."""
    found, missing, duplicated = _index(experiments)
    incomplete = any(missing[name] or duplicated[name] for name in EXPERIMENTS[:2])
    last = BUDGETS[-1]
    main = {(s, t): found.get(("tokenizers", s, t, last)) for s in SIZES for t in TOKENIZERS}
    seconds = {t: found.get(("tokenizer_seeds", SEED_SIZE, t, last)) for t in TOKENIZERS}
    # every seed of a tokenizer at a size, seed 1337 first: the comparisons use their means
    runs = {(s, t): [p for p in (main[s, t], seconds[t] if s == SEED_SIZE else None) if p is not None]
            for s, t in main}
    seed_noise = _seed_noise(main, seconds)
    return {
        "points": {name: len(experiments.get(name, [])) for name in EXPERIMENTS},
        "budget": last, "missing": missing, "duplicated": duplicated,
        "file_bootstrap": {"resamples": RESAMPLES, "seed": seed},
        "rows": [_row(s, t, points, runs[s, HYPOTHESIS], seed) for (s, t), points in runs.items() if points],
        "seed_noise": seed_noise,
        "verdict": (None if not any(m["from"] for m in seed_noise["by_measure"].values())
                    else _verdict(runs, seed_noise, seed, provisional=incomplete)),
        "vocabulary": _vocabulary(found),
    }


# --- the section -----------------------------------------------------------------------

def _signed(x: float | None, digits: int) -> str:
    return "–" if x is None else f"{x:+.{digits}f}"


def _interval(c: dict, digits: int) -> str:
    return "–" if c["low"] is None else f"[{_signed(c['low'], digits)}, {_signed(c['high'], digits)}]"


def _judgement(c: dict, m: Measure, a: str, b: str) -> str:
    """`a - b = difference [file interval], seed interval (t, p); who is better or why neither
    is`, for c = a - b."""
    digits = m.digits
    file_part = "" if c["low"] is None else f", file interval {_interval(c, digits)}"
    t_part = "no seed-to-seed difference" if c["t"] is None else f"t = {c['t']:+.2f} on {c['df']} df, p = {c['p']:.2g}"
    said = (f"{a} - {b} = {_signed(c['difference'], digits)}{file_part}, seed interval "
            f"[{_signed(c['seed_low'], digits)}, {_signed(c['seed_high'], digits)}] ({t_part})")
    if c["distinguishable"]:
        better = a if (c["difference"] < 0) == m.lower_is_better else b
        beyond = "both intervals exclude 0" if c["beyond_file_interval"] else "the seed interval excludes 0 (no file interval)"
        return f"{said}; {better} is better: {beyond}"
    reasons = ([] if c["beyond_seed_noise"] else ["the seed interval includes 0"]) + \
        (["the file interval includes 0"] if c["beyond_file_interval"] is False else [])
    return f"{said}; not distinguishable: {' and '.join(reasons)}"


def _verdict_lines(verdict: dict, seed_noise: dict) -> list[str]:
    lines = []
    if verdict["provisional"]:
        noise_from = seed_noise["by_measure"][TEST_BPB.key]["from"]
        lines += [f"Provisional: planned points are missing (listed above). The seed noise comes from "
                  f"{' and '.join(noise_from) or 'no tokenizer'} only (those with both seeds on test bpb), and a "
                  "tokenizer without a point at a size is not judged there.", ""]
    for e in verdict["entries"]:
        m = MEASURE[e["measure"]]
        means = sorted({n for n in e.get("seeds", {}).values() if n > 1})
        head = (f"- **{m.name}** at {e['size']} ({'lower' if m.lower_is_better else 'higher'} is better"
                + (f"; means of {' or '.join(map(str, means))} seeds where measured" if means else "") + ")")
        if "not_judged" in e:
            lines.append(f"{head}: no verdict, {e['not_judged']}.")
            continue
        best, runner_up = e["ranked"][:2]
        lines.append(f"{head}: " + ", ".join(f"{t} {fixed(e['values'][t], m.digits)}" for t in e["ranked"])
                     + (f"; {', '.join(e['unmeasured'])} not measured" if e["unmeasured"] else "") + ".")
        if HYPOTHESIS not in (best, runner_up):  # else the lines on indent below say it
            lines.append(f"  {best} is first: {_judgement(e['best_vs_runner_up'], m, best, runner_up)}.")
        for other, c in e["against_indent"].items():
            lines.append(f"  indent {'beats' if _indent_beats(c, m) else 'does not beat'} {other} on {m.name} at "
                         f"{e['size']}: {_judgement(c, m, other, HYPOTHESIS)}.")

    def tally(won: list[dict], judged: int) -> str:
        names = "; ".join(f"{MEASURE[e['measure']].name} at {e['size']}" for e in won)
        return f"{len(won)} of the {judged} judged measure-size pairs" + (f": {names}" if won else "")

    judged = [e for e in verdict["entries"] if "not_judged" not in e]
    lines += ["", "Overall, where the 95% seed interval and any file interval exclude 0:"]
    for other, beaten in verdict["indent_beats"].items():
        against = [e for e in judged if other in e["against_indent"]]
        won = [e for e in against if _key(e) in beaten]
        lines.append(f"- indent beats {other} on {tally(won, len(against))}.")
    complete = [e for e in judged if not e["unmeasured"]]
    lines.append(f"- indent beats both {' and '.join(verdict['indent_beats'])} on "
                 f"{tally([e for e in complete if e['indent_wins']], len(complete))}.")
    return lines + [""]


def _rate(row: dict, key: str) -> str:
    return fixed(row[key], MEASURE[key].digits)


def _tables(rows: list[dict]) -> list[str]:
    bpb = []
    for r in rows:
        d = r["difference_to_indent"]
        bpb.append([r["size"], r["tokenizer"], str(r["seeds"]), _rate(r, "test_bpb"),
                    "–" if d is None else _signed(d["difference"], 4), "–" if d is None else _interval(d, 4),
                    fixed(r["bytes_per_token"], 3), fixed(r["bytes_per_second_vs_indent"], 3),
                    _rate(r, "humaneval_reference_bpb")])
    sampled = [[r["size"], r["tokenizer"], str(r["seeds"]),
                _rate(r, "pass_at_1") + ("" if r["pass_at_1_ci95"] is None else
                                         " [" + ", ".join(f"{x:.3f}" for x in r["pass_at_1_ci95"]) + "]"),
                *(_rate(r, k) for k in SAMPLED_COLUMNS)] for r in rows]
    bpb_header = ["size", "tokenizer", "seeds", "test bpb", "minus indent", "95% file interval", "bytes per token",
                  "generation bytes/s vs indent",
                  "HumanEval reference bpb"]
    sampled_header = ["size", "tokenizer", "seeds", "pass@1 [ci95]", *(MEASURE[k].name for k in SAMPLED_COLUMNS)]
    return [*markdown_table(bpb_header, bpb),
            "Generation bytes/s vs indent: bytes per token over indent's at the same size. The variants share "
            "the model shape and vocabulary, so they generate the same tokens per second and bytes per second "
            "go as bytes per token; the cost of decoding the indent and ast transforms is left out.", "",
            *markdown_table(sampled_header, sampled),
            "Syntax task: greedy completions of function bodies (held-out test files and HumanEval prompts "
            "together, as the points store it). pass@1's ci95 is over problems, shown for a single seed's point.", ""]


def _seed_table(seed_noise: dict) -> list[str]:
    def sd(noise: dict, digits: int) -> str:
        return "–" if noise["sd"] is None else f"{noise['sd']:.{digits}f} ({noise['df']} df)"

    rows = [[m.name, *(_signed(seed_noise["by_measure"][m.key]["differences"][t], m.digits) for t in TOKENIZERS),
             sd(seed_noise["by_measure"][m.key], m.digits)] for m in MEASURES]
    return markdown_table(["measure", *TOKENIZERS, "sd of a run"], rows)


def _vocabulary_lines(rows: list[dict], noise: dict) -> list[str]:
    """The vocabulary table, each row's best vocabulary, and whether the best grows with the
    model (Tao et al. 2024 predict it does). One seed per vocabulary, so a margin is judged
    against the seed interval of a difference of two single runs."""
    half = None if noise["sd"] is None else seed_half_width(noise, 1, 1)
    header = ["size", "variant", "ids", "N total", "tokens trained", "precision", "test bpb", "bytes per token",
              *(MEASURE[key].name for key in VOCABULARY_MEASURES)]

    def cells(m: dict | None, bpb: float | None) -> list[str]:
        if m is None:
            return ["–"] * (len(header) - 3)
        return [f"{m['parameters_total']:,}", f"{m['tokens'] / 1e6:.1f}M", m["precision"] or "–", fixed(bpb),
                fixed(m["bytes_per_token"], 3), *(fixed(m[key], MEASURE[key].digits) for key in VOCABULARY_MEASURES)]
    body = [[r["size"], r["variant"], str(n), *cells(r["measured"][str(n)], r["test_bpb"][str(n)])]
            for r in rows for n in VOCABULARY_SIZES]
    noise_rule = ("no seed noise is measured yet, so no margin can be judged" if half is None else
                  f"a margin within the 95% seed interval of two single runs' difference (±{fixed(half)} on test "
                  "bpb) is not a difference")
    lines = [*markdown_table(header, body),
             "Same FLOPs for every vocabulary: a larger one spends more of them in its embedding and output layer, "
             "so it trains on fewer tokens. \"Cut by the token cap\": samples that reached the cap of new tokens "
             "before ending their function. One parses only if the cap fell where the code so far is complete, most "
             "often inside a comment that a greedy completion repeats up to the cap; \"when ended\": the "
             "validity of the rest. Line completion's two parts: whether the predicted line's indentation is right, "
             "and the edit similarity of the code after it. These are kept since the vocabulary runs: \"–\" for "
             "earlier points. One seed per "
             f"vocabulary: {noise_rule}. \"–\" where a vocabulary's point is missing.", ""]
    findings = [f"- {r['variant']} at {r['size']}: least test bpb at {r['best']} ids, by "
                f"{fixed(r['margin_to_next'])} over the runner-up{_judged(r['margin_to_next'], half)}."
                + _mixed_precision(r) for r in rows if r["best"] is not None]
    for variant in VOCABULARY_VARIANTS:
        small, large = (next(r for r in rows if r["size"] == s and r["variant"] == variant) for s in SIZES)
        if small["best"] is not None and large["best"] is not None:
            findings.append(f"- {variant}: best {small['best']} ids at {small['size']}, {large['best']} at "
                            f"{large['size']}: {_growth(small, large, half)}.")
    return lines + findings + ([""] if findings else []) + _compile_error_lines(rows)


def _compile_error_lines(rows: list[dict]) -> list[str]:
    """Per task, the compiler's commonest messages for the vocabulary points that kept them
    (one column a point): where one tokenizer's samples fail and another's do not."""
    lines = []
    for task, title in COMPILE_ERROR_TASKS.items():
        columns = {f"{r['size']} {r['variant']}-{n}": errors for r in rows for n in VOCABULARY_SIZES
                   if (m := r["measured"][str(n)]) is not None and (errors := m["compile_errors"][task]) is not None}
        if not columns:
            continue
        messages = sorted({message for errors in columns.values() for message in errors},
                          key=lambda message: (message == OTHER_MESSAGES,
                                               -max(errors.get(message, 0.0) for errors in columns.values())))
        body = [[f"`{message}`".replace("|", "\\|"),
                 *(f"{100 * errors.get(message, 0.0):.1f}%" for errors in columns.values())] for message in messages]
        lines += [f"Why {title} do not compile: the compiler's message as a share of all samples (a point keeps its "
                  f"{COMMONEST_MESSAGES} commonest, so 0.0% can also mean rarer than those).", "",
                  *markdown_table(["message", *columns], body), ""]
    return lines


def _judged(margin: float, half: float | None) -> str:
    if half is None:
        return ", seed noise not yet measured"
    return ", within the seed noise" if margin <= half else ", beyond the seed noise"


def _growth(small: dict, large: dict, half: float | None) -> str:
    """Whether the best vocabulary grows from the small model to the large one: a change counts
    where each size prefers its own best over the other's by more than the seed interval."""
    if large["best"] == small["best"]:
        if half is not None and min(small["margin_to_next"], large["margin_to_next"]) > half:
            return "the same at both sizes: the best vocabulary does not grow with the model, against Tao et al. 2024"
        return "the same at both sizes, but not beyond the seed noise: no evidence either way"
    gaps = (small["test_bpb"][str(large["best"])] - small["test_bpb"][str(small["best"])],
            large["test_bpb"][str(small["best"])] - large["test_bpb"][str(large["best"])])
    if half is None or min(gaps) <= half:
        return "one seed per vocabulary cannot say whether the best vocabulary changes with the model"
    if large["best"] > small["best"]:
        return "the best vocabulary grows with the model, as Tao et al. 2024 predict"
    return "the best vocabulary shrinks with the model, against Tao et al. 2024's prediction"


def _mixed_precision(row: dict) -> str:
    """A warning where a row's vocabularies trained in different precisions ("auto" resolves
    to bf16 only on a CPU with native bf16), else ''."""
    by_precision: dict[str, list[str]] = {}
    for n, m in row["measured"].items():
        if m is not None:
            by_precision.setdefault(m["precision"] or "unknown", []).append(n)
    if len(by_precision) < 2:
        return ""
    return (" Trained in different precisions (" + "; ".join(f"{k} at {', '.join(v)}" for k, v in by_precision.items())
            + "): a second difference beside the vocabulary; the `precision` experiment found bf16 against fp32 "
            "within the seed noise at one small shape.")


def tokenizer_section(study: dict, experiments: dict[str, list[dict]], figures: list[str],
                      interpretation: list[str] = ()) -> list[str]:
    """The report's lines for `study` (from `tokenizer_study`), with the points' tables, `figures`
    and the written `interpretation` after the verdict."""
    lines = ["## Tokenizers", ""]
    if not any(study["points"].values()):
        return lines + ["No point of `tokenizers`, `tokenizer_seeds` or `vocabulary` yet "
                        "(`training/study/tokenizers.toml`).", ""]
    last, noise = study["budget"], study["seed_noise"]
    resamples, seed = study["file_bootstrap"]["resamples"], study["file_bootstrap"]["seed"]
    lines += [f"bpe, indent and ast on the same training files, model shapes and training FLOPs "
              f"(`training/study/tokenizers.toml`); {', '.join(f'{k} {v}' for k, v in study['points'].items())} "
              f"points. Tables at the largest budget ({last}), each value the mean over the seeds measured (the seeds "
              "column); differences are the tokenizer's value minus indent's.",
              "",
              f"Two noises bound a difference. The file interval is a paired bootstrap over the test files "
              f"({resamples} resamples, seed {seed}; each resample draws the files with replacement, the same draw for "
              "both points, and takes sum(bits) / sum(bytes) of each): it measures test-set noise only, not training "
              f"noise. The seed noise is training noise: from each tokenizer's d = seed {SEEDS[0]} - seed {SEEDS[1]} "
              f"at {noise['size']}, a run's standard deviation sd = sqrt(sum d^2 / 2k) over the k tokenizers with "
              "both seeds (k degrees of freedom), measured at that size only and applied at both. Where a tokenizer "
              "has both seeds its value is their mean, and a difference of means over n_a and n_b seeds has the 95% "
              "seed interval d ± t(0.975, k) sd sqrt(1/n_a + 1/n_b). A difference counts only where both intervals "
              "exclude 0; measures other than test bpb keep no per-file record and are judged on the seed interval "
              "alone. With two or three pairs the t quantile is 4.3 or 3.2: two seeds can only resolve large "
              "differences, and p says how close a smaller one comes.",
              ""]
    missing = [m for name in EXPERIMENTS for m in study["missing"][name]]
    duplicated = [d for name in EXPERIMENTS for d in study["duplicated"][name]]
    if missing:
        lines += ["Planned points missing (family: budgets):", "", *(f"- {m}" for m in missing), ""]
    if duplicated:
        lines += ["Planned points found more than once, left out:", "", *(f"- {d}" for d in duplicated), ""]
    for name in figures:
        if name.endswith(".png"):
            lines += [f"![{name[:-4]}](figures/{name})", ""]

    lines += [f"### At the largest budget ({last})", ""]
    lines += _tables(study["rows"]) if study["rows"] else [f"No `tokenizers` point at {last} yet.", ""]
    lines += [f"### Seed noise ({noise['size']}, {last}: seed {SEEDS[0]} - seed {SEEDS[1]})", "", *_seed_table(noise)]
    lines += ["### Verdict", ""]
    lines += (_verdict_lines(study["verdict"], noise) if study["verdict"] is not None else
              [f"No verdict until some tokenizer has both seeds at {noise['size']} (missing or found twice: "
               "listed above).", ""])
    lines += list(interpretation)
    lines += [f"### Vocabulary ({last})", "",
              *_vocabulary_lines(study["vocabulary"], noise["by_measure"][TEST_BPB.key])]
    for name in EXPERIMENTS:
        if experiments.get(name):
            lines += [f"### Points: {name}", "", *experiment_table(experiments[name])]
    return lines


# --- figures ---------------------------------------------------------------------------

def _curve(found: dict, experiment: str, size: str, variant: str) -> tuple[list, list]:
    points = [p for b in BUDGETS if (p := found.get((experiment, size, variant, b))) is not None
              and run_flops(p) and measure_value(p, TEST_BPB) is not None]
    return [run_flops(p) for p in points], [measure_value(p, TEST_BPB) for p in points]


def _figure_tokenizers(found: dict, figures_dir: Path) -> list[str]:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(SIZES), figsize=(11, 4.2))
    for ax, size in zip(axes, SIZES):
        for t in TOKENIZERS:
            if (curve := _curve(found, "tokenizers", size, t))[0]:
                ax.plot(*curve, "o-", color=COLOURS[t], ms=4, lw=0.8, label=f"{t}, seed {SEEDS[0]}")
            if size == SEED_SIZE and (curve := _curve(found, "tokenizer_seeds", size, t))[0]:
                ax.plot(*curve, "o", color=COLOURS[t], mfc="none", ms=6, label=f"{t}, seed {SEEDS[1]}")
        ax.set_xscale("log")
        ax.set_xlabel("training FLOPs")
        ax.set_ylabel("test bits per byte")
        ax.set_title(f"{size}: loss against compute, one line per tokenizer", fontsize=9)
        add_legend(ax)
    return save_figure(fig, figures_dir, "tokenizers")


def _figure_vocabulary(vocabulary: list[dict], noise: dict, figures_dir: Path) -> list[str]:
    """Loss against vocabulary size, with bars of one run's 95% seed interval where seed noise is
    measured: every vocabulary point is a single seed, so the bars say which gaps one seed resolves."""
    plt = pyplot()
    half = None if noise["sd"] is None else _t95(noise) * noise["sd"]
    fig, axes = plt.subplots(1, len(SIZES), figsize=(11, 4.2))
    for ax, size in zip(axes, SIZES):
        for r in (r for r in vocabulary if r["size"] == size):
            known = [(n, r["test_bpb"][str(n)]) for n in VOCABULARY_SIZES if r["test_bpb"][str(n)] is not None]
            if known:
                ax.errorbar(*zip(*known), yerr=half, fmt="o-", capsize=3, color=COLOURS[r["variant"]], ms=4, lw=0.8,
                            label=f"{r['variant']}, seed {SEEDS[0]}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(VOCABULARY_SIZES, [str(n) for n in VOCABULARY_SIZES])
        ax.set_xlabel("vocabulary size (ids)")
        ax.set_ylabel("test bits per byte")
        bars = "" if half is None else f"\nbars: one run's 95% seed interval (±{half:.3f})"
        ax.set_title(f"{size}: loss against vocabulary, largest budget ({BUDGETS[-1]}){bars}", fontsize=9)
        add_legend(ax)
    return save_figure(fig, figures_dir, "vocabulary")


def tokenizer_figures(study: dict, experiments: dict[str, list[dict]], figures_dir: Path) -> list[str]:
    """tokenizers.png|pdf (loss against FLOPs per size) once a tokenizer point exists, and
    vocabulary.png|pdf (loss against vocabulary size) once a vocabulary point does; `study` is
    `tokenizer_study`'s result, for the vocabulary rows and the seed noise."""
    found, _, _ = _index(experiments)
    names = []
    if any(key[0] != "vocabulary" for key in found):
        names += _figure_tokenizers(found, figures_dir)
    if any(key[0] == "vocabulary" for key in found):
        names += _figure_vocabulary(study["vocabulary"], study["seed_noise"]["by_measure"][TEST_BPB.key], figures_dir)
    return names
