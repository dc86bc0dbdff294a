"""Time the evaluation of HumanEval's 164 canonical solutions through the full harness.

The same path as `pycodesmall-train eval --tasks humaneval`, with the canonical solution
as the only sample of each problem: sandboxed test runs in parallel, classification,
pass@1 with its bootstrap interval and the code measures. The target is under a minute
on a 2-core machine. Load average is recorded because the build machines are shared.

    python benchmarks/eval_humaneval_oracle.py --data-dir ../shared/data \
        --output benchmarks/results/eval_humaneval_oracle.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from pycodesmall.training.evaluation.config import EvalConfig
from pycodesmall.training.evaluation.results import git_commit, hardware
from pycodesmall.training.evaluation.tasks import humaneval
from pycodesmall.training.evaluation.tasks.humaneval import humaneval_problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("PYCODESMALL_EVAL_DATA"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    references = {p.request.prompt: [p.reference] for p in humaneval_problems(args.data_dir)}
    config = EvalConfig(n=1, data_dir=args.data_dir, workers=args.workers)
    runs = []
    for _ in range(args.repeats):
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        result = humaneval.evaluate(
            config, lambda requests, sampling: [references[r.prompt] for r in requests])
        wall = time.perf_counter() - start
        durations = [sample["duration_s"] for sample in result.samples]
        runs.append({"wall_time_s": round(wall, 2), "load_average_1min_before": load_before,
                     "passed": sum(s["category"] == "passed" for s in result.samples),
                     "per_program_s": {"median": round(statistics.median(durations), 4),
                                       "max": round(max(durations), 4)}})
        print(f"{wall:.1f} s, {runs[-1]['passed']}/164 passed, load {load_before:.1f}")
    report = {"benchmark": "eval_humaneval_oracle", "problems": len(references),
              "workers": args.workers or os.cpu_count(),
              "median_wall_time_s": statistics.median(r["wall_time_s"] for r in runs),
              "runs": runs, "isolation": result.summary["isolation"],
              "pass_at_1": result.summary["pass_at_k"]["1"]["value"],
              "git_commit": git_commit(), "hardware": hardware()}
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("median_wall_time_s", "pass_at_1", "isolation")}))


if __name__ == "__main__":
    main()
