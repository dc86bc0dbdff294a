"""Scaling-law fits recover known parameters from synthetic losses, inside their 95% intervals.

The noise is multiplicative (0.5% or 0.3% standard deviation) with a fixed seed. Each interval
covers its true value 95% of the time, so at some other seeds one of the seven quantities falls
outside; the seed is fixed, not searched for per run. Few bootstrap resamples keep this fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pycodesmall.training.study.fits import (
    FitError, LossPoint, fit_loss_surface, fit_power_law, fit_pure_power_law, point_arrays,
)

TRUE = {"E": 0.6, "A": 40.0, "alpha": 0.34, "B": 400.0, "beta": 0.28}
SIZES = np.geomspace(1e6, 1e8, 6)
TOKENS = np.geomspace(1e8, 1e10, 5)
BOOTSTRAPS = 40


def surface(n, d):
    return TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]


@pytest.fixture(scope="module")
def grid():
    n, d = (x.ravel() for x in np.meshgrid(SIZES, TOKENS))
    rng = np.random.default_rng(1)
    return n, d, surface(n, d) * np.exp(rng.normal(0, 0.005, n.size))


@pytest.fixture(scope="module")
def surface_fit(grid):
    return fit_loss_surface(*grid, bootstraps=BOOTSTRAPS, seed=0)


def test_loss_surface_recovers_known_parameters(surface_fit):
    fit = surface_fit
    a, b = TRUE["beta"] / (TRUE["alpha"] + TRUE["beta"]), TRUE["alpha"] / (TRUE["alpha"] + TRUE["beta"])
    for name, true in {**TRUE, "a": a, "b": b}.items():
        estimate = getattr(fit, name)
        assert estimate.low <= estimate.value <= estimate.high, name
        assert estimate.contains(true), (name, true, estimate)
    assert fit.E.value == pytest.approx(TRUE["E"], rel=0.05)
    assert fit.alpha.value == pytest.approx(TRUE["alpha"], abs=0.05)
    assert fit.beta.value == pytest.approx(TRUE["beta"], abs=0.02)
    assert fit.a.value == pytest.approx(a, abs=0.03)
    assert fit.a.value + fit.b.value == pytest.approx(1)
    assert (fit.points, fit.bootstraps) == (30, BOOTSTRAPS)


def test_loss_surface_predictions_and_band(surface_fit, grid):
    n, d, _ = grid
    np.testing.assert_allclose(surface_fit.predict(n, d), surface(n, d), rtol=0.01)
    low, high = surface_fit.predict_interval(n, d)
    predicted = surface_fit.predict(n, d)
    assert np.mean((low <= predicted) & (predicted <= high)) >= 0.9
    width = (high - low) / predicted
    assert np.all(width > 0) and np.median(width) < 0.02  # a band on the mean curve, not on the points


def test_loss_surface_compute_optimal_allocation(surface_fit):
    """N_opt(C) and D_opt(C) minimise the fitted loss along C = 6 N D and spend C."""
    compute = 1e17
    n_opt, d_opt = surface_fit.optimal_n(compute), surface_fit.optimal_tokens(compute)
    assert 6 * n_opt * d_opt == pytest.approx(compute)
    ns = n_opt * np.geomspace(0.5, 2, 41)
    losses = surface_fit.predict(ns, compute / (6 * ns))
    assert np.argmin(losses) == 20


def test_fits_serialise_without_replicates(surface_fit):
    d = surface_fit.to_dict()
    assert "replicates" not in d
    assert 0 < d["replicates_kept"] <= BOOTSTRAPS
    assert set(d["alpha"]) == {"value", "low", "high"}
    json.dumps(d)


def test_power_law_recovers_known_parameters():
    rng = np.random.default_rng(1)
    loss = (TRUE["E"] + TRUE["A"] / SIZES ** TRUE["alpha"]) * np.exp(rng.normal(0, 0.003, SIZES.size))
    fit = fit_power_law(SIZES, loss, bootstraps=BOOTSTRAPS, seed=0)
    for name in ("E", "A", "alpha"):
        assert getattr(fit, name).contains(TRUE[name]), (name, getattr(fit, name))
    assert fit.E.value == pytest.approx(TRUE["E"], rel=0.03)
    assert fit.alpha.value == pytest.approx(TRUE["alpha"], abs=0.04)
    low, high = fit.predict_interval(SIZES)
    assert np.all(low <= fit.predict(SIZES) + 1e-9) and np.all(fit.predict(SIZES) <= high + 1e-9)


def test_pure_power_law_recovers_known_parameters():
    rng = np.random.default_rng(1)
    loss = (SIZES / 5.92e7) ** -0.13 * np.exp(rng.normal(0, 0.003, SIZES.size))
    fit = fit_pure_power_law(SIZES, loss, bootstraps=BOOTSTRAPS, seed=0)
    assert fit.alpha.contains(0.13) and fit.N_c.contains(5.92e7), (fit.alpha, fit.N_c)
    assert fit.alpha.value == pytest.approx(0.13, abs=0.005)
    assert fit.N_c.value == pytest.approx(5.92e7, rel=0.1)
    np.testing.assert_allclose(fit.predict(SIZES), (SIZES / 5.92e7) ** -0.13, rtol=0.01)


def test_fits_need_distinct_sizes_not_just_points():
    n = np.repeat([1e6, 1e7, 1e8], 3)  # 9 points, 3 sizes
    loss = TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"]
    with pytest.raises(FitError, match="4 distinct sizes, got 3"):
        fit_power_law(n, loss, bootstraps=2)
    with pytest.raises(FitError, match="4 distinct sizes, got 3"):
        fit_pure_power_law(n, loss, bootstraps=2)
    with pytest.raises(FitError, match="4 distinct sizes, got 3"):
        fit_loss_surface(n, np.geomspace(1e8, 1e10, 9), loss, bootstraps=2)
    n4 = np.repeat(SIZES[:4], 2)
    with pytest.raises(FitError, match="3 distinct token counts, got 2"):
        fit_loss_surface(n4, np.tile([1e8, 1e9], 4), surface(n4, 1e9), bootstraps=2)


@pytest.mark.parametrize("bad", [{"loss": [1.0, 1.0, -1.0, 1.0]}, {"n": [1e6, 2e6, 3e6]}, {"n": [1e6, 1e6, 2e6, 3e6]},
                                 {"bootstraps": 1}, {"loss": [1.0, 1.0, float("nan"), 1.0]}])
def test_fits_reject_unusable_input(bad):
    args = {"n": [1e6, 2e6, 4e6, 8e6], "loss": [1.0, 0.9, 0.8, 0.75], "bootstraps": 2, **bad}
    with pytest.raises(FitError):
        fit_power_law(args["n"], args["loss"], bootstraps=args["bootstraps"])


def test_point_arrays_pick_the_parameter_count():
    points = [LossPoint(total_parameters=10, non_embedding_parameters=4, tokens=100, compute=6e3, loss=1.5),
              LossPoint(total_parameters=20, non_embedding_parameters=12, tokens=50, compute=6e3, loss=1.4)]
    assert point_arrays(points, "total")["n"].tolist() == [10, 20]
    assert point_arrays(points, "non_embedding")["n"].tolist() == [4, 12]
    assert point_arrays(points, "total")["loss"].tolist() == [1.5, 1.4]
    with pytest.raises(FitError, match="count must be one of"):
        point_arrays(points, "embedding")
