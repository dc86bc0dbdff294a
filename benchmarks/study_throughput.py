"""Training throughput of every model of a study plan, on the device at hand.

    python benchmarks/study_throughput.py training/study/gpu.toml --experiment size_sweep \
        --out benchmarks/results/study_throughput_gpu.json

For each family of the experiment (one per model size; a chosen axis takes its first
choice, which does not change the model) the plan's own resolved training config is run
through `train.py`'s `train_step` on random token ids: its batch, context, precision and
compile setting, on `train.device`. Tokens/s and model FLOP/s (`study.flops`) per family;
the dry run of a plan whose `[study] throughput` names this file uses them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from pycodesmall.model import Transformer
from pycodesmall.training import distributed
from pycodesmall.training.data_loader import Batches, Split
from pycodesmall.training.precision import resolve_precision
from pycodesmall.training.provenance import provenance
from pycodesmall.training.study.plan import load_plan
from pycodesmall.training.study.runner import families
from pycodesmall.training.train import configure_optimizer, train_step


def family_throughput(family, steps: int, warmup: int) -> dict:
    cfg = family.main.config
    ctx = distributed.setup(cfg.train.device)
    precision = resolve_precision(cfg.train.precision, ctx.device)
    tokens = np.random.default_rng(0).integers(0, family.vocab_size, size=4_000_000, dtype=np.uint16)
    batches = Batches(Split(tokens, len(tokens) * 3), "train", cfg.model.block_size, cfg.train.batch_size, seed=0)
    torch.manual_seed(0)
    model = Transformer(family.model).to(ctx.device)
    optimizer = configure_optimizer(model, cfg)
    forward = torch.compile(model) if cfg.train.compile else model

    def run(first: int, count: int) -> float:
        t0 = time.perf_counter()
        for i in range(first, first + count):
            loss, _ = train_step(forward, optimizer, batches, i, cfg.optimizer.lr, cfg, ctx, precision)
        loss.item()  # waits for the device
        return time.perf_counter() - t0

    warmup_s = run(0, warmup)
    seconds = run(warmup, steps)
    tokens_per_s = steps * family.tokens_per_step / seconds
    return {"labels": family.labels, "parameters": family.parameters.to_dict(),
            "flops_per_token": family.flops_per_token.to_dict(), "device": str(ctx.device),
            "device_name": torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else "cpu",
            "precision": precision, "compile": cfg.train.compile, "tokens_per_step": family.tokens_per_step,
            "warmup_steps": warmup, "warmup_s": warmup_s, "timed_steps": steps, "tokens_per_s": tokens_per_s,
            "model_flops_per_s": tokens_per_s * family.flops_per_token.total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan")
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    plan = load_plan(args.plan)
    experiment = plan.experiments[args.experiment]
    result = provenance({"plan": args.plan, "experiment": args.experiment, "steps": args.steps,
                         "warmup": args.warmup})
    started = time.time()
    chosen = families(plan, experiment, lambda e, axis, labels: next(iter(e.axis(axis).choices)))
    result["families"] = []
    for family in chosen:
        measured = family_throughput(family, args.steps, args.warmup)
        print(f"{measured['labels']}: {measured['tokens_per_s']:.0f} tokens/s, "
              f"{measured['model_flops_per_s'] / 1e12:.1f} TFLOP/s", flush=True)
        result["families"].append(measured)
    result["wall_time_s"] = time.time() - started
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
