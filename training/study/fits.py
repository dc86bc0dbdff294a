"""Power-law fits of final loss: L(N) = E + A / N^alpha and L(N, D) = E + A / N^alpha + B / D^beta.

Fitted as Hoffmann et al. (2022) fit their approach 3: E = exp(e), A = exp(a), B = exp(b), and
L-BFGS minimises the Huber loss (delta = 1e-3) between the log of the prediction, written as
a logsumexp, and the log of the observed loss, from a grid of starting points. The grid is
ranked by the objective first and L-BFGS starts from its best points, so a fit costs a few
minimisations rather than one per grid point. Every estimate carries a 95% percentile
interval from a bootstrap over the points: Besiroglu et al. (2024) show that Hoffmann's
point estimates alone were misleadingly precise.

`fit_pure_power_law` fits the form without an irreducible term, L(N) = (N / N_c)^-alpha_N,
the one Kaplan et al. (2020) and Chen et al. (2021, Codex) publish, so that our exponent can
be set beside theirs; it is the same Huber fit with one term.

Every fit takes a plain array of parameter counts, so the same fit runs on total and on
non-embedding parameters (Pearce & Song 2024: the choice moves the exponents); `LossPoint`
carries both and `point_arrays(points, count)` picks one. A fit needs `MIN_SIZES` distinct
sizes (more than its parameters along N), not merely that many points: repeated seeds of
one size do not pin an exponent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

from pycodesmall.errors import PycodesmallError

__all__ = [
    "PARAMETER_COUNTS", "MIN_SIZES", "FitError", "LossPoint", "point_arrays", "Estimate", "bootstrap_estimates",
    "PowerLawFit", "fit_power_law", "PurePowerLawFit", "fit_pure_power_law", "LossSurfaceFit", "fit_loss_surface",
]

PARAMETER_COUNTS = ("total", "non_embedding")
MIN_SIZES = 4  # distinct model sizes a fit in N needs: one more than L(N)'s three parameters
HUBER_DELTA = 1e-3
# Hoffmann et al.'s grid of initialisations (their appendix D.2), for (e, a, alpha, b, beta).
_E_GRID = (-1.0, -0.5, 0.0, 0.5, 1.0)
_A_GRID = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
_EXPONENT_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)
_STARTS = 8  # L-BFGS runs, from the best-ranked grid points
_LBFGS_OPTIONS = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10}


class FitError(PycodesmallError, ValueError):
    """Points that a fit cannot use: too few, non-positive, or not bracketing a minimum."""


@dataclass(frozen=True)
class LossPoint:
    """One evaluated run: a model at one training budget, with both parameter counts."""

    total_parameters: int
    non_embedding_parameters: int
    tokens: int
    compute: float  # FLOPs of the run's IsoFLOP budget (runs sharing it form one profile)
    loss: float


def point_arrays(points: Sequence[LossPoint], count: str) -> dict[str, np.ndarray]:
    """Columns n, tokens, compute, loss of `points`, with n the `count` ("total" or "non_embedding")."""
    if count not in PARAMETER_COUNTS:
        raise FitError(f"count must be one of {', '.join(PARAMETER_COUNTS)}, got {count!r}")
    return {
        "n": np.array([getattr(p, f"{count}_parameters") for p in points], dtype=float),
        "tokens": np.array([p.tokens for p in points], dtype=float),
        "compute": np.array([p.compute for p in points], dtype=float),
        "loss": np.array([p.loss for p in points], dtype=float),
    }


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its 95% bootstrap percentile interval (NaN bounds: none could be drawn)."""

    value: float
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


def bootstrap_estimates(point: dict[str, float], replicates: list[dict[str, float]]) -> dict[str, Estimate]:
    """Each quantity of `point` with the 2.5th and 97.5th percentiles of its `replicates`.

    Replicates with a non-finite quantity (a degenerate resample whose exponent ran off) are
    dropped first; the callers report how many survived.
    """
    replicates = _finite(replicates)
    if not replicates:
        raise FitError("no bootstrap replicate could be fitted")
    estimates = {}
    for name, value in point.items():
        low, high = np.percentile([r[name] for r in replicates], [2.5, 97.5])
        estimates[name] = Estimate(float(value), float(low), float(high))
    return estimates


def _finite(replicates: list[dict[str, float]]) -> list[dict[str, float]]:
    return [r for r in replicates if all(np.isfinite(v) for v in r.values())]


def _check_bootstraps(bootstraps: int) -> None:
    if not isinstance(bootstraps, int) or bootstraps < 2:
        raise FitError(f"bootstraps must be an integer of at least 2, got {bootstraps!r}")


def _check_sizes(name: str, values: np.ndarray, minimum: int) -> None:
    distinct = len(np.unique(values))
    if distinct < minimum:
        raise FitError(f"the fit needs at least {minimum} distinct {name}, got {distinct}")


def _check_columns(minimum_points: int, **columns: np.ndarray) -> dict[str, np.ndarray]:
    arrays = {name: np.asarray(values, dtype=float) for name, values in columns.items()}
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) != 1 or any(a.ndim != 1 for a in arrays.values()):
        raise FitError(f"{', '.join(arrays)} must be 1-D arrays of one length")
    if lengths.pop() < minimum_points:
        raise FitError(f"the fit needs at least {minimum_points} points")
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)) or np.any(a <= 0):
            raise FitError(f"{name} must be finite and positive")
    return arrays


def _huber(residual: np.ndarray) -> np.ndarray:
    small = np.abs(residual) <= HUBER_DELTA
    return np.where(small, 0.5 * residual**2, HUBER_DELTA * (np.abs(residual) - 0.5 * HUBER_DELTA))


def _huber_fit(design: np.ndarray, log_loss: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The theta minimising sum Huber(logsumexp(terms) - log L), by L-BFGS from the grid's best.

    The log of each term of the prediction is linear in theta: terms[t, p] = sum_k
    design[t, k, p] theta[k]; `grid` holds one starting theta per row.
    """
    terms_count, _, points = design.shape
    flat = design.transpose(0, 2, 1).reshape(terms_count * points, -1)  # (terms * points, K)
    scale = 1.0 / HUBER_DELTA  # keeps gradients of order one, away from L-BFGS's tolerances

    def objective(theta):
        terms = (flat @ theta).reshape(terms_count, points)
        peak = terms.max(axis=0)
        weights = np.exp(terms - peak)
        total = weights.sum(axis=0)
        residual = peak + np.log(total) - log_loss
        # d residual / d terms is the softmax of the terms
        d_terms = weights / total * np.clip(residual, -HUBER_DELTA, HUBER_DELTA)
        return scale * _huber(residual).sum(), scale * (flat.T @ d_terms.ravel())

    grid_terms = np.einsum("rk,gk->rg", flat, grid).reshape(terms_count, points, len(grid))
    grid_residuals = logsumexp(grid_terms, axis=0) - log_loss[:, None]
    ranked = grid[np.argsort(_huber(grid_residuals).sum(axis=0), kind="stable")]
    results = [minimize(objective, start, jac=True, method="L-BFGS-B", options=_LBFGS_OPTIONS)
               for start in ranked[:_STARTS]]
    return min(results, key=lambda r: r.fun).x


def _bootstrap(fit: Callable[[np.ndarray], dict[str, float]], points: int, bootstraps: int,
               seed: int) -> tuple[dict[str, Estimate], tuple[dict[str, float], ...]]:
    """`fit(indices)` on all points, and on `bootstraps` resamples of them with replacement.

    Returns the estimates and the finite replicates (for intervals on predictions). BLAS runs
    on one thread: L-BFGS-B's products are of a few numbers, and threads woken for them made
    each fit ~15x slower on a busy two-core machine.
    """
    rng = np.random.default_rng(seed)
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore"):
        replicates = [fit(rng.integers(0, points, points)) for _ in range(bootstraps)]
        estimates = bootstrap_estimates(fit(np.arange(points)), replicates)
    return estimates, tuple(_finite(replicates))


def _prediction_interval(predict: Callable[..., np.ndarray], replicates: tuple[dict[str, float], ...],
                         *args) -> tuple[np.ndarray, np.ndarray]:
    """The 2.5th and 97.5th percentiles, at each of `args`, of the replicates' predictions."""
    if not replicates:
        raise FitError("the fit kept no bootstrap replicates")
    with np.errstate(over="ignore"):
        predictions = np.array([predict(r, *args) for r in replicates])
    low, high = np.percentile(predictions, [2.5, 97.5], axis=0)
    return low, high


def _without_replicates(fit) -> dict:
    """`asdict(fit)` with the count of replicates kept in place of the replicates themselves."""
    d = {k: v for k, v in asdict(fit).items() if k != "replicates"}
    return {**d, "replicates_kept": len(fit.replicates)}


def _power_law(theta: dict[str, float], n) -> np.ndarray:
    return theta["E"] + theta["A"] / np.asarray(n, dtype=float) ** theta["alpha"]


@dataclass(frozen=True)
class PowerLawFit:
    """L(N) = E + A / N^alpha, fitted to `points` losses with `bootstraps` resamples.

    `replicates` holds the bootstrap fits that `predict_interval` draws its band from; it is
    left out of `to_dict`.
    """

    E: Estimate
    A: Estimate
    alpha: Estimate
    points: int
    bootstraps: int
    replicates: tuple[dict[str, float], ...] = field(default=(), repr=False, compare=False)

    def predict(self, n):
        return _power_law({k: getattr(self, k).value for k in ("E", "A", "alpha")}, n)

    def predict_interval(self, n) -> tuple[np.ndarray, np.ndarray]:
        """The 95% bootstrap band of L at sizes `n`."""
        return _prediction_interval(_power_law, self.replicates, n)

    def to_dict(self) -> dict:
        return _without_replicates(self)


def fit_power_law(n, loss, *, bootstraps: int = 1000, seed: int = 0) -> PowerLawFit:
    """L(N) = E + A / N^alpha over models of sizes `n` at one budget (module docstring)."""
    _check_bootstraps(bootstraps)
    columns = _check_columns(1, n=n, loss=loss)
    _check_sizes("sizes", columns["n"], MIN_SIZES)
    log_n, log_loss = np.log(columns["n"]), np.log(columns["loss"])
    grid = np.array(list(itertools.product(_E_GRID, _A_GRID, _EXPONENT_GRID)))

    def fit(indices):
        x = log_n[indices]
        ones, zeros = np.ones_like(x), np.zeros_like(x)
        design = np.array([[ones, zeros, zeros],  # log E = e
                           [zeros, ones, -x]])  # log A / N^alpha = a - alpha log N
        e, a, alpha = _huber_fit(design, log_loss[indices], grid)
        return {"E": np.exp(e), "A": np.exp(a), "alpha": alpha}

    estimates, replicates = _bootstrap(fit, len(log_n), bootstraps, seed)
    return PowerLawFit(**estimates, points=len(log_n), bootstraps=bootstraps, replicates=replicates)


def _pure_power_law(theta: dict[str, float], n) -> np.ndarray:
    return (np.asarray(n, dtype=float) / theta["N_c"]) ** -theta["alpha"]


@dataclass(frozen=True)
class PurePowerLawFit:
    """L(N) = (N / N_c)^-alpha, the form of Kaplan et al. (2020) and Chen et al. (2021).

    N_c carries the unit of the loss (a loss k times larger moves N_c by k^(1 / alpha)), so
    only alpha compares across papers that measure loss differently.
    """

    N_c: Estimate
    alpha: Estimate
    points: int
    bootstraps: int
    replicates: tuple[dict[str, float], ...] = field(default=(), repr=False, compare=False)

    def predict(self, n):
        return _pure_power_law({"N_c": self.N_c.value, "alpha": self.alpha.value}, n)

    def predict_interval(self, n) -> tuple[np.ndarray, np.ndarray]:
        """The 95% bootstrap band of L at sizes `n`."""
        return _prediction_interval(_pure_power_law, self.replicates, n)

    def to_dict(self) -> dict:
        return _without_replicates(self)


def fit_pure_power_law(n, loss, *, bootstraps: int = 1000, seed: int = 0) -> PurePowerLawFit:
    """L(N) = (N / N_c)^-alpha over models of sizes `n`: log L = alpha log N_c - alpha log N."""
    _check_bootstraps(bootstraps)
    columns = _check_columns(1, n=n, loss=loss)
    _check_sizes("sizes", columns["n"], MIN_SIZES)
    log_n, log_loss = np.log(columns["n"]), np.log(columns["loss"])
    grid = np.array(list(itertools.product(_A_GRID, _EXPONENT_GRID)))

    def fit(indices):
        x = log_n[indices]
        design = np.array([[np.ones_like(x), -x]])  # log L = c - alpha log N, c = alpha log N_c
        c, alpha = _huber_fit(design, log_loss[indices], grid)
        return {"N_c": np.exp(c / alpha) if alpha != 0 else np.inf, "alpha": alpha}

    estimates, replicates = _bootstrap(fit, len(log_n), bootstraps, seed)
    return PurePowerLawFit(**estimates, points=len(log_n), bootstraps=bootstraps, replicates=replicates)


@dataclass(frozen=True)
class LossSurfaceFit:
    """L(N, D) = E + A / N^alpha + B / D^beta, and the compute-optimal allocation it implies.

    With C = 6 N D, the loss at fixed C is least at N_opt = G (C / 6)^a, D_opt = (C / 6)^b / G,
    a = beta / (alpha + beta), b = alpha / (alpha + beta), G = (alpha A / (beta B))^(1 / (alpha + beta))
    (Hoffmann et al. 2022, eq. 4); `optimal_n` and `optimal_tokens` evaluate these. The study's
    runs spend more than 6 N FLOPs per token (attention, and the output layer when N is
    non-embedding), so these are the surface's allocation under Hoffmann's convention, not a
    prediction of our runs' FLOPs.
    """

    E: Estimate
    A: Estimate
    alpha: Estimate
    B: Estimate
    beta: Estimate
    a: Estimate
    b: Estimate
    points: int
    bootstraps: int
    replicates: tuple[dict[str, float], ...] = field(default=(), repr=False, compare=False)

    def _values(self) -> dict[str, float]:
        return {k: getattr(self, k).value for k in ("E", "A", "alpha", "B", "beta")}

    def predict(self, n, d):
        return _loss_surface(self._values(), n, d)

    def predict_interval(self, n, d) -> tuple[np.ndarray, np.ndarray]:
        """The 95% bootstrap band of L at sizes `n` trained on `d` tokens."""
        return _prediction_interval(_loss_surface, self.replicates, n, d)

    def _g(self) -> float:
        v = self._values()
        return (v["alpha"] * v["A"] / (v["beta"] * v["B"])) ** (1 / (v["alpha"] + v["beta"]))

    def optimal_n(self, compute):
        """N_opt(C) = G (C / 6)^a, with C = 6 N D (class docstring)."""
        return self._g() * (np.asarray(compute, dtype=float) / 6) ** self.a.value

    def optimal_tokens(self, compute):
        """D_opt(C) = (C / 6)^b / G, with C = 6 N D (class docstring)."""
        return (np.asarray(compute, dtype=float) / 6) ** self.b.value / self._g()

    def to_dict(self) -> dict:
        return _without_replicates(self)


def _loss_surface(theta: dict[str, float], n, d) -> np.ndarray:
    n, d = np.asarray(n, dtype=float), np.asarray(d, dtype=float)
    return theta["E"] + theta["A"] / n ** theta["alpha"] + theta["B"] / d ** theta["beta"]


def fit_loss_surface(n, tokens, loss, *, bootstraps: int = 1000, seed: int = 0) -> LossSurfaceFit:
    """L(N, D) over runs of sizes `n` trained on `tokens` (module docstring)."""
    _check_bootstraps(bootstraps)
    columns = _check_columns(6, n=n, tokens=tokens, loss=loss)
    _check_sizes("sizes", columns["n"], MIN_SIZES)
    _check_sizes("token counts", columns["tokens"], 3)
    log_n, log_d, log_loss = np.log(columns["n"]), np.log(columns["tokens"]), np.log(columns["loss"])
    grid = np.array(list(itertools.product(_E_GRID, _A_GRID, _EXPONENT_GRID, _A_GRID, _EXPONENT_GRID)))

    def fit(indices):
        x, y = log_n[indices], log_d[indices]
        ones, zeros = np.ones_like(x), np.zeros_like(x)
        design = np.array([[ones, zeros, zeros, zeros, zeros],  # log E = e
                           [zeros, ones, -x, zeros, zeros],  # log A / N^alpha = a - alpha log N
                           [zeros, zeros, zeros, ones, -y]])  # log B / D^beta = b - beta log D
        e, a, alpha, b, beta = _huber_fit(design, log_loss[indices], grid)
        return {"E": np.exp(e), "A": np.exp(a), "alpha": alpha, "B": np.exp(b), "beta": beta,
                "a": beta / (alpha + beta), "b": alpha / (alpha + beta)}

    estimates, replicates = _bootstrap(fit, len(log_n), bootstraps, seed)
    return LossSurfaceFit(**estimates, points=len(log_n), bootstraps=bootstraps, replicates=replicates)
