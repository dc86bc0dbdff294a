"""The scaling study's report: REPORT.md, figures and fits.json, from the point files only.

`write_report(results_dir, out_md)` reads `results_dir/<experiment>/*.json` (one file per
evaluated point, schema_version 1), fits the size sweep and writes, next to `out_md`,
`fits.json` and `figures/*.png|pdf`. The loss of every fit is the test split's bits per byte
(`eval.test_bpb.value`). Each fit runs twice, on total and on non-embedding parameters, and
the two are printed side by side.

For the experiment "size_sweep":
- L(N) = E + A / N^alpha per budget label, and over the final points (each model at its
  largest budget), where Kaplan's and Codex's pure form L = (N / N_c)^-alpha is fitted too;
- L(N, D) = E + A / N^alpha + B / D^beta over all points;
- IsoFLOP minima per budget (points of one budget label share `labels.compute`), and from
  them N_opt(C) ~ C^a, D_opt(C) ~ C^b and the tokens per parameter at the optimum.
A fit that the points cannot support (too few sizes, no bracketed minimum: the fit modules
decide) is reported with the reason instead. The tokenizer study's experiments get their own
section (`tokenizer_report`); other experiments get a table of labels and test bits per byte.
Files that cannot be read (a sweep still writing) are listed and skipped.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pycodesmall.training.study.fits import (
    PARAMETER_COUNTS, Estimate, FitError, LossPoint, LossSurfaceFit, PowerLawFit, PurePowerLawFit,
    fit_loss_surface, fit_power_law, fit_pure_power_law, point_arrays,
)
from pycodesmall.training.study.isoflop import (
    NEIGHBOURS, IsoflopFit, IsoflopMinimum, fit_isoflop, isoflop_curve, isoflop_minima,
)
from pycodesmall.training.study.measures import MEASURE, measure_value, value as _value
from pycodesmall.training.study.points import SCHEMA_VERSION, read_points
from pycodesmall.training.study.report_parts import (
    add_legend, eval_value, experiment_table, fixed, markdown_table, point_labels, pyplot, run_flops,
    save_figure,
)
from pycodesmall.training.study import tokenizer_report

__all__ = ["PUBLISHED", "fit_size_sweep", "SizeSweepFits", "write_report"]

SIZE_SWEEP = "size_sweep"
COUNT_NAMES = {"total": "total N", "non_embedding": "non-embedding N"}
SAMPLED_MEASURES = tuple(MEASURE[k] for k in ("pass_at_1", "pass_at_10", "humaneval_syntax_valid",
                                                "humaneval_indentation_errors", "syntax_task_syntax_valid",
                                                "line_exact_match", "line_edit_similarity"))
REFERENCE_BPB = {"test_bpb": "test", "humaneval_reference_bpb": "HumanEval reference",
                 "mbpp_reference_bpb": "MBPP reference"}

# Published fits we print ours beside (numbers as the papers give them).
PUBLISHED = {
    "codex": {"source": "Chen et al. 2021 (Codex), Python, non-embedding N, 12M to 12B",
              "form": "L(N) = (N / 5.92e7)^-0.13", "alpha_N": 0.13, "N_c": 5.92e7},
    "kaplan": {"source": "Kaplan et al. 2020, non-embedding N", "alpha_N": 0.076},
    "hoffmann": {"source": "Hoffmann et al. 2022 (Chinchilla), approach 3", "alpha": 0.34, "beta": 0.28,
                 "tokens_per_parameter": 20.0},
}
# What the comparison with the published fits, and the tokenizer study's verdict, mean is prose
# a person writes, beside the point files; its first line names the points it was written for
# (`points_digest`).
INTERPRETATION = "size_sweep_interpretation.md"
PLACEHOLDER = ("> **[Interpretation to be written: what the differences between our fits and the "
               f"published ones mean, in `{INTERPRETATION}` beside the point files. Placeholder, not a finding.]**")
TOKENIZER_INTERPRETATION = "tokenizers_interpretation.md"
TOKENIZER_PLACEHOLDER = ("> **[Interpretation to be written: what the tokenizer verdict means and what it leaves "
                         f"open, in `{TOKENIZER_INTERPRETATION}` beside the point files. Placeholder, not a finding.]**")




def _parameters(point: dict, count: str) -> float | None:
    return _value((point.get("parameters") or {}).get(count))


def _size(point: dict) -> str:
    size = point_labels(point).get("size")
    return str(size) if size is not None else str(point.get("point", point["_file"]))


def _budget(point: dict) -> str:
    labels = point_labels(point)
    if labels.get("budget") is not None:
        return str(labels["budget"])
    compute = _value(labels.get("compute"))
    return f"C={compute:.3g}" if compute is not None else "(no budget)"


def _usable(point: dict) -> bool:
    """Whether a point can enter the fits: positive test bpb, parameter counts and tokens."""
    values = [eval_value(point, "test_bpb"), _value(point.get("tokens")),
              *(_parameters(point, c) for c in PARAMETER_COUNTS)]
    return all(v is not None and v > 0 for v in values)


def _loss_point(point: dict) -> LossPoint:
    compute = _value(point_labels(point).get("compute"))
    return LossPoint(total_parameters=int(_parameters(point, "total")),
                     non_embedding_parameters=int(_parameters(point, "non_embedding")),
                     tokens=int(point["tokens"]), compute=compute if compute is not None else math.nan,
                     loss=eval_value(point, "test_bpb"))


def _final_points(points: list[dict]) -> list[dict]:
    """The points flagged final; where none is, each size's point of largest compute."""
    flagged = [p for p in points if p.get("final") is True]
    if flagged:
        return flagged
    largest: dict[str, tuple[float, dict]] = {}
    for p in points:
        budget = _value(point_labels(p).get("compute")) or _value(p.get("flops")) or 0.0
        if _size(p) not in largest or budget > largest[_size(p)][0]:
            largest[_size(p)] = (budget, p)
    return [p for _, p in largest.values()]


# --- the size sweep's fits -------------------------------------------------------------

@dataclass
class CountFits:
    """Every fit of the size sweep on one parameter count; a str in place of a fit says why not."""

    power_law: dict[str, PowerLawFit | str]  # by budget label
    final_power_law: PowerLawFit | str
    final_pure_power_law: PurePowerLawFit | str
    loss_surface: LossSurfaceFit | str
    isoflop_minima: list[IsoflopMinimum]
    isoflop: IsoflopFit | str


@dataclass
class SizeSweepFits:
    """The size sweep's points (usable for fits) and fits, by parameter count."""

    points: list[dict]
    budgets: list[dict]  # label, compute, points, sizes; smallest compute first
    final: list[dict]
    by_count: dict[str, CountFits] = field(default_factory=dict)


def _attempt(fit: Callable, *args, **kwargs):
    try:
        return fit(*args, **kwargs)
    except FitError as e:
        return str(e)
    except np.linalg.LinAlgError as e:
        return f"the fit failed numerically: {e}"


def _budgets(points: list[dict]) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for p in points:
        groups.setdefault(_budget(p), []).append(p)
    budgets = []
    for label, group in groups.items():
        computes = sorted({c for p in group if (c := _value(point_labels(p).get("compute"))) is not None})
        budgets.append({"label": label, "compute": computes[0] if len(computes) == 1 else None,
                        "computes": computes, "points": len(group), "sizes": len({_size(p) for p in group}),
                        "members": group})

    def order(b):  # by the budget's FLOPs, else by its tokens (a plan's budgets of kind "tokens")
        tokens = [t for p in b["members"] if (t := _value(point_labels(p).get("tokens"))) is not None]
        size = b["compute"] if b["compute"] is not None else min(tokens) if tokens else math.inf
        return b["compute"] is None, size, b["label"]

    return sorted(budgets, key=order)


def fit_size_sweep(points: list[dict], *, bootstraps: int = 1000, seed: int = 0) -> SizeSweepFits:
    """Every fit of the size sweep (module docstring) on the points that have a test bpb."""
    usable = [p for p in points if _usable(p)]
    budgets = _budgets(usable)
    final = _final_points(usable)
    fits = SizeSweepFits(points=usable, budgets=budgets, final=final)
    isoflop_points = [p for p in usable if _value(point_labels(p).get("compute")) is not None]
    for count in PARAMETER_COUNTS:
        power_law = {}
        for budget in budgets:
            columns = point_arrays([_loss_point(p) for p in budget["members"]], count)
            power_law[budget["label"]] = _attempt(fit_power_law, columns["n"], columns["loss"],
                                                  bootstraps=bootstraps, seed=seed)
        final_columns = point_arrays([_loss_point(p) for p in final], count)
        all_columns = point_arrays([_loss_point(p) for p in usable], count)
        iso_columns = point_arrays([_loss_point(p) for p in isoflop_points], count)
        iso = dict(n=iso_columns["n"], tokens=iso_columns["tokens"], compute=iso_columns["compute"],
                   loss=iso_columns["loss"])
        fits.by_count[count] = CountFits(
            power_law=power_law,
            final_power_law=_attempt(fit_power_law, final_columns["n"], final_columns["loss"],
                                     bootstraps=bootstraps, seed=seed),
            final_pure_power_law=_attempt(fit_pure_power_law, final_columns["n"], final_columns["loss"],
                                          bootstraps=bootstraps, seed=seed),
            loss_surface=_attempt(fit_loss_surface, all_columns["n"], all_columns["tokens"],
                                  all_columns["loss"], bootstraps=bootstraps, seed=seed),
            isoflop_minima=_attempt(isoflop_minima, **iso) if isoflop_points else [],
            isoflop=(_attempt(fit_isoflop, **iso, bootstraps=bootstraps, seed=seed) if isoflop_points
                     else "no point has labels.compute, the budget's FLOPs"),
        )
        if isinstance(fits.by_count[count].isoflop_minima, str):
            fits.by_count[count].isoflop_minima = []
    return fits


def _surface_allocation(fit: LossSurfaceFit, budgets: list[dict]) -> list[dict]:
    """N_opt, D_opt and D/N that the L(N, D) fit implies at each budget's compute (C = 6 N D)."""
    rows = []
    for b in budgets:
        if b["compute"] is not None:
            n, d = float(fit.optimal_n(b["compute"])), float(fit.optimal_tokens(b["compute"]))
            rows.append({"budget": b["label"], "compute": b["compute"], "n_opt": n, "tokens_opt": d,
                         "tokens_per_parameter": d / n})
    return rows


def _fit_dict(fit) -> dict:
    return {"not_fitted": fit} if isinstance(fit, str) else fit.to_dict()


def _fits_json(fits: SizeSweepFits) -> dict:
    by_count = {}
    for count, f in fits.by_count.items():
        surface = {**_fit_dict(f.loss_surface)}
        if not isinstance(f.loss_surface, str):
            surface["allocation_at_budgets"] = _surface_allocation(f.loss_surface, fits.budgets)
        by_count[count] = {
            "power_law_by_budget": {label: _fit_dict(fit) for label, fit in f.power_law.items()},
            "final_power_law": _fit_dict(f.final_power_law),
            "final_pure_power_law": _fit_dict(f.final_pure_power_law),
            "loss_surface": surface,
            "isoflop_minima": [m.to_dict() for m in f.isoflop_minima],
            "isoflop": _fit_dict(f.isoflop),
        }
    return {"points": len(fits.points), "final_points": len(fits.final),
            "budgets": [{k: b[k] for k in ("label", "compute", "computes", "points", "sizes")} for b in fits.budgets],
            "fits": by_count}


def _published_rows(fits: SizeSweepFits) -> list[dict]:
    """Our numbers beside each published one: (quantity, published, ours by count)."""
    def estimate(getter):
        ours = {}
        for count, f in fits.by_count.items():
            try:
                ours[count] = getter(f)
            except (AttributeError, TypeError):  # the fit is a str: not fitted
                ours[count] = None
        return ours

    h = PUBLISHED["hoffmann"]
    a_pub, b_pub = h["beta"] / (h["alpha"] + h["beta"]), h["alpha"] / (h["alpha"] + h["beta"])
    rows = [
        ("Codex L(N): alpha_N, pure form, final points", PUBLISHED["codex"]["alpha_N"], PUBLISHED["codex"]["source"],
         estimate(lambda f: f.final_pure_power_law.alpha)),
        ("Codex L(N): N_c, pure form, final points (depends on the loss unit: "
         "theirs nats per token, ours bits per byte)",
         PUBLISHED["codex"]["N_c"], PUBLISHED["codex"]["source"], estimate(lambda f: f.final_pure_power_law.N_c)),
        ("Kaplan L(N): alpha_N, pure form, final points", PUBLISHED["kaplan"]["alpha_N"], PUBLISHED["kaplan"]["source"],
         estimate(lambda f: f.final_pure_power_law.alpha)),
        ("L(N, D): alpha", h["alpha"], h["source"], estimate(lambda f: f.loss_surface.alpha)),
        ("L(N, D): beta", h["beta"], h["source"], estimate(lambda f: f.loss_surface.beta)),
        ("N_opt ~ C^a from L(N, D): a = beta / (alpha + beta)", a_pub, h["source"] + ", from alpha and beta",
         estimate(lambda f: f.loss_surface.a)),
        ("D_opt ~ C^b from L(N, D): b = alpha / (alpha + beta)", b_pub, h["source"] + ", from alpha and beta",
         estimate(lambda f: f.loss_surface.b)),
        ("N_opt ~ C^a from IsoFLOP minima", a_pub, h["source"] + ", from alpha and beta",
         estimate(lambda f: f.isoflop.a)),
        ("D_opt ~ C^b from IsoFLOP minima", b_pub, h["source"] + ", from alpha and beta",
         estimate(lambda f: f.isoflop.b)),
        ("tokens per parameter at the optimum, IsoFLOP (geometric mean over budgets)", h["tokens_per_parameter"],
         "Hoffmann et al. 2022, about 20", estimate(lambda f: f.isoflop.tokens_per_parameter)),
    ]
    out = []
    for quantity, published, source, ours in rows:
        out.append({"quantity": quantity, "published": published, "source": source,
                    "ours": {c: None if e is None else {"value": e.value, "low": e.low, "high": e.high,
                                                        "ratio_to_published": e.value / published}
                             for c, e in ours.items()}})
    return out


# --- formatting -------------------------------------------------------------------------

def _shown(path: Path) -> str:
    """`path` relative to the repository root (where the command runs) when it lies inside
    it, so the report reads the same on every machine."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _g(x, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"


def _count(x) -> str:
    if x is None:
        return "–"
    if abs(x) >= 1e15:
        return f"{x:.3g}"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.0f}"


def _duration(seconds) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def _estimate(e: Estimate | None) -> str:
    if e is None:
        return "–"
    if math.isnan(e.low) or math.isnan(e.high):
        return f"{_g(e.value)} [no interval]"
    return f"{_g(e.value)} [{_g(e.low)}, {_g(e.high)}]"


def _side_by_side(fits: dict[str, object], names: list[str]) -> list[list[str]]:
    """Rows `name | total | non-embedding` for the estimates `names` of a fit per count."""
    return [[name, *("–" if isinstance(fits[c], str) else _estimate(getattr(fits[c], name)) for c in PARAMETER_COUNTS)]
            for name in names]


def _fit_table(fits: dict[str, object], names: list[str], extra_rows: list[list[str]] = ()) -> list[str]:
    """The estimates `names` side by side per count, after a line for each count not fitted."""
    lines = [f"- {COUNT_NAMES[c]}: not fitted: {fits[c]}" for c in PARAMETER_COUNTS if isinstance(fits[c], str)]
    if lines:
        lines.append("")
    if any(not isinstance(f, str) for f in fits.values()):
        lines += markdown_table(["", *COUNT_NAMES.values()], _side_by_side(fits, names) + list(extra_rows))
    return lines


def _points_table(points: list[dict]) -> list[str]:
    header = ["point", "size", "budget", "N total", "N non-emb", "tokens", "FLOPs", "test bpb",
              "HumanEval ref bpb", "MBPP ref bpb", "wall time", "final"]
    rows = []

    def key(p):
        return _value(point_labels(p).get("compute")) or 0.0, _parameters(p, "total") or 0.0, p["_file"]

    for p in sorted(points, key=key):
        rows.append([str(p.get("point", p["_file"])), _size(p), _budget(p), _count(_parameters(p, "total")),
                     _count(_parameters(p, "non_embedding")), _count(_value(p.get("tokens"))),
                     _g(_value(p.get("flops"))), fixed(eval_value(p, "test_bpb")),
                     fixed(eval_value(p, "humaneval_reference_bpb")), fixed(eval_value(p, "mbpp_reference_bpb")),
                     _duration(_value(p.get("wall_time_s"))), "yes" if p.get("final") is True else ""])
    return markdown_table(header, rows)


def _sampled_table(final: list[dict]) -> list[str]:
    sampled = [(p, (p.get("eval") or {}).get("sampled")) for p in final]
    sampled = [(p, s) for p, s in sampled if isinstance(s, dict)]
    if not sampled:
        return ["No final point has sampled measures yet.", ""]
    rows = []
    for p, s in sorted(sampled, key=lambda ps: _parameters(ps[0], "total") or 0.0):
        categories = (s.get("humaneval") or {}).get("error_categories")
        categories = categories if isinstance(categories, dict) else {}
        shown = ", ".join(f"{k} {_g(_value(v))}" for k, v in sorted(categories.items(), key=lambda kv: str(kv[0])))
        rows.append([_size(p), _count(_parameters(p, "total")),
                     *(fixed(measure_value(p, m), m.digits) for m in SAMPLED_MEASURES), shown or "–"])
    return markdown_table(["size", "N total", *(m.name for m in SAMPLED_MEASURES), "HumanEval error categories"], rows)


# --- figures ----------------------------------------------------------------------------

def _colours(n: int):
    plt = pyplot()
    return [plt.cm.viridis(x) for x in np.linspace(0.05, 0.9, max(n, 1))]


def _figure_loss_vs_parameters(fits: SizeSweepFits, figures_dir: Path) -> list[str]:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    losses = [eval_value(p, "test_bpb") for p in fits.points]
    margin = 0.1 * (max(losses) - min(losses)) or 0.05 * max(losses)
    for ax, count in zip(axes, PARAMETER_COUNTS):
        for colour, budget in zip(_colours(len(fits.budgets)), fits.budgets):
            columns = point_arrays([_loss_point(p) for p in budget["members"]], count)
            ax.scatter(columns["n"], columns["loss"], color=colour, s=18, label=budget["label"], zorder=3)
            fit = fits.by_count[count].power_law[budget["label"]]
            if not isinstance(fit, str):  # over the sampled sizes only: the band is wild beyond them
                grid = np.geomspace(columns["n"].min(), columns["n"].max(), 100)
                low, high = fit.predict_interval(grid)
                ax.plot(grid, fit.predict(grid), color=colour, lw=1)
                ax.fill_between(grid, low, high, color=colour, alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_ylim(min(losses) - margin, max(losses) + margin)
        ax.set_xlabel(f"parameters ({COUNT_NAMES[count]})")
        ax.set_ylabel("test bits per byte")
        ax.set_title(f"L(N) = E + A / N^alpha per budget, 95% band ({COUNT_NAMES[count]})", fontsize=9)
        add_legend(ax)
    return save_figure(fig, figures_dir, "loss_vs_parameters")


def _frontier(flops: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Indices of the points no point of fewer FLOPs beats, by FLOPs."""
    order = np.argsort(flops, kind="stable")
    best, kept = math.inf, []
    for i in order:
        if loss[i] < best:
            best = loss[i]
            kept.append(i)
    return np.array(kept, dtype=int)


def _figure_loss_vs_flops(fits: SizeSweepFits, figures_dir: Path) -> list[str]:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    sizes = sorted({_size(p) for p in fits.points},
                   key=lambda s: min(_parameters(p, "total") for p in fits.points if _size(p) == s))
    for colour, size in zip(_colours(len(sizes)), sizes):
        members = sorted((p for p in fits.points if _size(p) == size and run_flops(p)), key=run_flops)
        ax.plot([run_flops(p) for p in members], [eval_value(p, "test_bpb") for p in members], "o-", color=colour,
                ms=4, lw=0.8, label=size)
    with_flops = [p for p in fits.points if run_flops(p)]
    if with_flops:
        flops = np.array([run_flops(p) for p in with_flops])
        loss = np.array([eval_value(p, "test_bpb") for p in with_flops])
        kept = _frontier(flops, loss)
        ax.step(flops[kept], loss[kept], where="post", color="black", lw=1.2, label="frontier")
    ax.set_xscale("log")
    ax.set_xlabel("training FLOPs")
    ax.set_ylabel("test bits per byte")
    ax.set_title("Loss against compute, one line per model size", fontsize=9)
    add_legend(ax)
    return save_figure(fig, figures_dir, "loss_vs_flops")


def _figure_isoflop(fits: SizeSweepFits, figures_dir: Path) -> list[str]:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = {b["compute"]: b["label"] for b in fits.budgets if b["compute"] is not None}
    for ax, count in zip(axes, PARAMETER_COUNTS):
        minima = fits.by_count[count].isoflop_minima
        for colour, m in zip(_colours(len(minima)), minima):
            members = [p for p in fits.points if _value(point_labels(p).get("compute")) == m.compute]
            columns = point_arrays([_loss_point(p) for p in members], count)
            ax.scatter(columns["n"], columns["loss"], color=colour, s=18, zorder=3,
                       label=f"{labels.get(m.compute, 'budget')} ({m.compute:.2g} FLOPs)")
            if m.n_opt is not None:
                grid = np.geomspace(m.n_min, m.n_max, 100)  # the sizes the parabola went through
                ax.plot(grid, isoflop_curve(columns["n"], columns["loss"], grid), color=colour, lw=1)
                if m.status == "ok":
                    ax.scatter([m.n_opt], [m.loss_opt], color=colour, marker="*", s=90, edgecolor="black", zorder=4)
        ax.set_xscale("log")
        ax.set_xlabel(f"parameters ({COUNT_NAMES[count]})")
        ax.set_ylabel("test bits per byte")
        ax.set_title(f"IsoFLOP profiles ({COUNT_NAMES[count]}): parabola near each minimum, star at it", fontsize=9)
        add_legend(ax)
    return save_figure(fig, figures_dir, "isoflop")


def _figure_compute_optimal(fits: SizeSweepFits, figures_dir: Path) -> list[str]:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    computes = [b["compute"] for b in fits.budgets if b["compute"] is not None]
    grid = np.geomspace(min(computes) / 2, max(computes) * 2, 50) if computes else None
    for count, colour in zip(PARAMETER_COUNTS, ("tab:blue", "tab:orange")):
        f = fits.by_count[count]
        ok = [m for m in f.isoflop_minima if m.status == "ok"]
        for ax, attr, fitted in ((axes[0], "n_opt", "optimal_n"), (axes[1], "tokens_opt", "optimal_tokens")):
            if ok:
                ax.scatter([m.compute for m in ok], [getattr(m, attr) for m in ok], color=colour, s=22, zorder=3,
                           label=f"IsoFLOP minima ({COUNT_NAMES[count]})")
            if not isinstance(f.isoflop, str) and grid is not None:
                exponent = f.isoflop.a if attr == "n_opt" else f.isoflop.b
                ax.plot(grid, getattr(f.isoflop, fitted)(grid), color=colour, lw=1,
                        label=f"IsoFLOP fit, exponent {_g(exponent.value)} ({COUNT_NAMES[count]})")
            if not isinstance(f.loss_surface, str) and grid is not None:
                ax.plot(grid, getattr(f.loss_surface, fitted)(grid), color=colour, lw=1, ls="--",
                        label=f"L(N, D) with C = 6ND ({COUNT_NAMES[count]})")
    for ax, what in zip(axes, ("N_opt(C), parameters", "D_opt(C), tokens")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("compute budget C (FLOPs)")
        ax.set_ylabel(what)
        ax.set_title(f"Compute-optimal {what.split(',')[0]}", fontsize=9)
        add_legend(ax)
    return save_figure(fig, figures_dir, "compute_optimal")


def _figure_downstream(fits: SizeSweepFits, figures_dir: Path) -> list[str]:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    final = sorted(fits.final, key=lambda p: _parameters(p, "total"))
    n = [_parameters(p, "total") for p in final]
    for name, label in REFERENCE_BPB.items():
        values = [(x, eval_value(p, name)) for x, p in zip(n, final) if eval_value(p, name) is not None]
        if values:
            axes[0].plot(*zip(*values), "o-", ms=4, label=label)
    for measure in SAMPLED_MEASURES:
        values = [(x, measure_value(p, measure)) for x, p in zip(n, final)]
        values = [(x, v) for x, v in values if v is not None]
        if values:
            axes[1].plot(*zip(*values), "o-", ms=4, label=measure.name)
    axes[0].set_ylabel("bits per byte")
    axes[0].set_title("Bits per byte on reference solutions, final points", fontsize=9)
    axes[1].set_ylabel("fraction")
    axes[1].set_title("Sampled measures, final points", fontsize=9)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("parameters (total N)")
        add_legend(ax)
    return save_figure(fig, figures_dir, "downstream_vs_parameters")


# --- the report -------------------------------------------------------------------------

def _size_sweep_section(points: list[dict], fits: SizeSweepFits, figures: list[str]) -> list[str]:
    lines = [f"## Size sweep ({len(points)} points, {len({_size(p) for p in points})} sizes)", ""]
    left_out = len(points) - len(fits.points)
    if left_out:
        lines += [f"{left_out} point(s) lack a positive test bpb, parameter counts or tokens and are left out "
                  "of the fits.", ""]
    lines += ["### Points", "", *_points_table(points)]
    for name in figures:
        if name.endswith(".png"):
            lines += [f"![{name[:-4]}](figures/{name})", ""]

    lines += ["### L(N) = E + A / N^alpha per budget", "",
              "Huber fit on log loss (Hoffmann et al. 2022), 95% bootstrap percentile intervals.", ""]
    if any(b["compute"] is not None for b in fits.budgets):
        lines += ["The points of a compute budget share FLOPs, not tokens: D falls as N grows, so past the budget's "
                  "IsoFLOP minimum loss rises with N. This form, made for a fixed D, does not hold there, and a "
                  "negative alpha says so.", ""]
    for budget in fits.budgets:
        per_count = {c: fits.by_count[c].power_law[budget["label"]] for c in PARAMETER_COUNTS}
        compute = f", {budget['compute']:.3g} FLOPs" if budget["compute"] is not None else ""
        lines += [f"**{budget['label']}**{compute}: {budget['points']} points, {budget['sizes']} sizes", ""]
        lines += _fit_table(per_count, ["E", "A", "alpha"])

    final = {c: fits.by_count[c].final_power_law for c in PARAMETER_COUNTS}
    pure = {c: fits.by_count[c].final_pure_power_law for c in PARAMETER_COUNTS}
    lines += [f"### L(N) over the final points ({len(fits.final)}: each model at its largest budget)", "",
              "L(N) = E + A / N^alpha:", "", *_fit_table(final, ["E", "A", "alpha"]),
              "L(N) = (N / N_c)^-alpha, the form of Kaplan et al. and Codex:", "", *_fit_table(pure, ["N_c", "alpha"])]

    surface = {c: fits.by_count[c].loss_surface for c in PARAMETER_COUNTS}
    lines += [f"### L(N, D) = E + A / N^alpha + B / D^beta over all {len(fits.points)} points", ""]
    lines += _fit_table(surface, ["E", "A", "alpha", "B", "beta", "a", "b"])
    if any(not isinstance(f, str) for f in surface.values()):
        lines += ["a = beta / (alpha + beta) and b = alpha / (alpha + beta) are the exponents of N_opt(C) and "
                  "D_opt(C) the surface implies with C = 6 N D. At each budget:", ""]
        rows = []
        for count, fit in surface.items():
            if not isinstance(fit, str):
                rows += [[COUNT_NAMES[count], r["budget"], _g(r["compute"]), _count(r["n_opt"]),
                          _count(r["tokens_opt"]), _g(r["tokens_per_parameter"])]
                         for r in _surface_allocation(fit, fits.budgets)]
        lines += markdown_table(["N", "budget", "C", "N_opt", "D_opt", "D_opt / N_opt"], rows)

    lines += ["### IsoFLOP minima (parabola of loss in log N per budget)", "",
              f"Each budget's parabola goes through its least-loss run and up to {NEIGHBOURS} sizes on each side "
              "of it (`points`: the runs it went through): over the whole span a profile is asymmetric in log N "
              "and a parabola through all of it misplaces the vertex.", ""]
    rows = []
    for count in PARAMETER_COUNTS:
        labels = {b["compute"]: b["label"] for b in fits.budgets if b["compute"] is not None}
        for m in fits.by_count[count].isoflop_minima:
            rows.append([COUNT_NAMES[count], labels.get(m.compute, _g(m.compute)), _g(m.compute), str(m.points),
                         m.status.replace("_", " "), _count(m.n_opt), _count(m.tokens_opt), fixed(m.loss_opt),
                         _g(m.tokens_per_parameter)])
    header = ["N", "budget", "C", "points", "status", "N_opt", "D_opt", "loss at N_opt", "D_opt / N_opt"]
    lines += markdown_table(header, rows) if rows else ["No point has labels.compute.", ""]
    iso = {c: fits.by_count[c].isoflop for c in PARAMETER_COUNTS}
    lines += ["### Compute-optimal exponents from the IsoFLOP minima: N_opt = k_N C^a, D_opt = k_D C^b", ""]
    dropped = ["bootstrap replicates dropped (no minimum)",
               *("–" if isinstance(iso[c], str) else f"{iso[c].failed_bootstraps} of {iso[c].bootstraps}"
                 for c in PARAMETER_COUNTS)]
    lines += _fit_table(iso, ["a", "b", "n_coefficient", "tokens_coefficient", "tokens_per_parameter"], [dropped])
    if any(not isinstance(f, str) for f in iso.values()):
        lines += ["Only budgets whose minimum lies within their sizes (status ok) enter. Intervals: residual "
                  "bootstrap with the budgets' residuals pooled; \"no interval\" where no budget has more than "
                  "three sizes.", ""]

    lines += ["### Sampled measures, final points", "", *_sampled_table(fits.final)]
    return lines


def _published_section(rows: list[dict]) -> list[str]:
    def cell(ours: dict | None) -> str:
        if ours is None:
            return "not fitted"
        return f"{_estimate(Estimate(ours['value'], ours['low'], ours['high']))} (x{_g(ours['ratio_to_published'])})"

    body = [[r["quantity"], _g(r["published"]), r["source"], *(cell(r["ours"][c]) for c in PARAMETER_COUNTS)]
            for r in rows]
    return ["## Beside published fits", "",
            f"Codex: {PUBLISHED['codex']['form']}. Ours with 95% intervals, and in brackets (x...) the ratio of our "
            "value to the published one. Published exponents are on the papers' own losses (nats per token, their "
            "tokenizers); ours on test bits per byte.", "",
            *markdown_table(["quantity", "published", "source", *(f"ours, {n}" for n in COUNT_NAMES.values())], body)]


def points_digest(points: list[dict]) -> str:
    """A short name for a set of points: the interpretation says which set it was written for."""
    names = sorted(str(p.get("point", p.get("_file"))) for p in points)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _interpretation(path: Path, digest: str, placeholder: str) -> list[str]:
    """The written interpretation at `path`, flagged when the points (`digest`, their
    `points_digest`) have changed since it was written; `placeholder` where there is none."""
    if not path.is_file():
        return [placeholder, ""]
    first, _, body = path.read_text(encoding="utf-8").partition("\n")
    match = re.fullmatch(r"<!-- points: ([0-9a-f]+) -->", first.strip())
    written_for, now = (match.group(1) if match else None), digest
    lines = [] if written_for == now else [
        f"> **Written for another set of points ({written_for or 'not named on its first line'}; these are "
        f"{now}): read it against the tables above.**", ""]
    return lines + [body.strip(), ""]


def _json_safe(x):
    """JSON without NaN or Infinity: those become null."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def write_report(results_dir: Path, out_md: Path, *, bootstraps: int = 1000, seed: int = 0) -> dict:
    """Write `out_md`, `fits.json` and `figures/` beside it from the point files in `results_dir`.

    Returns what `fits.json` holds. `bootstraps` resamples per fit (1000 for the report; a
    test may take few). Reads nothing but the point files and the written interpretation
    (`INTERPRETATION`), so the report can be rebuilt at any time, also while a sweep runs.
    """
    results_dir, out_md = Path(results_dir), Path(out_md)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    figures_dir = out_md.parent / "figures"
    experiments, skipped = read_points(results_dir)
    summary: dict = {"schema_version": SCHEMA_VERSION, "generated_by": __name__, "bootstraps": bootstraps,
                     "seed": seed, "experiments": {name: len(points) for name, points in sorted(experiments.items())},
                     "skipped_files": skipped, "figures": []}
    total = sum(summary["experiments"].values())
    lines = ["# Scaling study", "",
             f"Generated by `{__name__}` from {total} point file(s) in `{_shown(results_dir)}`; every number and figure "
             "comes from those files. Loss: bits per byte on the test split (`eval.test_bpb`).", ""]
    commits = sorted({str(p["commit"]) for ps in experiments.values() for p in ps if p.get("commit")})
    if commits:
        lines += [f"Commits of the runs: {', '.join(f'`{c}`' for c in commits)}.", ""]

    sweep = experiments.get(SIZE_SWEEP, [])
    if sweep:
        fits = fit_size_sweep(sweep, bootstraps=bootstraps, seed=seed)
        figures = []
        if fits.points:
            for draw in (_figure_loss_vs_parameters, _figure_loss_vs_flops, _figure_isoflop,
                         _figure_compute_optimal, _figure_downstream):
                figures += draw(fits, figures_dir)
        summary["figures"] = [f"figures/{f}" for f in figures]
        summary[SIZE_SWEEP] = _fits_json(fits)
        summary["published"] = _published_rows(fits)
        lines += _size_sweep_section(sweep, fits, figures)
        summary[SIZE_SWEEP]["points_digest"] = digest = points_digest(sweep)
        lines += [*_published_section(summary["published"]),
                  *_interpretation(results_dir / INTERPRETATION, digest, PLACEHOLDER)]
    else:
        lines += ["## Size sweep", "", f"No `{SIZE_SWEEP}` point yet: nothing to fit.", ""]

    summary["tokenizers"] = tokenizer_report.tokenizer_study(experiments, seed=seed)
    figures = tokenizer_report.tokenizer_figures(summary["tokenizers"], experiments, figures_dir)
    summary["figures"] += [f"figures/{f}" for f in figures]
    tokenizer_points = [p for name in tokenizer_report.EXPERIMENTS for p in experiments.get(name, [])]
    summary["tokenizers"]["points_digest"] = digest = points_digest(tokenizer_points)
    interpretation = _interpretation(results_dir / TOKENIZER_INTERPRETATION, digest, TOKENIZER_PLACEHOLDER)
    lines += tokenizer_report.tokenizer_section(summary["tokenizers"], experiments, figures, interpretation)

    for name in sorted(experiments):
        if name not in (SIZE_SWEEP, *tokenizer_report.EXPERIMENTS):
            lines += [f"## {name} ({len(experiments[name])} points)", "", *experiment_table(experiments[name])]
    if skipped:
        lines += ["## Files skipped", "", *(f"- `{s['path']}`: {s['reason']}" for s in skipped), ""]

    summary = _json_safe(summary)
    (out_md.parent / "fits.json").write_text(json.dumps(summary, indent=2) + "\n")
    out_md.write_text("\n".join(lines).rstrip() + "\n")
    return summary
