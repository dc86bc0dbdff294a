"""The tokenizer section from synthetic points of known per-file bits: intervals, seed noise, verdict, gaps."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from study_fixtures import point

from pycodesmall.training.study import tokenizer_report as tr
from pycodesmall.training.study.plan import load_plan
from pycodesmall.training.study.report import TOKENIZER_INTERPRETATION, TOKENIZER_PLACEHOLDER, write_report

REPOSITORY = Path(__file__).resolve().parents[2]
FILES = 60
_rng = np.random.default_rng(0)
FILE_BYTES = _rng.integers(500, 20000, FILES)
DIFFICULTY = _rng.normal(1.6, 0.3, FILES)  # each file's own bits per byte, shared by every point
COMPUTE = {"B1": 1.5e13, "B2": 4.7e13, "B3": 1.5e14}
N = {"s332k": 725_664, "s2_66m": 3_500_000}
EFFECT = {"bpe": -0.05, "indent": 0.0, "ast": 0.01}  # on every file's bits per byte
BYTES_PER_TOKEN = {"bpe": 3.0, "indent": 3.5, "ast": 3.2}
SYNTAX_VALID = {"bpe": 0.6, "indent": 0.8, "ast": 0.75}
LINE_EXACT_MATCH = {"bpe": 0.25, "indent": 0.2, "ast": 0.22}
VOCABULARY_EFFECT = {8192: -0.02, 16384: -0.01}


def tokenizer_point(experiment: str, size: str, variant: str, budget: str, *, seed: int = 1337,
                    seed_shift: float = 0.0, vocabulary: int = 4096) -> dict:
    """A point whose files' bits are DIFFICULTY + EFFECT[variant] (+ the vocabulary's, the budget's
    and `seed_shift`) plus a little per-file noise, times FILE_BYTES."""
    index = list(COMPUTE).index(budget)
    rng = np.random.default_rng([tr.EXPERIMENTS.index(experiment), N[size], index, seed, vocabulary, len(variant)])
    file_bpb = (DIFFICULTY + EFFECT[variant] + VOCABULARY_EFFECT.get(vocabulary, 0.0) + 0.1 * (2 - index)
                + seed_shift + rng.normal(0, 0.02, FILES))
    bits = file_bpb * FILE_BYTES
    if experiment == "vocabulary":
        labels = {"size": size, "vocabulary": f"{variant}-{vocabulary}"}
    else:
        labels = {"size": size, "tokenizer": variant, "seed": seed}
    p = point(N[size], budget, COMPUTE[budget], bits.sum() / FILE_BYTES.sum(), final=budget == "B3",
              experiment=experiment, labels={**labels, "lr": 0.004, "budget": budget, "compute": COMPUTE[budget]})
    p["_file"] = f"{experiment}/{size}-{variant}-{vocabulary}-{seed}-{budget}.json"
    p["tokenizer"] = {"variant": variant, "vocab_size": vocabulary}
    p["eval"]["test_bpb"].update(bits=float(bits.sum()), bytes=int(FILE_BYTES.sum()), files=FILES,
                                 tokens=int(FILE_BYTES.sum() / BYTES_PER_TOKEN[variant]),
                                 file_bits=bits.tolist(), file_bytes=FILE_BYTES.tolist())
    if p["final"]:
        valid = SYNTAX_VALID[variant] + seed_shift / 10
        p["eval"]["sampled"] = {
            "humaneval": {"pass@1": 0.01, "pass@1_ci95": [0.0, 0.03], "syntax_valid": valid,
                          "indentation_error_rate": 1 - valid, "error_categories": {"syntax_error": 1 - valid},
                          "cut_by_length_rate": 0.4, "ended_on_their_own": {
                              "samples": 12, "syntax_valid": min(1.0, valid + 0.1), "indentation_error_rate": 0.0}},
            "lines": {"exact_match": LINE_EXACT_MATCH[variant], "edit_similarity": 0.5,
                      **({"indentation_match": 0.8, "code_edit_similarity": 0.4} if experiment == "vocabulary" else {})},
            "syntax": {"syntax_valid": valid, "indentation_error_rate": 1 - valid},
        }
    return p


def study_points(seed_shift: float = 0.002) -> dict[str, list[dict]]:
    """Every planned point; the seed-2 points shifted by ±`seed_shift` (the training noise)."""
    experiments = {name: [] for name in tr.EXPERIMENTS}
    for budget in COMPUTE:
        for size in tr.SIZES:
            for t in tr.TOKENIZERS:
                experiments["tokenizers"].append(tokenizer_point("tokenizers", size, t, budget))
            for v in tr.VOCABULARY_VARIANTS:
                for n in tr.VOCABULARY_SIZES[1:]:
                    experiments["vocabulary"].append(tokenizer_point("vocabulary", size, v, budget, vocabulary=n))
        for sign, t in zip((1, -1, 1), tr.TOKENIZERS):
            experiments["tokenizer_seeds"].append(
                tokenizer_point("tokenizer_seeds", tr.SEED_SIZE, t, budget, seed=2, seed_shift=sign * seed_shift))
    return experiments


def entry(study: dict, measure: str, size: str) -> dict:
    return next(e for e in study["verdict"]["entries"] if e["measure"] == measure and e["size"] == size)


def section(study: dict, experiments: dict) -> str:
    return "\n".join(tr.tokenizer_section(study, experiments, []))


def vocabulary_section(experiments: dict) -> str:
    return section(tr.tokenizer_study(experiments), experiments).split("### Vocabulary")[1]


def test_paired_bootstrap_contains_the_true_difference_and_excludes_zero():
    rng = np.random.default_rng(1)
    worse = (DIFFICULTY + rng.normal(0, 0.02, FILES)) * FILE_BYTES
    better = (DIFFICULTY - 0.03 + rng.normal(0, 0.02, FILES)) * FILE_BYTES
    e = tr.paired_bootstrap(better, worse, FILE_BYTES, seed=0)
    assert e.value == pytest.approx((better.sum() - worse.sum()) / FILE_BYTES.sum())
    assert e.contains(-0.03) and not e.contains(0.0)
    # the files' own difficulty (spread 0.3) cancels in the pairing: the interval is that of the noise
    assert e.high - e.low < 0.02
    assert tr.paired_bootstrap(better, worse, FILE_BYTES, seed=0) == e  # seeded
    with pytest.raises(ValueError, match="same files"):
        tr.paired_bootstrap(better, worse[:-1], FILE_BYTES)


def test_the_seed_interval_covers_the_true_difference_95_percent_of_the_time():
    # Two configurations whose true difference is 0.05, each run with noise of sd 0.03; the
    # run's sd estimated from 3 other configurations' seed pairs, as the report does.
    rng = np.random.default_rng(3)
    sd_true, covered, trials = 0.03, 0, 4000
    for _ in range(trials):
        sd, df = tr.run_sd(list(rng.normal(0, sd_true, (3, 2)) @ [1, -1]))
        for seeds in ((1, 1), (2, 2)):
            a, b = rng.normal(0.05, sd_true, seeds[0]).mean(), rng.normal(0.0, sd_true, seeds[1]).mean()
            half = tr.seed_half_width({"sd": sd, "df": df}, *seeds)
            covered += abs(a - b - 0.05) <= half
    assert covered / (2 * trials) == pytest.approx(0.95, abs=0.01)
    assert tr.run_sd([]) == (None, 0)


def test_table_and_verdict_from_known_margins():
    experiments = study_points()
    study = tr.tokenizer_study(experiments)
    assert not any(study["missing"].values()) and not any(study["duplicated"].values())
    rows = {(r["size"], r["tokenizer"]): r for r in study["rows"]}
    assert len(rows) == 6 and rows["s332k", "indent"]["difference_to_indent"] is None
    for size in tr.SIZES:
        bpe = rows[size, "bpe"]["difference_to_indent"]
        assert bpe["low"] <= EFFECT["bpe"] <= bpe["high"] and bpe["high"] < 0
        ast = rows[size, "ast"]["difference_to_indent"]
        assert ast["low"] <= EFFECT["ast"] <= ast["high"] and ast["low"] > 0
    assert rows["s332k", "bpe"]["bytes_per_token"] == pytest.approx(3.0, rel=1e-3)
    assert rows["s2_66m", "bpe"]["bytes_per_second_vs_indent"] == pytest.approx(3.0 / 3.5, rel=1e-3)
    assert rows["s332k", "indent"]["bytes_per_second_vs_indent"] == 1.0
    noise = study["seed_noise"]["by_measure"]["test_bpb"]
    # seed 2 shifted by ±0.002 (and its own per-file noise): a run's sd near 0.002 / sqrt(2), on 3 pairs
    assert noise["sd"] == pytest.approx(0.002 / np.sqrt(2), abs=0.002) and noise["df"] == 3

    test = entry(study, "test_bpb", "s332k")
    assert test["ranked"] == ["bpe", "indent", "ast"] and test["against_indent"]["bpe"]["distinguishable"]
    assert not test["indent_wins"]
    assert entry(study, "humaneval_syntax_valid", "s2_66m")["indent_wins"]
    assert "line_edit_similarity at s332k" not in study["verdict"]["indent_wins"]  # equal everywhere

    text = section(study, experiments)
    bpe = test["against_indent"]["bpe"]
    assert bpe["seeds"] == [2, 2] and bpe["seed_low"] < EFFECT["bpe"] < bpe["seed_high"] < 0  # means of both seeds
    assert (f"indent does not beat bpe on test bpb at s332k: bpe - indent = {bpe['difference']:+.4f}, file interval "
            f"[{bpe['low']:+.4f}, {bpe['high']:+.4f}], seed interval [{bpe['seed_low']:+.4f}, {bpe['seed_high']:+.4f}] "
            f"(t = {bpe['t']:+.2f} on 3 df, p = {bpe['p']:.2g}); bpe is better: both intervals exclude 0.") in text
    assert "indent beats ast on test bpb at s332k: ast - indent = +0.01" in text
    assert "indent beats bpe on syntax valid (HumanEval samples) at s332k" in text
    # line exact match, equal across seeds: no seed noise at all, so any difference counts (indent is third)
    assert ("  bpe is first: bpe - ast = +0.030, seed interval [+0.030, +0.030] (no seed-to-seed difference); "
            "bpe is better") in text
    assert "no file interval" in text  # the sampled measures are judged on the seed noise alone
    assert "test-set noise only, not training noise" in text
    assert ("- indent beats both bpe and ast on 8 of the 18 judged measure-size pairs: "
            "syntax valid (HumanEval samples) at s332k;") in text
    assert "- indent beats bpe on 8 of the 18 judged measure-size pairs:" in text
    assert not study["verdict"]["provisional"] and "Provisional" not in text
    assert "| s332k | bpe | 2 | 0.010 | 0.600" in text  # the mean of two seeds: no single point's ci95
    assert "| s2_66m | bpe | 1 | 0.010 [0.000, 0.030] | 0.600" in text


def test_seed_noise_larger_than_a_difference_is_not_distinguishable():
    study = tr.tokenizer_study(study_points(seed_shift=0.1))
    assert study["seed_noise"]["by_measure"]["test_bpb"]["sd"] == pytest.approx(0.1 / np.sqrt(2), abs=0.01)
    bpe = entry(study, "test_bpb", "s332k")["against_indent"]["bpe"]
    assert bpe["beyond_file_interval"] and not bpe["beyond_seed_noise"] and not bpe["distinguishable"]
    assert bpe["p"] > 0.05
    text = section(study, study_points(seed_shift=0.1))
    assert f"indent does not beat bpe on test bpb at s332k: bpe - indent = {bpe['difference']:+.4f}, file interval [" in text
    assert "not distinguishable: the seed interval includes 0" in text


def test_missing_and_duplicated_points_are_listed_instead_of_a_verdict():
    experiments = study_points()
    experiments["tokenizers"] = [p for p in experiments["tokenizers"]
                                 if not (p["labels"]["size"] == "s2_66m" and p["labels"]["tokenizer"] == "ast"
                                         and p["labels"]["budget"] == "B3")]
    experiments["tokenizer_seeds"] = []
    rerun = copy.deepcopy(experiments["vocabulary"][0])
    rerun["labels"]["lr"], rerun["_file"] = 0.01, "vocabulary/rerun.json"
    experiments["vocabulary"].append(rerun)
    study = tr.tokenizer_study(experiments)
    assert study["verdict"] is None
    assert study["missing"]["tokenizers"] == ["tokenizers size=s2_66m tokenizer=ast seed=1337: B3"]
    assert "tokenizer_seeds size=s332k tokenizer=bpe seed=2: B1, B2, B3" in study["missing"]["tokenizer_seeds"]
    [duplicate] = study["duplicated"]["vocabulary"]
    assert "vocabulary/rerun.json" in duplicate
    text = section(study, experiments)
    assert "- tokenizers size=s2_66m tokenizer=ast seed=1337: B3" in text
    assert "- vocabulary size=s332k vocabulary=bpe-8192 B1: " in text  # the duplicate, with its files
    assert "No verdict until some tokenizer has both seeds at s332k" in text
    assert "indent does not beat" not in text and "indent beats" not in text
    assert len(study["rows"]) == 5  # the table shows what is there


def test_a_provisional_verdict_judges_the_tokenizers_that_are_there():
    experiments = study_points()
    experiments["tokenizers"] = [p for p in experiments["tokenizers"]  # ast at s332k: no point of either seed
                                 if not (p["labels"]["size"] == "s332k" and p["labels"]["tokenizer"] == "ast")]
    experiments["tokenizer_seeds"] = [p for p in experiments["tokenizer_seeds"] if p["labels"]["tokenizer"] != "ast"]
    study = tr.tokenizer_study(experiments)
    verdict, noise = study["verdict"], study["seed_noise"]["by_measure"]["test_bpb"]
    assert verdict["provisional"] and noise["from"] == ["bpe", "indent"]
    assert noise["df"] == 2 and noise["sd"] == pytest.approx(
        np.sqrt(sum(noise["differences"][t] ** 2 for t in ("bpe", "indent")) / 4))
    small, large = entry(study, "humaneval_syntax_valid", "s332k"), entry(study, "humaneval_syntax_valid", "s2_66m")
    assert small["unmeasured"] == ["ast"] and list(small["against_indent"]) == ["bpe"] and not small["indent_wins"]
    assert large["unmeasured"] == [] and large["indent_wins"]  # both others measured and beaten there
    assert "humaneval_syntax_valid at s332k" in verdict["indent_beats"]["bpe"]
    assert "humaneval_syntax_valid at s332k" not in verdict["indent_beats"]["ast"]
    text = section(study, experiments)
    assert "Provisional: planned points are missing (listed above). The seed noise comes from bpe and indent" in text
    assert "indent 0.800, bpe 0.600; ast not measured." in text
    assert "indent beats bpe on syntax valid (HumanEval samples) at s332k" in text
    assert "- indent beats ast on 6 of the 9 judged measure-size pairs: test bpb at s2_66m;" in text  # s2_66m only
    assert "- indent beats both bpe and ast on 4 of the 9 judged measure-size pairs:" in text


def test_the_vocabulary_does_not_hold_back_the_verdict():
    experiments = study_points()
    experiments["vocabulary"] = experiments["vocabulary"][:5]
    study = tr.tokenizer_study(experiments)
    assert study["missing"]["vocabulary"] and study["verdict"] is not None
    assert all(r["best"] is None for r in study["vocabulary"])


def test_points_without_file_bits_give_no_interval_but_a_table():
    experiments = study_points()
    for points in experiments.values():
        for p in points:
            del p["eval"]["test_bpb"]["file_bits"], p["eval"]["test_bpb"]["file_bytes"]
    study = tr.tokenizer_study(experiments)
    bpe = next(r for r in study["rows"] if r["tokenizer"] == "bpe")["difference_to_indent"]
    assert bpe["difference"] == pytest.approx(EFFECT["bpe"], abs=0.01) and bpe["low"] is None
    c = entry(study, "test_bpb", "s332k")["against_indent"]["bpe"]
    assert c["low"] is None and c["beyond_file_interval"] is None and c["distinguishable"]  # on the seed noise
    bpe_row = next(line for line in section(study, experiments).splitlines() if line.startswith("| s332k | bpe | 2 | 1."))
    assert bpe_row.split(" | ")[4].startswith("-0.0") and bpe_row.split(" | ")[5] == "–"


def test_vocabulary_table_names_the_best_vocabulary():
    experiments = study_points()
    study = tr.tokenizer_study(experiments)
    row = next(r for r in study["vocabulary"] if r["size"] == "s332k" and r["variant"] == "bpe")
    assert set(row["test_bpb"]) == {"4096", "8192", "16384"} and row["best"] == 8192
    assert row["margin_to_next"] == pytest.approx(0.01, abs=0.005)
    assert row["measured"]["8192"]["bytes_per_token"] == pytest.approx(BYTES_PER_TOKEN["bpe"], rel=1e-3)
    assert row["measured"]["8192"]["humaneval_syntax_valid"] == SYNTAX_VALID["bpe"]
    assert row["measured"]["8192"]["humaneval_cut_by_length"] == 0.4
    assert row["measured"]["8192"]["humaneval_syntax_valid_ended"] == pytest.approx(SYNTAX_VALID["bpe"] + 0.1)
    assert row["measured"]["8192"]["syntax_task_cut_by_length"] is None  # a point from before the cut was kept
    assert row["measured"]["8192"]["line_indentation_match"] == 0.8
    assert row["measured"]["8192"]["line_code_edit_similarity"] == 0.4
    assert row["measured"]["4096"]["line_indentation_match"] is None  # a tokenizers point: from before the parts
    vocabulary = section(study, experiments).split("### Vocabulary")[1]
    assert "| s332k | bpe | 16384 | " in vocabulary
    assert ("- indent at s332k: least test bpb at 8192 ids, by 0.0093 over the runner-up, beyond the seed noise."
            in vocabulary)
    assert ("- indent: best 8192 ids at s332k, 8192 at s2_66m: the same at both sizes: the best vocabulary does "
            "not grow with the model") in vocabulary


def test_vocabularies_trained_in_different_precisions_are_flagged():
    experiments = study_points()
    for name, points in experiments.items():
        for p in points:
            p["precision"] = "fp32" if name == "vocabulary" else "bf16"
    vocabulary = vocabulary_section(experiments)
    assert "| s332k | bpe | 8192 | 725,664 | 34.5M | fp32 |" in vocabulary
    assert vocabulary.count("Trained in different precisions (bf16 at 4096; fp32 at 8192, 16384)") == 4
    experiments["vocabulary"] = [dict(p, precision="bf16") for p in experiments["vocabulary"]]
    assert "different precisions" not in section(tr.tokenizer_study(experiments), experiments)


def test_a_vocabulary_margin_within_the_seed_noise_decides_nothing():
    experiments = study_points(seed_shift=0.05)  # a run's sd ~0.04: the 0.01 margins are noise
    vocabulary = vocabulary_section(experiments)
    assert ("- indent at s332k: least test bpb at 8192 ids, by 0.0093 over the runner-up, within the seed noise."
            in vocabulary)
    assert "8192 at s2_66m: the same at both sizes, but not beyond the seed noise: no evidence either way" in vocabulary


@pytest.mark.parametrize("size, change", [("s2_66m", "grows with the model, as Tao et al. 2024 predict"),
                                          ("s332k", "shrinks with the model, against Tao et al. 2024's prediction")])
def test_the_best_vocabulary_changing_with_the_model_beyond_the_noise(size, change):
    experiments = study_points()
    for p in experiments["vocabulary"]:
        if p["labels"]["size"] == size and p["labels"]["vocabulary"].endswith("-16384"):
            p["eval"]["test_bpb"]["value"] -= 0.05  # 16384 ids now best at this size, by ~0.04
    best = {"s332k": 8192, "s2_66m": 8192, size: 16384}
    assert f"- indent: best {best['s332k']} ids at s332k, {best['s2_66m']} at s2_66m: the best vocabulary {change}" \
        in vocabulary_section(experiments)
    for p in experiments["vocabulary"]:  # now 16384 is ahead by less than the seed interval (±0.0072)
        if p["labels"]["size"] == size and p["labels"]["vocabulary"].endswith("-16384"):
            p["eval"]["test_bpb"]["value"] += 0.034
    assert (f"- indent: best {best['s332k']} ids at s332k, {best['s2_66m']} at s2_66m: one seed per vocabulary "
            "cannot say whether the best vocabulary changes with the model") in vocabulary_section(experiments)


def test_the_compiler_messages_of_the_vocabulary_points_that_kept_them_are_tabled():
    experiments = study_points()
    messages = {"bpe": {"'(' was never closed": 0.3, "(other messages)": 0.1},
                "indent": {"invalid syntax": 0.1, "'(' was never closed": 0.05}}
    for p in experiments["vocabulary"]:
        if p["final"] and p["labels"]["size"] == "s332k" and p["labels"]["vocabulary"].endswith("-8192"):
            p["eval"]["sampled"]["humaneval"]["compile_errors"] = messages[p["tokenizer"]["variant"]]
    vocabulary = vocabulary_section(experiments)
    assert "Why HumanEval samples do not compile" in vocabulary
    assert "the syntax task's completions do not compile" not in vocabulary  # no point kept them there
    table = vocabulary.split("Why HumanEval samples do not compile")[1]
    assert "| message | s332k bpe-8192 | s332k indent-8192 |" in table
    # the commonest first, the pooled rest last, 0.0% where a point did not name the message
    assert table.index("was never closed` | 30.0% | 5.0% |") < table.index("`invalid syntax` | 0.0% | 10.0% |") \
        < table.index("`(other messages)` | 10.0% | 0.0% |")


def test_without_seed_noise_no_vocabulary_margin_is_judged():
    experiments = study_points()
    experiments["tokenizer_seeds"] = []
    vocabulary = vocabulary_section(experiments)
    assert "no seed noise is measured yet, so no margin can be judged" in vocabulary and "±" not in vocabulary
    assert "by 0.0093 over the runner-up, seed noise not yet measured." in vocabulary
    assert "the same at both sizes, but not beyond the seed noise" in vocabulary


def test_the_constants_are_the_plans(monkeypatch):
    monkeypatch.chdir(REPOSITORY)  # plan paths are relative to the repository root
    plan = load_plan("training/study/tokenizers.toml")
    assert tuple(plan.experiments) == tr.EXPERIMENTS
    grids = {name: e.grid() for name, e in plan.experiments.items()}
    planned = [{"experiment": e, **labels} for e, _, _, labels in tr._planned()]
    assert planned == [{"experiment": name, **labels} for name, grid in grids.items() for labels in grid
                       if not (name == "vocabulary" and labels["vocabulary"].endswith("-4096"))]
    assert all(len(e.budgets) == len(tr.BUDGETS) for e in plan.experiments.values())


def test_write_report_adds_the_section_figures_and_fits_entry(tmp_path):
    for name, points in study_points().items():
        (tmp_path / name).mkdir()
        for p in points:
            (tmp_path / p["_file"]).write_text(json.dumps({k: v for k, v in p.items() if k != "_file"}))
    summary = write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)
    assert summary["tokenizers"]["verdict"]["indent_wins"]
    for name in ("tokenizers", "vocabulary"):
        assert (tmp_path / "figures" / f"{name}.pdf").stat().st_size > 1000
        assert f"figures/{name}.png" in summary["figures"]
    text = (tmp_path / "REPORT.md").read_text()
    assert "## Tokenizers" in text and "![tokenizers](figures/tokenizers.png)" in text
    assert "### Points: tokenizer_seeds" in text and "## tokenizers (" not in text


def test_the_written_interpretation_follows_the_verdict_and_is_flagged_once_the_points_change(tmp_path):
    experiments = study_points()
    for name, points in experiments.items():
        (tmp_path / name).mkdir()
        for p in points:
            (tmp_path / p["_file"]).write_text(json.dumps({k: v for k, v in p.items() if k != "_file"}))
    summary = write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)
    assert TOKENIZER_PLACEHOLDER in (tmp_path / "REPORT.md").read_text()
    digest = summary["tokenizers"]["points_digest"]
    (tmp_path / TOKENIZER_INTERPRETATION).write_text(f"<!-- points: {digest} -->\nindent helps because of Y.\n")

    write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)
    text = (tmp_path / "REPORT.md").read_text()
    after_verdict = text.split("### Verdict")[1].split("### Vocabulary")[0]
    assert "indent helps because of Y." in after_verdict and TOKENIZER_PLACEHOLDER not in text
    assert "Written for another" not in text

    (tmp_path / experiments["tokenizers"][0]["_file"]).unlink()  # a point fewer: the text is flagged
    summary = write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)
    text = (tmp_path / "REPORT.md").read_text()
    assert f"Written for another set of points ({digest}; these are {summary['tokenizers']['points_digest']})" in text
    assert "indent helps because of Y." in text


def test_without_tokenizer_points_the_section_says_so(tmp_path):
    (tmp_path / "lr_sweep").mkdir()
    p = point(1e6, "B1", 1.5e13, 1.9, final=True, experiment="lr_sweep", labels={"size": "s332k", "lr": 0.004})
    (tmp_path / "lr_sweep" / "a.json").write_text(json.dumps(p))
    summary = write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)
    text = (tmp_path / "REPORT.md").read_text()
    assert "## Tokenizers\n\nNo point of `tokenizers`, `tokenizer_seeds` or `vocabulary` yet" in text
    assert summary["tokenizers"]["verdict"] is None and summary["tokenizers"]["rows"] == []
    assert "## lr_sweep (1 points)" in text and not (tmp_path / "figures").exists()


def _vocabulary_figure(study: dict, experiments: dict, tmp_path: Path, monkeypatch):
    """The vocabulary figure `tokenizer_figures` draws, caught before it is saved."""
    drawn = {}

    def keep(fig, figures_dir, name):
        drawn[name] = fig
        return [f"{name}.png"]
    monkeypatch.setattr(tr, "save_figure", keep)
    tr.tokenizer_figures(study, experiments, tmp_path)
    return drawn["vocabulary"]


def test_vocabulary_figure_bars_are_one_runs_seed_interval(tmp_path, monkeypatch):
    experiments = study_points(seed_shift=0.01)
    study = tr.tokenizer_study(experiments)
    noise = study["seed_noise"]["by_measure"][tr.TEST_BPB.key]
    half = stats.t.ppf(0.975, noise["df"]) * noise["sd"]
    for ax in _vocabulary_figure(study, experiments, tmp_path, monkeypatch).axes:
        (bars,) = ax.containers[0].lines[2]
        assert [top - bottom for (_, bottom), (_, top) in bars.get_segments()] == pytest.approx([2 * half] * 3)
        assert f"±{half:.3f}" in ax.get_title()

    experiments["tokenizer_seeds"] = []
    study = tr.tokenizer_study(experiments)
    for ax in _vocabulary_figure(study, experiments, tmp_path, monkeypatch).axes:
        assert ax.containers[0].lines[2] == () and "bars" not in ax.get_title()
