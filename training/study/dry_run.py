"""`study run --dry-run`: what a plan will train, and how long it will take on this machine.

For every run: parameters (total, non-embedding, embedding), tokens, training FLOPs
(`flops.training_flops_per_token`), and hours at the model-FLOP rate that
`benchmarks/train_throughput.py` measured for the run's precision, interpolated in log
FLOPs per token between its presets (clamped outside them). Training only: evaluation
comes on top (minutes per point).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pycodesmall.errors import ConfigError
from pycodesmall.training.study.plan import Plan
from pycodesmall.training.study.runner import Family, NotReady, families

__all__ = ["ThroughputModel", "AssumedThroughput", "MeasuredPlanThroughput", "dry_run"]

THROUGHPUT_FILE = Path("benchmarks/results/train_throughput.json")  # from the repository root


class ThroughputModel:
    """Model FLOPs per second against FLOPs per token, from the throughput benchmark."""

    def __init__(self, path: Path = THROUGHPUT_FILE):
        self.path = path
        if not path.exists():
            raise ConfigError(f"no throughput measurements at {path}: run the dry run from the repository "
                              "root, or measure them with benchmarks/train_throughput.py")
        data = json.loads(path.read_text(encoding="utf-8"))
        self.rates: dict[str, list[tuple[float, float]]] = {}
        for preset in data["presets"].values():
            per_token = preset["flops_per_token"]["total"]
            for variant, run in preset["runs"].items():
                self.rates.setdefault(variant, []).append((math.log(per_token), run["model_flops_per_s"]))
        for points in self.rates.values():
            points.sort()

    def describe(self) -> str:
        return f"the throughput measured on this machine ({self.path.name})"

    def flops_per_second(self, flops_per_token: float, precision: str, compile: bool,
                         labels: dict | None = None) -> float:
        variant = f"{precision}_compiled" if compile and f"{precision}_compiled" in self.rates else precision
        if variant not in self.rates:
            raise ConfigError(f"{self.path} has no {variant} measurements; it has {', '.join(self.rates)}")
        points = self.rates[variant]
        x = math.log(flops_per_token)
        if x <= points[0][0]:
            return points[0][1]
        if x >= points[-1][0]:
            return points[-1][1]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            if x0 <= x <= x1:
                t = (x - x0) / (x1 - x0)
                return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))
        raise AssertionError("unreachable")


class AssumedThroughput:
    """One model-FLOP rate for every run: a plan's assumption for a machine not measured."""

    def __init__(self, flops_per_second: float, device: str):
        self.rate, self.device = flops_per_second, device

    def describe(self) -> str:
        return f"an assumed {self.rate:.3g} model FLOP/s ({self.device or 'no device named'}; not measured)"

    def flops_per_second(self, flops_per_token: float, precision: str, compile: bool,
                         labels: dict | None = None) -> float:
        return self.rate


class MeasuredPlanThroughput:
    """The model-FLOP rate `benchmarks/study_throughput.py` measured for each model of a
    plan on its machine; a family is matched by its size (the FLOPs per token)."""

    def __init__(self, path: Path):
        self.path = path
        data = json.loads(path.read_text(encoding="utf-8"))
        self.device = data["families"][0]["device_name"] if data["families"] else "?"
        self.rates = {round(f["flops_per_token"]["total"]): f["model_flops_per_s"] for f in data["families"]}

    def describe(self) -> str:
        return f"the throughput measured on {self.device} ({self.path.name})"

    def flops_per_second(self, flops_per_token: float, precision: str, compile: bool,
                         labels: dict | None = None) -> float:
        try:
            return self.rates[round(flops_per_token)]
        except KeyError:
            raise ConfigError(f"{self.path} has no measurement of a model of {flops_per_token:.3g} FLOPs "
                              "per token: run benchmarks/study_throughput.py on this plan again") from None


def _precision(family: Family) -> str:
    """The precision the run would take where it is meant to run: "auto" on a CUDA plan is
    bf16 (every GPU since Ampere has it; this machine may have none to ask), on a CPU plan
    what this CPU resolves it to."""
    train = family.main.config.train
    if train.precision != "auto":
        return train.precision
    if train.device == "cuda":
        return "bf16"
    import torch

    from pycodesmall.training.precision import resolve_precision
    return resolve_precision("auto", torch.device("cpu"))


def dry_run(plan: Plan, only: str | None = None, throughput: ThroughputModel | None = None) -> tuple[str, dict]:
    """The dry-run table as text, and its numbers (per experiment and in total)."""
    if throughput is None:
        if plan.throughput is not None and plan.throughput.exists():
            throughput = MeasuredPlanThroughput(plan.throughput)
        elif plan.assumed_flops_per_second:
            throughput = AssumedThroughput(plan.assumed_flops_per_second, plan.assumed_device)
        else:
            throughput = ThroughputModel()
    lines, totals = [], {"experiments": {}, "tokens": 0, "flops": 0.0, "hours": 0.0}
    if only and only not in plan.experiments:
        raise ConfigError(f"no experiment {only!r} in {plan.path}; it has {', '.join(plan.experiments)}")
    for name, experiment in plan.experiments.items():
        if only and name != only:
            continue
        note = ""
        try:
            family_list = families(plan, experiment)
        except NotReady:
            # Chosen axes wait for results: their first choice stands in (the sizes, and
            # so the FLOPs, do not depend on them).
            family_list = families(plan, experiment, lambda e, axis, labels: next(iter(e.axis(axis).choices)))
            note = f" (chosen axes {', '.join(experiment.choose)} pending: first choice shown)"
        lines.append(f"## {name}{note}")
        labels = [" ".join(f"{k}={v}" for k, v in family.labels.items()) for family in family_list]
        width = max([32, *map(len, labels)])
        lines.append(f"{'family':{width}} {'N total':>9} {'N non-emb':>9} {'N emb':>8} "
                     f"{'budgets (steps)':28} {'tokens':>8} {'FLOPs':>9} {'hours':>6}")
        exp = {"runs": 0, "points": 0, "tokens": 0, "flops": 0.0, "hours": 0.0}
        for family, label in zip(family_list, labels):
            tokens = family.trained_tokens()
            flops = tokens * family.flops_per_token.total
            rate = throughput.flops_per_second(family.flops_per_token.total, _precision(family),
                                               family.main.config.train.compile, family.labels)
            hours = flops / rate / 3600
            params = family.parameters
            steps = ",".join(str(p.steps) for p in family.points)
            lines.append(f"{label:{width}} {params.total:>9,} {params.non_embedding:>9,} {params.embedding:>8,} "
                         f"{steps:28} {tokens / 1e6:>7.1f}M {flops:>9.2e} {hours:>6.2f}")
            exp["runs"] += 1
            exp["points"] += len(family.points)
            exp["tokens"] += tokens
            exp["flops"] += flops
            exp["hours"] += hours
        lines.append(f"{name}: {exp['runs']} models, {exp['points']} points, {exp['tokens'] / 1e6:.1f}M tokens, "
                     f"{exp['flops']:.2e} FLOPs, {exp['hours']:.2f} hours of training")
        lines.append("")
        totals["experiments"][name] = exp
        for key in ("tokens", "flops", "hours"):
            totals[key] += exp[key]
    lines.append(f"total: {totals['tokens'] / 1e6:.1f}M tokens, {totals['flops']:.2e} FLOPs, "
                 f"{totals['hours']:.2f} hours of training at {throughput.describe()}, "
                 "evaluation not included")
    return "\n".join(lines), totals
