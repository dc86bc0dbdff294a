"""The study report from synthetic point files: REPORT.md, fits.json and figures, fits close to the truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from study_fixtures import point

from pycodesmall.training.study.points import read_points
from pycodesmall.training.study.report import INTERPRETATION, PLACEHOLDER, write_report

TRUE = {"E": 0.6, "A": 40.0, "alpha": 0.34, "B": 400.0, "beta": 0.28}
A_OPT = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"])  # N_opt ~ C^a
SIZES = np.geomspace(5e4, 3e7, 7)
BUDGETS = {"C1": 1e17, "C2": 1e18, "C3": 1e19}  # their optima (about 0.7M, 2M, 6M) lie inside SIZES
FIGURES = ("loss_vs_parameters", "loss_vs_flops", "isoflop", "compute_optimal", "downstream_vs_parameters")


def write_sweep(results_dir, sizes=SIZES, budgets=BUDGETS, seed=1):
    rng = np.random.default_rng(seed)
    folder = results_dir / "size_sweep"
    folder.mkdir(parents=True, exist_ok=True)
    largest = max(budgets, key=budgets.get)
    for budget, compute in budgets.items():
        for n in sizes:
            d = compute / (6 * int(n))
            loss = (TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]) \
                * math.exp(rng.normal(0, 0.004))
            p = point(n, budget, compute, loss, final=budget == largest)
            (folder / f"{p['point']}.json").write_text(json.dumps(p))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    results = tmp_path_factory.mktemp("study")
    write_sweep(results)
    # a budget still running: two sizes so far
    for n in SIZES[:2]:
        p = point(n, "C4", 1e20, 1.0, final=False)
        (results / "size_sweep" / f"{p['point']}.json").write_text(json.dumps(p))
    (results / "size_sweep" / "half-written.json").write_text('{"schema_version": 1, "experi')
    lr = results / "lr_sweep"
    lr.mkdir()
    for i, (rate, seed) in enumerate([(0.003, 2), (0.001, 1), (0.003, 1)]):
        p = point(1e6, "C1", 1e17, 1.0 + i / 10, final=False, experiment="lr_sweep",
                  labels={"lr": rate, "seed": seed})
        (lr / f"point{i}.json").write_text(json.dumps(p))
    out = results / "REPORT.md"
    summary = write_report(results, out, bootstraps=10, seed=0)
    return results, out, summary


def test_report_files_are_written(report):
    results, out, summary = report
    assert out.exists() and (results / "fits.json").exists()
    assert json.loads((results / "fits.json").read_text()) == summary
    for name in FIGURES:
        for ext in ("png", "pdf"):
            path = results / "figures" / f"{name}.{ext}"
            assert path.stat().st_size > 1000, path
            assert f"figures/{name}.{ext}" in summary["figures"]
    assert (results / "figures" / "isoflop.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (results / "figures" / "isoflop.pdf").read_bytes()[:5] == b"%PDF-"


def test_fitted_exponents_are_close_to_the_known_ones(report):
    _, _, summary = report
    fits = summary["size_sweep"]["fits"]
    surface = fits["total"]["loss_surface"]
    assert surface["alpha"]["value"] == pytest.approx(TRUE["alpha"], abs=0.06)
    assert surface["beta"]["value"] == pytest.approx(TRUE["beta"], abs=0.03)
    assert surface["alpha"]["low"] <= surface["alpha"]["value"] <= surface["alpha"]["high"]
    isoflop = fits["total"]["isoflop"]
    assert isoflop["a"]["value"] == pytest.approx(A_OPT, abs=0.05)
    assert [m["status"] for m in fits["total"]["isoflop_minima"]] == ["ok", "ok", "ok", "too_few_sizes"]
    assert fits["non_embedding"]["loss_surface"]["alpha"]["value"] > 0  # fitted too, on the other count
    assert set(fits["total"]["power_law_by_budget"]) == {"C1", "C2", "C3", "C4"}
    assert "4 distinct sizes, got 2" in fits["total"]["power_law_by_budget"]["C4"]["not_fitted"]
    assert summary["size_sweep"]["final_points"] == len(SIZES)


def test_report_reads_every_point_and_lists_the_skipped(report):
    _, out, summary = report
    assert summary["experiments"] == {"lr_sweep": 3, "size_sweep": 3 * len(SIZES) + 2}
    assert [s["path"] for s in summary["skipped_files"]] == ["size_sweep/half-written.json"]
    text = out.read_text()
    assert "half-written.json" in text
    # every point in the table: one row per point id
    for budget in BUDGETS:
        for n in SIZES:
            assert f"| {budget}-{int(n)} |" in text
    assert "not fitted: the fit needs at least 4 distinct sizes, got 2" in text


def test_report_sections_and_published_comparison(report):
    _, out, summary = report
    text = out.read_text()
    for heading in ("## Size sweep", "### L(N) = E + A / N^alpha per budget", "### L(N, D)", "### IsoFLOP minima",
                    "### Compute-optimal exponents", "## Beside published fits", "## lr_sweep (3 points)"):
        assert heading in text, heading
    assert text.count(PLACEHOLDER) == 1
    assert "| total N | non-embedding N |" in text
    rows = {r["quantity"]: r for r in summary["published"]}
    alpha_row = rows["L(N, D): alpha"]
    assert alpha_row["published"] == 0.34
    ours = alpha_row["ours"]["total"]
    assert ours["value"] == summary["size_sweep"]["fits"]["total"]["loss_surface"]["alpha"]["value"]
    assert ours["ratio_to_published"] == pytest.approx(ours["value"] / 0.34)
    assert rows["Codex L(N): alpha_N, pure form, final points"]["published"] == 0.13
    assert rows["Kaplan L(N): alpha_N, pure form, final points"]["published"] == 0.076
    assert rows["tokens per parameter at the optimum, IsoFLOP (geometric mean over budgets)"]["published"] == 20
    assert all(r["ours"]["total"] is not None for r in summary["published"])
    # the number printed is the number in fits.json
    assert f"{ours['value']:.3g} [" in text.split("## Beside published fits")[1]


def test_sampled_measures_are_read_where_measure_py_writes_them(report):
    _, out, _ = report
    row = out.read_text().split("HumanEval error categories |")[1].split("\n")[2]  # header, rule, row
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[2:4] == ["0.010", "0.030"] and cells[-3:] == ["0.200", "0.500", "runtime 0.1, syntax 0.2"]


def test_other_experiments_get_a_table_grouped_by_label(report):
    _, out, _ = report
    section = out.read_text().split("## lr_sweep (3 points)")[1]
    table = [line for line in section.splitlines() if line.startswith("| point")]
    assert table == ["| point | lr | seed | test bpb |"]
    rows = [line for line in section.splitlines() if line.startswith("| C1-")]
    assert rows == ["| C1-1000000 | 0.001 | 1 | 1.1000 |", "| C1-1000000 | 0.003 | 1 | 1.2000 |",
                    "| C1-1000000 | 0.003 | 2 | 1.0000 |"]


def test_too_few_sizes_are_reported_not_fitted(tmp_path):
    write_sweep(tmp_path, sizes=SIZES[2:5], budgets={"C1": 1e17, "C2": 1e18})
    summary = write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=4)
    fits = summary["size_sweep"]["fits"]["non_embedding"]
    assert "not_fitted" in fits["loss_surface"] and "not_fitted" in fits["final_pure_power_law"]
    text = (tmp_path / "REPORT.md").read_text()
    assert "at least 4 distinct sizes, got 3" in text
    rows = {r["quantity"]: r["ours"]["total"] for r in summary["published"]}
    assert rows["L(N, D): alpha"] is None and rows["Kaplan L(N): alpha_N, pure form, final points"] is None
    assert "not fitted" in text.split("## Beside published fits")[1]
    # three sizes a budget still give IsoFLOP minima, but parabolas through three points leave
    # no residual to bootstrap: the exponent is shown without an interval
    iso = summary["size_sweep"]["fits"]["total"]["isoflop"]
    assert iso["residual_dof"] == 0 and iso["a"]["low"] is None
    assert "[no interval]" in text
    assert (tmp_path / "figures" / "loss_vs_flops.png").exists()


def test_empty_results_give_a_report_that_says_so(tmp_path):
    (tmp_path / "results").mkdir()
    summary = write_report(tmp_path / "results", tmp_path / "out" / "REPORT.md", bootstraps=2)
    assert summary["experiments"] == {} and summary["figures"] == []
    assert "No `size_sweep` point yet" in (tmp_path / "out" / "REPORT.md").read_text()
    assert read_points(tmp_path / "results") == ({}, [])


def test_token_budgets_are_ordered_by_tokens_and_have_no_isoflop(tmp_path):
    """Budgets of kind "tokens" (labels.tokens, no labels.compute): L(N) per budget, no IsoFLOP."""
    folder = tmp_path / "size_sweep"
    folder.mkdir()
    for index, tokens in enumerate([1e8 * 2**k for k in range(10)]):
        for n in SIZES[:4]:
            p = point(n, f"B{index + 1}", 1e17, 1.0 + 1 / (index + 1), final=index == 9,
                      labels={"size": f"s{int(n)}", "budget": f"B{index + 1}", "tokens": tokens})
            (folder / f"B{index + 1}-{int(n)}.json").write_text(json.dumps(p))
    summary = write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)
    assert [b["label"] for b in summary["size_sweep"]["budgets"]] == [f"B{i}" for i in range(1, 11)]
    assert "labels.compute" in summary["size_sweep"]["fits"]["total"]["isoflop"]["not_fitted"]


def test_the_written_interpretation_is_shown_and_flagged_once_the_points_change(tmp_path):
    write_sweep(tmp_path, sizes=SIZES[:4], budgets={"C1": 1e17})
    digest = write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)["size_sweep"]["points_digest"]
    (tmp_path / INTERPRETATION).write_text(f"<!-- points: {digest} -->\nOurs differ because of X.\n")

    write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)
    text = (tmp_path / "REPORT.md").read_text()
    tail = text.split("## Beside published fits")[1]
    assert "Ours differ because of X." in tail and PLACEHOLDER not in text and "Written for another" not in text

    p = point(SIZES[4], "C1", 1e17, 1.0, final=False)  # one more point: the text no longer speaks for all
    (tmp_path / "size_sweep" / f"{p['point']}.json").write_text(json.dumps(p))
    summary = write_report(tmp_path, tmp_path / "REPORT.md", bootstraps=2)
    text = (tmp_path / "REPORT.md").read_text()
    assert summary["size_sweep"]["points_digest"] != digest
    assert f"Written for another set of points ({digest}; these are {summary['size_sweep']['points_digest']})" in text
    assert "Ours differ because of X." in text
