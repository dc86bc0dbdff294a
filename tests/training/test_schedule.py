import pytest

from pycodesmall.errors import ConfigError
from pycodesmall.training.schedule import check_branch, learning_rate
from pycodesmall.training.train_config import ScheduleSection


@pytest.mark.parametrize("kind", ["wsd", "cosine"])
@pytest.mark.parametrize("min_lr_ratio", [0.0, 0.1])
def test_both_kinds_share_the_endpoint_rule(kind, min_lr_ratio):
    schedule = ScheduleSection(kind=kind, warmup_steps=10, decay_fraction=0.2, min_lr_ratio=min_lr_ratio)
    lrs = [learning_rate(s, 1.0, schedule, 100) for s in range(101)]  # 100: the step after the last
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == 1.0  # warmup: step 0 learns, the peak at its end
    decay_start = 10 if kind == "cosine" else 80
    assert all(lr == 1.0 for lr in lrs[9:decay_start])
    assert all(a > b for a, b in zip(lrs[decay_start - 1:], lrs[decay_start:]))  # below the peak at once
    assert lrs[99] > min_lr_ratio  # the last step still learns, also with min_lr_ratio 0
    assert lrs[100] == pytest.approx(min_lr_ratio)  # min_lr one step after the last


def test_decay_values():
    linear = ScheduleSection(kind="wsd", warmup_steps=0, decay_start=80)  # 19 steps, 20 parts
    assert learning_rate(79, 1.0, linear, 99) == 1.0
    assert learning_rate(80, 1.0, linear, 99) == pytest.approx(0.95)
    assert learning_rate(89, 1.0, linear, 99) == pytest.approx(0.5)
    assert learning_rate(98, 1.0, linear, 99) == pytest.approx(0.05)
    sqrt = ScheduleSection(kind="wsd", warmup_steps=0, decay_start=80, decay_shape="sqrt")
    assert learning_rate(84, 1.0, sqrt, 99) == pytest.approx(0.5)
    cosine = ScheduleSection(kind="cosine", warmup_steps=10)  # 91 steps, 92 parts
    assert learning_rate(55, 1.0, cosine, 101) == pytest.approx(0.5)


def test_a_decay_never_starts_during_warmup():
    schedule = ScheduleSection(kind="wsd", warmup_steps=10, decay_start=4)
    assert [learning_rate(s, 1.0, schedule, 20) for s in range(10)] == pytest.approx(
        [(s + 1) / 10 for s in range(10)])
    assert learning_rate(10, 1.0, schedule, 20) < 1.0


def test_a_cooldown_follows_the_stable_phase_it_branches_from():
    long = ScheduleSection(kind="wsd", warmup_steps=10, decay_fraction=0.2)  # decays from step 80 of 100
    cooldown = ScheduleSection(kind="wsd", warmup_steps=10, decay_start=40)
    assert ([learning_rate(s, 1.0, cooldown, 50) for s in range(40)]
            == [learning_rate(s, 1.0, long, 100) for s in range(40)])
    check_branch(long, 100, cooldown, 50, 1.0, step=40)


def test_a_branch_that_changes_its_past_is_refused():
    long = ScheduleSection(kind="wsd", warmup_steps=10, decay_fraction=0.2)
    early = ScheduleSection(kind="wsd", warmup_steps=10, decay_start=30)
    with pytest.raises(ConfigError, match=r"on step 30, .* schedule.decay_start 40 or later"):
        check_branch(long, 100, early, 50, 1.0, step=40)
    with pytest.raises(ConfigError, match="on step 0,"):
        check_branch(long, 100, ScheduleSection(kind="wsd", warmup_steps=20, decay_start=40), 50, 1.0, step=40)
    cosine = ScheduleSection(kind="cosine", warmup_steps=10)
    with pytest.raises(ConfigError, match="on step 10,"):  # a longer cosine decays more slowly
        check_branch(cosine, 100, cosine, 200, 1.0, step=40)
