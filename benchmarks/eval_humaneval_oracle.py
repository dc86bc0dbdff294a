"""Time the evaluation of HumanEval's 164 canonical solutions through the full harness.

The same path as `pycodesmall-train eval --tasks humaneval`, with the canonical solution
as the only sample of each problem: sandboxed test runs in parallel, classification,
pass@1 with its bootstrap interval and the code measures. The target is under a minute
on a 2-core machine. The build machines are shared, so each run also records the load
average and the CPU time used (this process and its sandbox processes), which does not
depend on what else is running.

    python benchmarks/eval_humaneval_oracle.py --data-dir ../shared/data \
        --output benchmarks/results/eval_humaneval_oracle.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

from pycodesmall.training.evaluation.config import EvalConfig
from pycodesmall.training.evaluation.generation import Sample
from pycodesmall.training.evaluation.tasks import humaneval
from pycodesmall.training.evaluation.tasks.humaneval import humaneval_problems
from pycodesmall.training.provenance import git_commit, hardware


def _cpu_seconds() -> float:
    """User + system time of this process and of its reaped children (the sandbox)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("PYCODESMALL_EVAL_DATA"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    references = {p.request.prompt: [Sample(p.reference)]
                  for p in humaneval_problems(args.data_dir)}
    config = EvalConfig(n=1, data_dir=args.data_dir, workers=args.workers)
    runs = []
    for _ in range(args.repeats):
        load_before = os.getloadavg()[0]
        cpu_before = _cpu_seconds()
        start = time.perf_counter()
        result = humaneval.evaluate(
            config, lambda requests, sampling: [references[r.prompt] for r in requests])
        wall = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_before
        durations = [sample["duration_s"] for sample in result.samples]
        runs.append({"wall_time_s": round(wall, 2), "cpu_time_s": round(cpu, 2),
                     "load_average_1min_before": load_before,
                     "passed": sum(s["category"] == "passed" for s in result.samples),
                     "per_program_s": {"median": round(statistics.median(durations), 4),
                                       "max": round(max(durations), 4)}})
        print(f"{wall:.1f} s wall, {cpu:.1f} s CPU, {runs[-1]['passed']}/164 passed, "
              f"load {load_before:.1f}")
    report = {"benchmark": "eval_humaneval_oracle", "problems": len(references),
              "workers": args.workers or os.cpu_count(),
              "median_wall_time_s": statistics.median(r["wall_time_s"] for r in runs),
              "median_cpu_time_s": statistics.median(r["cpu_time_s"] for r in runs),
              "runs": runs, "isolation": result.summary["isolation"],
              "pass_at_1": result.summary["pass@1"],
              "git_commit": git_commit(), "hardware": hardware()}
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    headline = ("median_wall_time_s", "median_cpu_time_s", "pass_at_1", "isolation")
    print(json.dumps({key: report[key] for key in headline}))


if __name__ == "__main__":
    main()
