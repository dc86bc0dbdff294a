"""`pycodesmall-train study run PLAN`: train and evaluate every point of a plan, resumably.

Each family (one combination of a plan's axes, see `plan.py`) is one model: a main run
through the stable phase whose own WSD cooldown gives the largest budget, and one branch
per smaller budget, a cooldown from the main run's checkpoint at the step where that
budget's decay starts. The main run pauses at each such step (a kept checkpoint), the
branch trains and is evaluated, then the main run goes on: the smallest budgets land
first.

A run's directory is named by the hash of its resolved config (output paths left out), so
a finished run is skipped, an interrupted one resumes from its checkpoint, and a plan run
again picks up where it stopped; an evaluated point is one JSON file under
`<results>/<experiment>/`, written as soon as it is measured, and a point whose file exists
is not measured again. A study stopped at any moment loses at most the segment in progress.
A run that another experiment has measured the same way (the same config, so the same hash)
is not trained again: its record is copied under the new experiment's labels.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError, PycodesmallError
from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.training.checkpoint import CheckpointError, load_checkpoint
from pycodesmall.training.metrics_log import read_records
from pycodesmall.training.provenance import dict_hash, git_commit, hardware
from pycodesmall.training.study.flops import (FlopsPerToken, ParameterCount, count_parameters,
                                              training_flops_per_token)
from pycodesmall.training.study.measures import value
from pycodesmall.training.study.plan import Experiment, Plan
from pycodesmall.training.study.points import SCHEMA_VERSION, experiment_points, write_point
from pycodesmall.training.train import DivergedError
from pycodesmall.training.train_config import TrainConfig, load_config

__all__ = ["Family", "Point", "NotReady", "families", "run_plan", "point_path", "measured_elsewhere", "PointEvaluator"]


class NotReady(PycodesmallError):
    """An experiment chooses a value from results that do not exist yet."""


@dataclass(frozen=True)
class Point:
    """One (model, budget) of a family: the run that trains it and where its result goes."""

    experiment: str
    labels: dict[str, Any]
    config: TrainConfig  # resolved, output.dir and train.init_from set
    run_hash: str
    branch_step: int | None  # the main run's step this cooldown starts from; None: the main run
    final: bool  # the family's largest budget (the main run itself)

    @property
    def run_dir(self) -> Path:
        return Path(self.config.output.dir)

    @property
    def steps(self) -> int:
        return self.config.train.max_steps

    @property
    def decay_start(self) -> int:
        return self.config.schedule.decay_start


@dataclass(frozen=True)
class Family:
    experiment: Experiment
    labels: dict[str, Any]
    model: ModelConfig
    parameters: ParameterCount
    flops_per_token: FlopsPerToken
    tokens_per_step: int
    points: tuple[Point, ...]  # ascending budgets; the last is the main run
    vocab_size: int
    tokenizer_variant: str

    @property
    def main(self) -> Point:
        return self.points[-1]

    def trained_tokens(self) -> int:
        """Tokens this family trains on in all: the main run and each branch's cooldown."""
        steps = self.main.steps + sum(p.steps - p.branch_step for p in self.points[:-1])
        return steps * self.tokens_per_step


# How a run executes and reports, not what it computes: left out of its name, so that
# turning on compilation or logging more often keeps a study's runs and results.
_EXECUTION_ONLY = {"output": None, "checkpoint": None, "eval": None,
                   "train": ("init_from", "compile", "gradient_checkpointing")}


def run_hash(config: TrainConfig, branch_of: str | None = None) -> str:
    """The name of a run: the hash of what determines its weights (its config without the
    settings of `_EXECUTION_ONLY`; a branch names its parent's hash and step instead of a
    checkpoint path). Device and precision stay in: they change the arithmetic."""
    d = config.to_dict()
    for section, keys in _EXECUTION_ONLY.items():
        if keys is None:
            d.pop(section)
        else:
            for key in keys:
                d[section].pop(key)
    if branch_of is not None:
        d["branch_of"] = branch_of
    return dict_hash(d)[:16]


def families(plan: Plan, experiment: Experiment, chosen: Callable[[Experiment, str, dict], Any] | None = None,
             ) -> list[Family]:
    """Every family of `experiment`, with its points. `chosen(experiment, axis, labels)` gives
    the label of a chosen axis (`Experiment.choose`) for a family; by default it reads the
    source experiment's results and raises `NotReady` while they are missing."""
    chosen = chosen or (lambda e, axis, labels: choose_from_results(plan, e, axis, labels))
    out = []
    for labels in experiment.grid():
        labels = dict(labels)
        for axis in experiment.choose:
            labels[axis] = chosen(experiment, axis, labels)
        out.append(_family(plan, experiment, labels))
    return out


def _family(plan: Plan, experiment: Experiment, labels: dict[str, Any]) -> Family:
    values = dict(experiment.overrides)
    for axis in experiment.axes:
        values.update(axis.choices[labels[axis.name]])
    base = load_config(experiment.base, values=values)
    tokenizer = PythonTokenizer.from_file(base.data.tokenizer)
    model = base.model_config(tokenizer.vocab_size)
    flops = training_flops_per_token(model, base.model.block_size)
    tokens_per_step = base.train.batch_size * base.train.grad_accum * base.model.block_size
    steps = sorted({max(1, round(_tokens(experiment, budget, flops) / tokens_per_step))
                    for budget in experiment.budgets})
    if len(steps) < len(experiment.budgets):
        raise ConfigError(f"experiment {experiment.name}, {labels}: two budgets round to the same "
                          f"number of steps ({steps}); space the budgets further apart")
    warmup = max(1, round(experiment.warmup_fraction * steps[0]))
    decay_starts = [s - max(1, round(experiment.cooldown_fraction * s)) for s in steps]
    if decay_starts[0] < warmup or any(a >= b for a, b in zip(decay_starts, decay_starts[1:])):
        raise ConfigError(f"experiment {experiment.name}, {labels}: budgets of {steps} steps leave "
                          f"decay starts {decay_starts} after a {warmup}-step warmup; each cooldown "
                          "must start after warmup and before the next budget's")
    main_values = {"schedule.kind": "wsd", "schedule.warmup_steps": warmup,
                   "schedule.decay_start": decay_starts[-1], "train.max_steps": steps[-1]}
    main_config = load_config(experiment.base, values={**values, **main_values})
    main_hash = run_hash(main_config)
    main_dir = plan.runs / main_hash
    points = []
    for index, (budget, step_count, decay) in enumerate(zip(experiment.budgets, steps, decay_starts)):
        final = index == len(steps) - 1
        point_values = {**values, **main_values, "schedule.decay_start": decay, "train.max_steps": step_count}
        config = load_config(experiment.base, values=point_values)
        branch_of = None if final else f"{main_hash}@{decay}"
        hash_ = main_hash if final else run_hash(config, branch_of)
        where = {"output.dir": str(plan.runs / hash_)}
        if not final:
            where["train.init_from"] = str(main_dir / f"step_{decay:06d}.pt")
        config = load_config(experiment.base, values={**point_values, **where})
        point_labels = {**labels, "budget": f"B{index + 1}", experiment.budget_kind: budget}
        points.append(Point(experiment.name, point_labels, config, hash_, None if final else decay, final))
    return Family(experiment, labels, model, count_parameters(model), flops, tokens_per_step,
                  tuple(points), tokenizer.vocab_size, tokenizer.variant)


def _tokens(experiment: Experiment, budget: float, flops: FlopsPerToken) -> float:
    return budget / flops.total if experiment.budget_kind == "compute" else budget


# --- results ---------------------------------------------------------------------------------

def point_path(plan: Plan, point: Point) -> Path:
    return plan.results / point.experiment / f"{point.run_hash}.json"


def measured_elsewhere(plan: Plan, experiment: Experiment, point: Point) -> dict | None:
    """The record of the same run measured the same way under another experiment of the plan
    or of a plan it includes: a run named by its config is the same model wherever a plan
    lists it, so it is trained and measured once (its checkpoints need not be kept)."""
    for other in (*plan.experiments.values(), *plan.included.values()):
        if other.name == experiment.name or other.evaluation != experiment.evaluation:
            continue
        path = plan.results / other.name / f"{point.run_hash}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and record.get("schema_version") == SCHEMA_VERSION:
            return record
    return None


def _to_measure(plan: Plan, family: Family, point: Point) -> bool:
    return not point_path(plan, point).exists() and measured_elsewhere(plan, family.experiment, point) is None


def choose_from_results(plan: Plan, experiment: Experiment, axis: str, labels: dict) -> Any:
    """The label of `axis` whose final point in the source experiment has the lowest held-out
    bits per byte among those that agree with `labels` on the other axes the source has (a
    diverged run counts as the worst); `NotReady` until every choice of the axis has one.
    Only points of the source's current runs count, not files left by an earlier version of
    its plan."""
    source = plan.experiment(experiment.choose[axis])
    current = {f.main.run_hash for f in families(plan, source)}
    shared = {a.name for a in source.axes} - {axis}
    other = {k: v for k, v in labels.items() if k in shared}
    candidates = {}
    for record in experiment_points(plan.results, source.name):
        if record["point"] in current and all(record["labels"].get(k) == v for k, v in other.items()):
            value = record["eval"]["test_bpb"]["value"]
            candidates[_label_key(record["labels"][axis])] = math.inf if value is None else value
    wanted = list(experiment.axis(axis).choices)
    missing = [c for c in wanted if _label_key(c) not in candidates]
    if missing:
        raise NotReady(f"{experiment.name} chooses {axis} for {labels} from {source.name}, which has no "
                       f"point yet for {axis} = {', '.join(map(str, missing))}")
    return min(wanted, key=lambda c: candidates[_label_key(c)])


def _label_key(label: Any) -> str:
    return json.dumps(label)


# --- running ---------------------------------------------------------------------------------

PointEvaluator = Callable[[Path, Point, Experiment], dict]


@dataclass
class Progress:
    """What the plan has left, for the line printed before each segment."""

    segments: int
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    echo: Callable[[str], None] = print

    def segment(self, text: str) -> str:
        self.done += 1
        elapsed = time.monotonic() - self.started
        left = ""
        if self.done > 1:
            left = f", about {_hours(elapsed / (self.done - 1) * (self.segments - self.done + 1))} left"
        label = f"[{self.done}/{self.segments}] {text}"
        self.echo(f"{label} ({_hours(elapsed)} so far{left})")
        return label


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def run_plan(plan: Plan, only: str | None = None, evaluate: PointEvaluator | None = None,
             train: Callable[..., dict] | None = None, echo: Callable[[str], None] = print) -> list[Path]:
    """Train and evaluate every point not yet written; returns the point files written now.

    An experiment whose chosen axis waits for results (`NotReady`) is reported and skipped;
    the next run of the plan takes it up."""
    if train is None:
        from pycodesmall.training.train import train
    if evaluate is None:
        from pycodesmall.training.study.measure import evaluate_point as evaluate
    names = [only] if only else list(plan.experiments)
    if only and only not in plan.experiments:
        raise ConfigError(f"no experiment {only!r} in {plan.path}; it has {', '.join(plan.experiments)}")
    written = []
    for name in names:
        experiment = plan.experiments[name]
        try:
            todo = [f for f in families(plan, experiment) if _pending(plan, f)]
        except NotReady as why:
            echo(f"{name}: waits: {why}")
            continue
        progress = Progress(sum(_segments(plan, f) for f in todo), echo=echo)
        for family in todo:
            written += _run_family(plan, family, evaluate, train, progress)
    return written


def _pending(plan: Plan, family: Family) -> bool:
    return any(not point_path(plan, p).exists() for p in family.points)


def _segments(plan: Plan, family: Family) -> int:
    """The segments `_run_family` will announce: one per point still to measure, and one more
    for each branch whose starting checkpoint the main run must still reach."""
    return sum(1 + _needs_main_segment(family, p) for p in family.points if _to_measure(plan, family, p))


def _started(point: Point) -> bool:
    return any((point.run_dir / f).exists() for f in ("checkpoint.pt", "run.json"))


def _needs_main_segment(family: Family, point: Point) -> bool:
    return (not point.final and not _started(point)
            and not (family.main.run_dir / f"step_{point.branch_step:06d}.pt").exists())


def _run_family(plan: Plan, family: Family, evaluate: PointEvaluator, train, progress: Progress) -> list[Path]:
    written = []
    main = family.main
    name = f"{family.experiment.name} {_describe(family.labels)}"
    for point in family.points:
        path = point_path(plan, point)
        if path.exists():
            _drop_branch_checkpoints(family, point)  # also after a kill right after the point landed
            continue
        if (record := measured_elsewhere(plan, family.experiment, point)) is not None:
            progress.echo(f"{name} {point.labels['budget']}: the run of {record['experiment']} point "
                          f"{point.run_hash}, measured there")
            write_point(path, {**record, "experiment": point.experiment, "labels": point.labels,
                               "measured_under": record["experiment"]})
            written.append(path)
            continue
        if _needs_main_segment(family, point):
            kept = main.run_dir / f"step_{point.branch_step:06d}.pt"
            if not _keep_latest_at(main.run_dir, point.branch_step, kept):
                label = progress.segment(f"{name}: main run to step {point.branch_step} of {main.steps}")
                _train_segment(train, main, point.branch_step, label)
        label = progress.segment(f"{name} {point.labels['budget']}: "
                                 + ("main run to its end" if point.final else
                                    f"cooldown {point.branch_step}->{point.steps}"))
        try:
            if not (point.run_dir / "run.json").exists():
                _train_segment(train, point, None, label)
        except DivergedError as why:
            # A point of its own: the same run diverges again on every try, and the plan
            # must go on past it (an lr sweep's largest rate may well diverge).
            progress.echo(f"{name}: {why}")
            record = {**_point_record(family, point, trained=False), "diverged": str(why),
                      "eval": {"test_bpb": {"value": None}}}
        else:
            record = _point_record(family, point)
            record["eval"] = evaluate(point.run_dir / "model", point, family.experiment)
        write_point(path, record)
        written.append(path)
        _drop_branch_checkpoints(family, point)
    return written


def _keep_latest_at(run_dir: Path, step: int, kept: Path) -> bool:
    """Whether the run's latest checkpoint is the one of `step`, now also kept as `kept`: a
    run killed between its two saves at a pause has only `checkpoint.pt` there."""
    latest = run_dir / "checkpoint.pt"
    try:
        if not latest.exists() or int(load_checkpoint(latest)["step"]) != step:
            return False
    except CheckpointError:
        return False
    shutil.copyfile(latest, kept)
    return True


def _drop_branch_checkpoints(family: Family, point: Point) -> None:
    """A measured branch no longer needs its starting point nor its own checkpoint."""
    if not point.final:
        (family.main.run_dir / f"step_{point.branch_step:06d}.pt").unlink(missing_ok=True)
        (point.run_dir / "checkpoint.pt").unlink(missing_ok=True)


def _train_segment(train, point: Point, pause_at: int | None, label: str) -> dict:
    """Train `point`'s run up to `pause_at` (None: its end), resuming what is on disk (any
    checkpoint: training falls back to the newest intact one and says so)."""
    resume = (point.run_dir / "checkpoint.pt").exists() or any(point.run_dir.glob("step_*.pt"))
    return train(point.config, resume=resume, pause_at=pause_at, label=label)


def _describe(labels: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in labels.items())


def _point_record(family: Family, point: Point, trained: bool = True) -> dict:
    run = json.loads((point.run_dir / "run.json").read_text(encoding="utf-8")) if trained else {}
    wall = run.get("wall_time_s", 0.0)
    if not point.final and trained:  # the stable phase it branched from counts too
        wall += load_checkpoint(family.main.run_dir / f"step_{point.branch_step:06d}.pt")["elapsed_s"]
    tokens = point.steps * family.tokens_per_step
    return {
        "schema_version": SCHEMA_VERSION, "experiment": point.experiment, "point": point.run_hash,
        "run": family.main.run_hash, "labels": point.labels, "final": point.final,
        "config": point.config.to_dict(), "branch_step": point.branch_step,
        "commit": git_commit(), "hardware": hardware(), "trained_with_commit": run.get("git_commit"),
        "tokenizer": {"variant": family.tokenizer_variant, "vocab_size": family.vocab_size},
        "parameters": family.parameters.to_dict(), "tokens": tokens,
        "flops_per_token": family.flops_per_token.to_dict(), "flops": tokens * family.flops_per_token.total,
        "precision": run.get("precision"), "wall_time_s": wall,
        "val_bpb_approx": run.get("val_bpb_approx"),
        "val_curve": _validation_curve(family, point),
    }


def _validation_curve(family: Family, point: Point) -> list[list[float]]:
    """[step, approximate validation bpb] of every finite evaluation on the way to `point` (a
    diverged one's too): a branch's own after the main run's up to its branch step. Kept with
    the point because the run directories are not: whether two seeds differ by a plateau left
    late shows only here."""
    def evaluations(run_dir: Path) -> list[dict]:
        path = run_dir / "metrics.jsonl"
        return [r for r in read_records(path) if "val_bpb_approx" in r] if path.exists() else []
    if point.final:
        records = evaluations(point.run_dir)
    else:
        records = ([r for r in evaluations(family.main.run_dir) if r["step"] <= point.branch_step]
                   + [r for r in evaluations(point.run_dir) if r["step"] > point.branch_step])
    return [[r["step"], r["val_bpb_approx"]] for r in records if value(r["val_bpb_approx"]) is not None]
