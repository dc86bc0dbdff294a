"""IsoFLOP profiles (Hoffmann et al. 2022, approach 2): the compute-optimal N(C) and D(C).

For each compute budget C, a parabola of loss in log N through that budget's runs gives the
size N_opt(C) of least loss. Its tokens D_opt(C) come from the budget's own runs (a line of
log D in log N, evaluated at N_opt), so they follow whatever FLOPs per token the runs really
spent, attention and output layer included, not an assumed C = 6 N D. Then
log N_opt = a log C + log k_N and log D_opt = b log C + log k_D.

The parabola is a local model of the profile near its minimum: over a wide span of sizes a
profile is asymmetric in log N (steep where big models see few tokens), and a parabola through
all of it misplaces the vertex. So each budget's parabola goes through its least-loss run and
up to NEIGHBOURS sizes on each side of it (Hoffmann et al. placed their sizes around the
optimum to the same end).

A parabola's vertex outside the sizes it went through is an extrapolation: such a budget
lacks runs on one side of its optimum, is reported with its status and is left out of the
exponents. The intervals come from a residual bootstrap: resampling the runs themselves would
often leave fewer than three sizes, and so no parabola. The residuals of all usable budgets
form one pool (every loss is measured the same way, on the same test set): a budget of three
sizes has a parabola through its points and no residual of its own, and a per-budget pool
would pretend its optimum is exact. With no residual degree of freedom anywhere (every usable
budget has exactly three sizes) the intervals are NaN: the data cannot say how uncertain the
optimum is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pycodesmall.training.study.fits import Estimate, FitError, _check_bootstraps, _check_columns, bootstrap_estimates

__all__ = ["NEIGHBOURS", "IsoflopMinimum", "IsoflopFit", "isoflop_minima", "isoflop_curve", "fit_isoflop"]

NEIGHBOURS = 2  # sizes each side of a budget's least-loss run that its parabola goes through

# Statuses of a budget's minimum; only "ok" budgets enter the exponents.
OK, TOO_FEW_SIZES, NO_MINIMUM, BELOW_RANGE, ABOVE_RANGE = (
    "ok", "too_few_sizes", "no_minimum", "below_range", "above_range")


@dataclass(frozen=True)
class IsoflopMinimum:
    """The least-loss size of one budget; n_opt etc. are None where no parabola has a minimum."""

    compute: float
    status: str
    points: int  # the runs the parabola went through (module docstring)
    n_min: float  # the smallest and largest of their sizes
    n_max: float
    n_opt: float | None
    tokens_opt: float | None
    loss_opt: float | None

    @property
    def tokens_per_parameter(self) -> float | None:
        return None if self.n_opt is None else self.tokens_opt / self.n_opt

    def to_dict(self) -> dict:
        return {**asdict(self), "tokens_per_parameter": self.tokens_per_parameter}


@dataclass(frozen=True)
class IsoflopFit:
    """N_opt = n_coefficient * C^a and D_opt = tokens_coefficient * C^b over the "ok" budgets.

    `tokens_per_parameter` is the geometric mean of D_opt / N_opt over those budgets (each
    budget's own ratio is in `minima`). `failed_bootstraps` counts replicates dropped
    because a budget's resampled parabola had no minimum; `residual_dof` is the pooled
    residuals' degrees of freedom (0: no intervals, module docstring).
    """

    a: Estimate
    b: Estimate
    n_coefficient: Estimate
    tokens_coefficient: Estimate
    tokens_per_parameter: Estimate
    minima: list[IsoflopMinimum]
    bootstraps: int
    failed_bootstraps: int
    residual_dof: int

    def optimal_n(self, compute):
        return self.n_coefficient.value * np.asarray(compute, dtype=float) ** self.a.value

    def optimal_tokens(self, compute):
        return self.tokens_coefficient.value * np.asarray(compute, dtype=float) ** self.b.value

    def to_dict(self) -> dict:
        d = asdict(self)
        d["minima"] = [m.to_dict() for m in self.minima]
        return d


def isoflop_minima(n, tokens, compute, loss) -> list[IsoflopMinimum]:
    """One minimum per distinct `compute` value, smallest budget first (module docstring)."""
    columns = _check_columns(1, n=n, tokens=tokens, compute=compute, loss=loss)
    return [_minimum(budget, *_budget_columns(columns, budget)) for budget in np.unique(columns["compute"])]


def fit_isoflop(n, tokens, compute, loss, *, bootstraps: int = 1000, seed: int = 0) -> IsoflopFit:
    """The compute-optimal exponents from the budgets whose minimum lies within their sizes."""
    _check_bootstraps(bootstraps)
    columns = _check_columns(1, n=n, tokens=tokens, compute=compute, loss=loss)
    minima = isoflop_minima(**columns)
    usable = [m for m in minima if m.status == OK]
    if len(usable) < 2:
        found = ", ".join(f"C={m.compute:.3g}: {m.status}" for m in minima)
        raise FitError(f"the exponents need two budgets whose minimum lies within their sizes; got {found}")

    computes = [m.compute for m in usable]
    point = _exponents(computes, usable)
    budgets = [_budget_columns(columns, compute) for compute in computes]
    fitted = [np.polyval(_parabola(log_n, loss), log_n - log_n.mean()) for log_n, _, loss in budgets]
    residuals = np.concatenate([loss - f for (_, _, loss), f in zip(budgets, fitted)])
    dof = len(residuals) - 3 * len(budgets)
    if dof == 0:
        nan = float("nan")
        return IsoflopFit(**{k: Estimate(float(v), nan, nan) for k, v in point.items()}, minima=minima,
                          bootstraps=0, failed_bootstraps=0, residual_dof=0)
    residuals = residuals * np.sqrt(len(residuals) / dof)  # unbiased for the 3 coefficients per budget

    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(bootstraps):
        resampled = []
        for (log_n, log_tokens, _), f in zip(budgets, fitted):
            loss = f + rng.choice(residuals, size=len(f), replace=True)
            resampled.append(_minimum(0.0, log_n, log_tokens, loss))
        if all(m.n_opt is not None and np.isfinite([m.n_opt, m.tokens_opt]).all() for m in resampled):
            replicates.append(_exponents(computes, resampled))
    estimates = bootstrap_estimates(point, replicates)
    return IsoflopFit(**estimates, minima=minima, bootstraps=bootstraps,
                      failed_bootstraps=bootstraps - len(replicates), residual_dof=dof)


def isoflop_curve(n, loss, at) -> np.ndarray:
    """The parabola of one budget's runs (`n`, `loss`; those near its minimum), evaluated at sizes `at`."""
    log_n, loss = _near_minimum(np.log(np.asarray(n, dtype=float)), np.asarray(loss, dtype=float))
    if len(np.unique(log_n)) < 3:
        raise FitError("a parabola needs at least three sizes")
    return np.polyval(_parabola(log_n, loss), np.log(np.asarray(at, dtype=float)) - log_n.mean())


def _budget_columns(columns: dict[str, np.ndarray], budget: float):
    """log N, log D and loss of the runs of one budget that its parabola goes through."""
    rows = columns["compute"] == budget
    return _near_minimum(np.log(columns["n"][rows]), columns["loss"][rows], np.log(columns["tokens"][rows]))


def _near_minimum(log_n: np.ndarray, loss: np.ndarray, *others: np.ndarray):
    """The runs whose size is within NEIGHBOURS sizes of the least-loss run's (all runs of a size kept)."""
    sizes = np.unique(log_n)
    centre = int(np.searchsorted(sizes, log_n[np.argmin(loss)]))
    kept = sizes[max(centre - NEIGHBOURS, 0):centre + NEIGHBOURS + 1]
    rows = np.isin(log_n, kept)
    return (log_n[rows], *(column[rows] for column in others), loss[rows])


def _parabola(log_n: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Coefficients (highest power first) of loss in log N, centred for conditioning."""
    return np.polyfit(log_n - log_n.mean(), loss, 2)


def _minimum(compute: float, log_n: np.ndarray, log_tokens: np.ndarray, loss: np.ndarray) -> IsoflopMinimum:
    n_min, n_max = float(np.exp(log_n.min())), float(np.exp(log_n.max()))
    common = dict(compute=float(compute), points=len(loss), n_min=n_min, n_max=n_max)
    if len(np.unique(log_n)) < 3:
        return IsoflopMinimum(status=TOO_FEW_SIZES, n_opt=None, tokens_opt=None, loss_opt=None, **common)
    curvature, slope, _ = coefficients = _parabola(log_n, loss)
    if curvature <= 0:
        return IsoflopMinimum(status=NO_MINIMUM, n_opt=None, tokens_opt=None, loss_opt=None, **common)
    centred_opt = -slope / (2 * curvature)
    log_n_opt = log_n.mean() + centred_opt
    status = BELOW_RANGE if log_n_opt < log_n.min() else ABOVE_RANGE if log_n_opt > log_n.max() else OK
    with np.errstate(over="ignore"):  # a nearly flat parabola's far vertex: inf, out of range
        log_tokens_opt = np.polyval(np.polyfit(log_n, log_tokens, 1), log_n_opt)
        n_opt, tokens_opt = float(np.exp(log_n_opt)), float(np.exp(log_tokens_opt))
        loss_opt = float(np.polyval(coefficients, centred_opt))
    return IsoflopMinimum(status=status, n_opt=n_opt, tokens_opt=tokens_opt, loss_opt=loss_opt, **common)


def _exponents(computes: list[float], minima: list[IsoflopMinimum]) -> dict[str, float]:
    log_c = np.log(computes)
    log_n = np.log([m.n_opt for m in minima])
    log_tokens = np.log([m.tokens_opt for m in minima])
    a, log_k_n = np.polyfit(log_c, log_n, 1)
    b, log_k_d = np.polyfit(log_c, log_tokens, 1)
    return {"a": a, "b": b, "n_coefficient": np.exp(log_k_n), "tokens_coefficient": np.exp(log_k_d),
            "tokens_per_parameter": np.exp(np.mean(log_tokens - log_n))}
