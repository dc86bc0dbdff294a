"""IsoFLOP profiles recover a known compute-optimal size, and the exponents of N(C) and D(C)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pycodesmall.training.study.fits import FitError
from pycodesmall.training.study.isoflop import fit_isoflop, isoflop_curve, isoflop_minima

BUDGETS = np.geomspace(1e15, 1e18, 4)
A_TRUE, K_N = 0.45, 0.3  # N_opt(C) = K_N * C^A_TRUE; D = C / (6 N), so D_opt = C^(1 - A_TRUE) / (6 K_N)
CURVATURE = 0.05  # loss = L0(C) + CURVATURE * (log N - log N_opt)^2
FACTORS = np.geomspace(1 / 5, 3, 6)  # sizes around the optimum, not symmetric about it


def n_opt(compute):
    return K_N * compute ** A_TRUE


def profiles(budgets=BUDGETS, factors=FACTORS, noise=0.0, seed=0):
    """Columns n, tokens, compute, loss of exact parabolas in log N, one per budget."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in budgets:
        for f in factors:
            n = n_opt(c) * f
            loss = 2.0 - 0.1 * math.log10(c / 1e15) + CURVATURE * math.log(f) ** 2
            rows.append((n, c / (6 * n), c, loss + rng.normal(0, noise)))
    return dict(zip(("n", "tokens", "compute", "loss"), map(np.array, zip(*rows))))


def test_minima_recover_the_known_optimum():
    minima = isoflop_minima(**profiles())
    assert [m.compute for m in minima] == pytest.approx(list(BUDGETS))
    for m in minima:  # the least-loss size is FACTORS[3]: its parabola goes through FACTORS[1:6]
        assert m.status == "ok" and m.points == 5
        assert m.n_opt == pytest.approx(n_opt(m.compute), rel=1e-9)
        assert m.tokens_opt == pytest.approx(m.compute / (6 * n_opt(m.compute)), rel=1e-9)
        assert m.loss_opt == pytest.approx(2.0 - 0.1 * math.log10(m.compute / 1e15), rel=1e-9)
        assert m.tokens_per_parameter == pytest.approx(m.tokens_opt / m.n_opt)
        assert (m.n_min, m.n_max) == pytest.approx((n_opt(m.compute) * FACTORS[1], n_opt(m.compute) * 3))


def test_a_far_size_off_the_parabola_does_not_move_the_minimum():
    """Sizes beyond NEIGHBOURS of the least-loss one (here a far, steep tail) are left out."""
    p = profiles(budgets=[1e16], factors=np.geomspace(1 / 5, 3, 6))
    tail_n = n_opt(1e16) * np.array([10.0, 30.0])
    p = {"n": np.append(p["n"], tail_n), "tokens": np.append(p["tokens"], 1e16 / (6 * tail_n)),
         "compute": np.append(p["compute"], [1e16, 1e16]), "loss": np.append(p["loss"], [5.0, 9.0])}
    (m,) = isoflop_minima(**p)
    assert m.points == 5 and m.n_max == pytest.approx(n_opt(1e16) * 3)
    assert m.n_opt == pytest.approx(n_opt(1e16), rel=1e-9)
    np.testing.assert_allclose(isoflop_curve(p["n"], p["loss"], [n_opt(1e16)]), [2.0 - 0.1], rtol=1e-9)


def test_exponents_recover_known_values_within_their_intervals():
    fit = fit_isoflop(**profiles(noise=0.002, seed=1), bootstraps=60, seed=0)
    true = {"a": A_TRUE, "b": 1 - A_TRUE, "n_coefficient": K_N, "tokens_coefficient": 1 / (6 * K_N),
            # D_opt / N_opt = C^(1 - 2 A_TRUE) / (6 K_N^2); its geometric mean over the budgets
            "tokens_per_parameter": float(np.exp(np.mean(np.log(BUDGETS ** (1 - 2 * A_TRUE) / (6 * K_N**2)))))}
    for name, value in true.items():
        assert getattr(fit, name).contains(value), (name, value, getattr(fit, name))
    assert fit.a.value == pytest.approx(A_TRUE, abs=0.01)
    assert fit.b.value == pytest.approx(1 - A_TRUE, abs=0.01)
    assert fit.optimal_n(1e16) == pytest.approx(n_opt(1e16), rel=0.1)
    assert fit.residual_dof == 4 * 5 - 4 * 3  # 5 runs per parabola (test above)
    assert fit.failed_bootstraps == 0
    json.dumps(fit.to_dict())


def test_exponents_of_a_chinchilla_surface():
    """On L = E + A/N^alpha + B/D^beta along C = 6 N D, the profiles' optimum follows eq. 4 of
    Hoffmann et al.: N_opt = G (C/6)^a with a = beta / (alpha + beta)."""
    e, a_coef, alpha, b_coef, beta = 0.6, 40.0, 0.34, 400.0, 0.28
    g = (alpha * a_coef / (beta * b_coef)) ** (1 / (alpha + beta))
    rows = []
    for c in BUDGETS:
        for f in np.geomspace(1 / 4, 4, 7):
            n = g * (c / 6) ** (beta / (alpha + beta)) * f
            d = c / (6 * n)
            rows.append((n, d, c, e + a_coef / n**alpha + b_coef / d**beta))
    fit = fit_isoflop(*map(np.array, zip(*rows)), bootstraps=10)
    assert fit.a.value == pytest.approx(beta / (alpha + beta), abs=0.005)
    assert fit.b.value == pytest.approx(alpha / (alpha + beta), abs=0.005)
    for m in fit.minima:  # the parabola's vertex lies within a few percent of the true optimum
        assert m.n_opt == pytest.approx(g * (m.compute / 6) ** (beta / (alpha + beta)), rel=0.03)


def test_budgets_without_a_bracketed_minimum_are_reported_and_left_out():
    good = profiles(budgets=BUDGETS[:2])
    above = profiles(budgets=[BUDGETS[2]], factors=np.geomspace(1 / 8, 1 / 2, 4))  # all smaller than N_opt
    below = profiles(budgets=[BUDGETS[3]], factors=np.geomspace(2, 8, 4))  # all larger than N_opt
    few = profiles(budgets=[3e18], factors=[0.5, 2.0])
    concave = profiles(budgets=[1e19], factors=[0.5, 1.0, 2.0])
    concave["loss"] = np.array([1.0, 1.1, 1.0])
    columns = {k: np.concatenate([p[k] for p in (good, above, below, few, concave)]) for k in good}
    fit = fit_isoflop(**columns, bootstraps=20)
    assert [m.status for m in fit.minima] == [
        "ok", "ok", "above_range", "below_range", "too_few_sizes", "no_minimum"]
    assert fit.minima[2].n_opt == pytest.approx(n_opt(BUDGETS[2]))  # the extrapolated vertex is still shown
    assert fit.minima[4].n_opt is None and fit.minima[5].n_opt is None
    assert fit.a.value == pytest.approx(A_TRUE)  # from the two good budgets only
    with pytest.raises(FitError, match="two budgets whose minimum lies within their sizes"):
        fit_isoflop(**{k: np.concatenate([p[k] for p in (profiles(budgets=BUDGETS[:1]), above)])
                       for k in good}, bootstraps=2)


def test_three_sizes_per_budget_give_no_interval():
    """A parabola through three points leaves no residual: the interval is unknown, not zero."""
    fit = fit_isoflop(**profiles(factors=[0.5, 1.2, 2.0], noise=0.01), bootstraps=20)
    assert fit.residual_dof == 0
    assert math.isnan(fit.a.low) and math.isnan(fit.a.high)
    assert fit.a.value == pytest.approx(A_TRUE, abs=0.1)


def test_curve_passes_through_the_profile():
    p = profiles(budgets=[1e16])
    np.testing.assert_allclose(isoflop_curve(p["n"], p["loss"], p["n"]), p["loss"], rtol=1e-9)
    assert isoflop_curve(p["n"], p["loss"], [n_opt(1e16)])[0] == pytest.approx(2.0 - 0.1)
    with pytest.raises(FitError):
        isoflop_curve([1.0, 2.0], [1.0, 0.9], [1.5])
