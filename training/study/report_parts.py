"""What every section of the study's report is made of: the fields of a point file it reads,
Markdown tables and numbers, and figures saved as PNG and PDF.

`report` (the size sweep, other experiments) and `tokenizer_report` (the tokenizer study)
both build on these, so the two sections read and look alike.
"""

from __future__ import annotations

from pathlib import Path

from pycodesmall.training.study.measures import value

__all__ = ["add_legend", "eval_value", "experiment_table", "fixed", "markdown_table", "point_labels",
           "pyplot", "run_flops", "save_figure"]


def eval_value(point: dict, name: str) -> float | None:
    """The number of evaluation `name` in a point file, or None where it has none."""
    return value((point.get("eval") or {}).get(name))


def point_labels(point: dict) -> dict:
    return point.get("labels") or {}


def run_flops(p: dict) -> float | None:
    """The FLOPs a point was trained with, or its planned compute where it records none."""
    return value(p.get("flops")) or value(point_labels(p).get("compute"))


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def fixed(x, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _sort_key(value):
    return (0, value, "") if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, 0, str(value))


def experiment_table(points: list[dict]) -> list[str]:
    """Labels and test bpb, rows grouped by their labels in the order the keys first appear."""
    keys: list[str] = []
    for p in points:
        keys += [k for k in point_labels(p) if k not in keys]
    rows = sorted(points, key=lambda p: ([_sort_key(point_labels(p).get(k)) for k in keys], p["_file"]))
    body = [[str(p.get("point", p["_file"])), *(str(point_labels(p).get(k, "–")) for k in keys),
             fixed(eval_value(p, "test_bpb"))] for p in rows]
    return markdown_table(["point", *keys, "test bpb"], body)


def pyplot():
    """matplotlib's pyplot on the file-only backend, imported when a figure is first drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, figures_dir: Path, name: str) -> list[str]:
    """Write `fig` as `name`.png and `name`.pdf (no creation date: reruns write the same PDF)."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(figures_dir / f"{name}.png", dpi=150)
    fig.savefig(figures_dir / f"{name}.pdf", metadata={"CreationDate": None})
    pyplot().close(fig)
    return [f"{name}.png", f"{name}.pdf"]


def add_legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
