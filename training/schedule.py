"""Learning-rate schedules: linear warmup, then cosine decay or warmup-stable-decay (WSD).

WSD keeps the peak rate until `decay_start` and only then decays, so the checkpoints of the
stable phase do not depend on the run's length: a cooldown from any of them (a new run with
`train.init_from` set to it, `schedule.decay_start` at its step and a shorter `max_steps`)
gives the model for that token budget without retraining from scratch.
"""

from __future__ import annotations

import math

from pycodesmall.training.train_config import ScheduleSection

__all__ = ["learning_rate", "decay_start"]


def decay_start(schedule: ScheduleSection, max_steps: int) -> int:
    """First step of the WSD decay phase."""
    if schedule.decay_start >= 0:
        return schedule.decay_start
    return max_steps - round(schedule.decay_fraction * max_steps)


def learning_rate(step: int, peak_lr: float, schedule: ScheduleSection, max_steps: int) -> float:
    """The learning rate for optimizer step `step` (0-based) of a run of `max_steps` steps."""
    min_lr = peak_lr * schedule.min_lr_ratio
    if step < schedule.warmup_steps:
        return peak_lr * (step + 1) / schedule.warmup_steps
    if schedule.kind == "cosine":
        progress = min(1.0, (step - schedule.warmup_steps) / max(1, max_steps - schedule.warmup_steps))
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak_lr - min_lr)
    start = decay_start(schedule, max_steps)
    if step < start:
        return peak_lr
    progress = min(1.0, (step - start + 1) / max(1, max_steps - start))
    remaining = 1.0 - progress if schedule.decay_shape == "linear" else 1.0 - math.sqrt(progress)
    return min_lr + remaining * (peak_lr - min_lr)
