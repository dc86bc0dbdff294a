"""pass@k and its confidence interval.

pass@k is estimated per problem with the unbiased estimator of Chen et al. (2021),
"Evaluating Large Language Models Trained on Code", eq. 1:

    pass@k = 1 - C(n - c, k) / C(n, k)

for n samples of which c pass. The ratio of binomials is computed as the product
prod_{i = n - c + 1}^{n} (1 - k / i), which never forms the huge binomials themselves.
The benchmark score is the mean over problems; its uncertainty comes from which problems
happen to be in the benchmark, so the interval is a bootstrap over problems.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pass_at_k", "bootstrap_interval", "reportable_ks"]

STANDARD_KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n
    (c of them correct) is correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def reportable_ks(n: int) -> list[int]:
    """The standard k values that n samples per problem can estimate."""
    return [k for k in STANDARD_KS if k <= n]


def bootstrap_interval(values: list[float], confidence: float = 0.95,
                       resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-problem `values`."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)
