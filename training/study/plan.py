"""Study plans: each experiment is a base training config, a grid of overrides and budgets.

A plan file (`training/study/*.toml`) names its axes once and its experiments after them:

    [study]
    results = "results/study"        # one JSON per evaluated point, under <results>/<experiment>/
    runs = "runs/study"              # checkpoints and models, one directory per run hash

    [axes.size.s107k]                # an axis of named choices, each a table of overrides
    "model.hidden_size" = 64
    [axes.lr]                        # or one key and its values
    key = "optimizer.lr"
    values = [1e-3, 3e-3, 1e-2]

    [experiment.size_sweep]
    base = "training/study/base.toml"  # a training config, relative to the repository root
    axes = ["size", "lr"]
    choose = { lr = "lr_sweep" }       # per size, the lr of lr_sweep's lowest test bits per byte
    compute = [1.5e13, 4.7e13, 1.5e14] # training FLOPs per point (or `tokens = [...]`)
    cooldown_fraction = 0.2            # each budget's WSD cooldown: its last 20% of steps
    warmup_fraction = 0.1              # warmup: this much of the family's smallest budget
    [experiment.size_sweep.evaluation]
    sampled = { n = 20, temperature = 0.8 }   # on the last point of each model only

A plan may build on another: `include = ["training/study/size_sweep.toml"]` in [study] makes
that plan's axes usable here and its experiments sources for `choose`, without running them
(both plans must share results and runs). `only = { size = ["s332k"] }` keeps an experiment
to some of an axis's choices.

Every combination of the axes' choices is a *family*: one model trained once through its
stable phase, with every budget a cooldown branched off it (Hägele et al. 2024), so one
long run gives all of its budgets.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycodesmall.errors import ConfigError
from pycodesmall.training.toml_file import read_toml

__all__ = ["Axis", "Evaluation", "Sampled", "Experiment", "Plan", "load_plan"]


@dataclass(frozen=True)
class Axis:
    """A grid axis: label -> overrides (`section.key` -> value)."""

    name: str
    choices: dict[Any, dict[str, Any]]


@dataclass(frozen=True)
class Sampled:
    """The sampled measures of a model's last point (HumanEval pass@k and errors, syntax
    validity, line completion): evaluation tasks of `pycodesmall-train eval`."""

    n: int = 20
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 256
    humaneval_problems: int | None = None  # the first N problems; None: all 164
    lines_files: int = 20  # held-out test files for line completion and syntax validity


@dataclass(frozen=True)
class Evaluation:
    """What every point is measured on: held-out bits per byte on `test_files` files of the
    test split (chosen by `seed`), and the reference solutions' bits per byte."""

    test_files: int = 60
    seed: int = 0
    reference: bool = True
    sampled: Sampled | None = None
    test_split: str = "data/corpus/test.jsonl.gz"  # paths relative to the repository root
    benchmarks: str = "../shared/data"  # HumanEval.jsonl.gz, sanitized-mbpp.json


@dataclass(frozen=True)
class Experiment:
    name: str
    base: Path
    axes: tuple[Axis, ...]
    budgets: tuple[float, ...]  # compute (FLOPs) or tokens, ascending
    budget_kind: str  # "compute" or "tokens"
    choose: dict[str, str] = field(default_factory=dict)  # axis -> experiment it is chosen from
    only: dict[str, tuple] = field(default_factory=dict)  # axis -> the choices kept (default: all)
    overrides: dict[str, Any] = field(default_factory=dict)
    cooldown_fraction: float = 0.2
    warmup_fraction: float = 0.1
    evaluation: Evaluation = Evaluation()

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the free axes' labels (chosen axes are left out)."""
        free = [axis for axis in self.axes if axis.name not in self.choose]
        return [dict(zip((a.name for a in free), labels))
                for labels in itertools.product(*(list(self.only.get(a.name, a.choices)) for a in free))]

    def axis(self, name: str) -> Axis:
        return next(a for a in self.axes if a.name == name)


@dataclass(frozen=True)
class Plan:
    path: Path
    results: Path
    runs: Path
    experiments: dict[str, Experiment]  # what `study run` trains, in order
    # For a machine not measured yet (a GPU plan): the model-FLOP rate the dry run assumes
    # and the words that say what it is; None: the throughput benchmark's measurements.
    assumed_flops_per_second: float | None = None
    assumed_device: str = ""
    # Measured on the plan's machine by benchmarks/study_throughput.py; overrides the above.
    throughput: Path | None = None
    included: dict[str, Experiment] = field(default_factory=dict)  # sources for `choose` only

    def experiment(self, name: str) -> Experiment:
        """An experiment of this plan or of a plan it includes."""
        return self.experiments.get(name) or self.included[name]


_EXPERIMENT_KEYS = {"base", "axes", "choose", "only", "compute", "tokens", "overrides", "cooldown_fraction",
                    "warmup_fraction", "evaluation"}


def load_plan(path: str | Path) -> Plan:
    """Read and check a plan file; every problem is a `ConfigError` naming the key.

    Relative paths in the plan, and in the training configs it names, are relative to the
    directory the command runs in: the repository root."""
    path = Path(path)
    root = Path.cwd()
    raw = read_toml(path, "study plan")
    unknown = sorted(set(raw) - {"study", "axes", "experiment"})
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(unknown)}; a plan has study, axes, experiment")
    study = dict(raw.get("study", {}))
    unknown = sorted(set(study) - {"results", "runs", "assumed_flops_per_second", "assumed_device",
                                   "throughput", "include"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) study.{', study.'.join(unknown)}")
    assumed = study.get("assumed_flops_per_second")
    if assumed is not None and (not isinstance(assumed, (int, float)) or assumed <= 0):
        raise ConfigError(f"{path}: study.assumed_flops_per_second must be a positive number")
    results, runs = root / study.get("results", "results/study"), root / study.get("runs", "runs/study")
    axes, included = _included(study.get("include", []), path, root, results, runs)
    for name, table in raw.get("axes", {}).items():
        if name in axes:
            raise ConfigError(f"{path}: axes.{name} is defined by an included plan already")
        axes[name] = _axis(name, table, path)
    experiments = {name: _experiment(name, table, axes, path, root)
                   for name, table in raw.get("experiment", {}).items()}
    if not experiments:
        raise ConfigError(f"{path}: no [experiment.NAME] tables")
    if clash := sorted(set(experiments) & set(included)):
        raise ConfigError(f"{path}: experiment(s) {', '.join(clash)} are defined by an included plan already")
    for experiment in experiments.values():
        for axis, source in experiment.choose.items():
            earlier = source in experiments and list(experiments).index(source) < list(experiments).index(experiment.name)
            if not (earlier or source in included):
                raise ConfigError(f"{path}: experiment.{experiment.name}.choose.{axis} names {source!r}, "
                                  "which must be an experiment listed before it or in an included plan")
    return Plan(path, results, runs, experiments,
                None if assumed is None else float(assumed), study.get("assumed_device", ""),
                root / study["throughput"] if "throughput" in study else None, included)


def _included(paths: Any, path: Path, root: Path, results: Path, runs: Path
              ) -> tuple[dict[str, Axis], dict[str, Experiment]]:
    """The axes and experiments of the plans `path` includes, which must keep their points and
    runs where this plan does (a chosen value is read from the source's points)."""
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError(f"{path}: study.include must be a list of plan files")
    axes: dict[str, Axis] = {}
    experiments: dict[str, Experiment] = {}
    for name in paths:
        other = load_plan(root / name)
        if other.included:
            raise ConfigError(f"{path}: the included plan {name} includes plans itself; include those directly")
        if (other.results, other.runs) != (results, runs):
            raise ConfigError(f"{path}: the included plan {name} keeps its results or runs elsewhere "
                              f"({other.results}, {other.runs}); a plan and those it includes share them")
        for experiment in other.experiments.values():
            for axis in experiment.axes:
                if axes.setdefault(axis.name, axis) != axis:
                    raise ConfigError(f"{path}: axis {axis.name!r} differs between included plans")
        experiments.update(other.experiments)
    return axes, experiments


def _axis(name: str, table: Any, path: Path) -> Axis:
    where = f"{path}: axes.{name}"
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{where} must be a table of named choices or of key and values")
    if "key" in table or "values" in table:
        if set(table) != {"key", "values"} or not isinstance(table["values"], list) or not table["values"]:
            raise ConfigError(f"{where} takes exactly key = \"section.key\" and a non-empty values = [...]")
        choices = {value: {table["key"]: value} for value in table["values"]}
    else:
        choices = {}
        for label, overrides in table.items():
            if not isinstance(overrides, dict) or not overrides:
                raise ConfigError(f"{where}.{label} must be a table of section.key = value overrides")
            choices[label] = dict(overrides)
    for overrides in choices.values():
        for key in overrides:
            if key.count(".") != 1:
                raise ConfigError(f"{where}: override key {key!r} must look like section.key")
    return Axis(name, choices)


def _experiment(name: str, table: dict, axes: dict[str, Axis], path: Path, root: Path) -> Experiment:
    where = f"{path}: experiment.{name}"
    unknown = sorted(set(table) - _EXPERIMENT_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_EXPERIMENT_KEYS))}")
    if "base" not in table:
        raise ConfigError(f"{where}: base (a training config) is required")
    missing = [a for a in table.get("axes", []) if a not in axes]
    if missing:
        raise ConfigError(f"{where}: unknown axes {', '.join(missing)}; defined: {', '.join(axes) or 'none'}")
    choose = dict(table.get("choose", {}))
    if set(choose) - set(table.get("axes", [])):
        raise ConfigError(f"{where}: choose names axes not in its axes list")
    only = _only(table.get("only", {}), table.get("axes", []), choose, axes, where)
    if ("compute" in table) == ("tokens" in table):
        raise ConfigError(f"{where}: give exactly one of compute = [FLOPs, ...] or tokens = [...]")
    kind = "compute" if "compute" in table else "tokens"
    budgets = table[kind]
    if not isinstance(budgets, list) or not budgets or any(
            not isinstance(b, (int, float)) or b <= 0 for b in budgets):
        raise ConfigError(f"{where}.{kind} must be a non-empty list of positive numbers")
    fractions = {k: table.get(k, default) for k, default in
                 (("cooldown_fraction", 0.2), ("warmup_fraction", 0.1))}
    for key, value in fractions.items():
        if not 0.0 < value < 1.0:
            raise ConfigError(f"{where}.{key} must lie strictly between 0 and 1")
    return Experiment(name=name, base=root / table["base"],
                      axes=tuple(axes[a] for a in table.get("axes", [])),
                      budgets=tuple(sorted(float(b) for b in budgets)), budget_kind=kind,
                      choose=choose, only=only, overrides=dict(table.get("overrides", {})),
                      evaluation=_evaluation(table.get("evaluation", {}), where, root), **fractions)


def _only(table: Any, names: list[str], choose: dict, axes: dict[str, Axis], where: str) -> dict[str, tuple]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}.only must be a table of axis = [choices]")
    only = {}
    for name, kept in table.items():
        if name not in names or name in choose:
            raise ConfigError(f"{where}.only.{name}: only takes axes of the experiment that it does not choose")
        unknown = [k for k in kept if k not in axes[name].choices] if isinstance(kept, list) and kept else None
        if unknown is None or unknown:
            raise ConfigError(f"{where}.only.{name} must be a non-empty list of the axis's choices "
                              f"({', '.join(map(str, axes[name].choices))})")
        only[name] = tuple(kept)
    return only


def _evaluation(table: dict, where: str, root: Path) -> Evaluation:
    table = dict(table)
    sampled = table.pop("sampled", None)
    known = {f.name for f in dataclasses.fields(Evaluation)} - {"sampled"}
    if set(table) - known:
        raise ConfigError(f"{where}.evaluation: unknown key(s) {', '.join(sorted(set(table) - known))}")
    if sampled is not None:
        sampled_known = {f.name for f in dataclasses.fields(Sampled)}
        if not isinstance(sampled, dict) or set(sampled) - sampled_known:
            raise ConfigError(f"{where}.evaluation.sampled takes {', '.join(sorted(sampled_known))}")
        sampled = Sampled(**sampled)
    evaluation = Evaluation(**table, sampled=sampled)
    return dataclasses.replace(evaluation, test_split=str(root / evaluation.test_split),
                               benchmarks=str(root / evaluation.benchmarks))
