"""Learning-rate schedules: linear warmup, then cosine decay or warmup-stable-decay (WSD).

Endpoint rule, the same for both kinds and at both ends: every step changes the weights,
and none repeats the rate of the stable phase. Warmup's W steps run at peak * 1/W, 2/W, ..., W/W: the first step learns, the last is
at the peak. The decay's n steps (from its first step, `warmup_steps` for cosine and
`decay_start` for WSD, to the last step, `max_steps - 1`) divide the way from the peak to
`min_lr` into n + 1 equal parts of progress: the first decay step is already below the
peak, the last is still above `min_lr` (with `min_lr_ratio = 0`, a step at `min_lr` would
change nothing), and `min_lr` itself falls on step `max_steps`, the one after the last. A
decay never starts before warmup ends.

WSD keeps the peak rate until `decay_start` and only then decays, so the checkpoints of the
stable phase do not depend on the run's length: a cooldown from any of them (a branch: a
new run with `train.init_from` set to it, `schedule.decay_start` at or after its step and
its own `max_steps`) gives the model for that token budget without retraining from
scratch. `check_branch` says whether a new schedule continues a checkpoint's.
"""

from __future__ import annotations

import math

from pycodesmall.errors import ConfigError
from pycodesmall.training.train_config import ScheduleSection

__all__ = ["learning_rate", "decay_start", "check_branch"]


def decay_start(schedule: ScheduleSection, max_steps: int) -> int:
    """First step of the decay phase: warmup's end for cosine, the stable phase's end for WSD."""
    if schedule.kind == "cosine":
        return schedule.warmup_steps
    if schedule.decay_start >= 0:
        return schedule.decay_start
    return max_steps - round(schedule.decay_fraction * max_steps)


def learning_rate(step: int, peak_lr: float, schedule: ScheduleSection, max_steps: int) -> float:
    """The learning rate for optimizer step `step` (0-based) of a run of `max_steps` steps."""
    if step < schedule.warmup_steps:
        return peak_lr * (step + 1) / schedule.warmup_steps
    start = max(decay_start(schedule, max_steps), schedule.warmup_steps)
    if step < start:
        return peak_lr
    progress = min(1.0, (step - start + 1) / (max_steps - start + 1))  # 1.0 at step max_steps
    if schedule.kind == "cosine":
        remaining = 0.5 * (1.0 + math.cos(math.pi * progress))
    elif schedule.decay_shape == "linear":
        remaining = 1.0 - progress
    else:
        remaining = 1.0 - math.sqrt(progress)
    min_lr = peak_lr * schedule.min_lr_ratio
    return min_lr + remaining * (peak_lr - min_lr)


def check_branch(parent: ScheduleSection, parent_max_steps: int, branch: ScheduleSection,
                 branch_max_steps: int, peak_lr: float, step: int) -> None:
    """Fail unless a branch from step `step` of a run trained the same learning rates as
    that run up to there: a branch continues a run's past and changes only its future."""
    for s in range(step):
        before = learning_rate(s, peak_lr, parent, parent_max_steps)
        now = learning_rate(s, peak_lr, branch, branch_max_steps)
        if not math.isclose(before, now, rel_tol=1e-12, abs_tol=0.0):
            raise ConfigError(
                f"the checkpoint of step {step} was trained at learning rate {before:.6g} on step {s}, "
                f"where this config's schedule gives {now:.6g}: a branch keeps the schedule of the "
                f"steps before it (for a WSD cooldown, schedule.decay_start {step} or later; "
                f"here it starts decaying at step {decay_start(branch, branch_max_steps)})")
