import math

import pytest

from pycodesmall.training.evaluation.pass_at_k import (bootstrap_interval, pass_at_k,
                                                       reportable_ks)


def exact(n, c, k):
    """The estimator as written in Chen et al. (2021): 1 - C(n-c, k) / C(n, k)."""
    return 1 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20, 100, 200])
def test_matches_the_binomial_formula(n):
    for c in range(n + 1):
        for k in {1, 2, n // 2 or 1, 10, 100, n} & set(range(1, n + 1)):
            assert pass_at_k(n, c, k) == pytest.approx(exact(n, c, k), rel=1e-12, abs=1e-12)


def test_known_values():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 1, 10) == 1.0
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)


def test_stays_finite_where_binomials_overflow_floats():
    assert pass_at_k(2000, 1000, 100) == pytest.approx(exact(2000, 1000, 100))
    assert 0.0 <= pass_at_k(2000, 1, 100) <= 1.0


@pytest.mark.parametrize("n, c, k", [(10, 11, 1), (10, -1, 1), (10, 3, 0), (10, 3, 11)])
def test_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_reportable_ks_need_enough_samples():
    assert reportable_ks(1) == [1]
    assert reportable_ks(20) == [1, 10]
    assert reportable_ks(200) == [1, 10, 100]


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = [1.0] * 30 + [0.0] * 70
    low, high = bootstrap_interval(values, seed=3)
    assert low < 0.3 < high
    assert (low, high) == bootstrap_interval(values, seed=3)
    assert 0.18 < low and high < 0.42  # about ±1.96 * sqrt(0.3 * 0.7 / 100)
    assert bootstrap_interval([0.5] * 10) == (0.5, 0.5)
