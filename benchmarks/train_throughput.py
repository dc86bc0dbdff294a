"""Training throughput (tokens/s) of the pycodesmall loop against a plain loop over
`transformers`' LlamaForCausalLM, eager and with `torch.compile`, on one shared config.

    python benchmarks/train_throughput.py [--steps 4] [--rounds 5] [--out benchmarks/results/train_throughput.json]

Config (the issue's reference setting): batch 8 x 512 tokens, vocabulary 16384, hidden 256,
6 layers, 8 heads (~9M parameters), fp32, AdamW, gradient clipping at 1.0. Both loops train
the same architecture with the same optimizer on random token ids; the pycodesmall loop
uses the training program's own pieces (`Batches`, `loss_fn`, `configure_optimizer`). Each
variant runs `--warmup` untimed steps (which include compilation, timed separately), then
the variants take turns for `--rounds` rounds of `--steps` timed steps each.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

from pycodesmall.config import ModelConfig
from pycodesmall.model import Transformer
from pycodesmall.training.data_loader import Batches, Split
from pycodesmall.training.provenance import provenance
from pycodesmall.training.train import configure_optimizer, loss_fn
from pycodesmall.training.train_config import TrainConfig

BATCH, BLOCK, VOCAB = 8, 512, 16384
SIZES = dict(vocab_size=VOCAB, hidden_size=256, num_hidden_layers=6, num_attention_heads=8,
             max_position_embeddings=BLOCK)
# Measured on these machines for orientation (issue 3): nanoGPT's train.py and a plain
# transformers loop, same setting, tokens/s.
REFERENCE = {"nanogpt_eager": 1612, "nanogpt_compiled": 1688, "transformers_eager": 1574,
             "transformers_compiled": 1672}


def pycodesmall_loop(compile_model: bool, tokens: np.ndarray):
    """One optimizer step of the pycodesmall training program, as `train.py` runs it."""
    cfg = TrainConfig()
    model = Transformer(ModelConfig(**SIZES))
    optimizer = configure_optimizer(model, cfg)
    batches = Batches(Split(tokens, len(tokens) * 3), "train", BLOCK, BATCH, seed=0)
    forward = torch.compile(model) if compile_model else model

    def step(i: int) -> float:
        x, y = batches.micro_batch(i, 0)
        loss = loss_fn(forward(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optimizer.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()
    return model, step


def transformers_loop(compile_model: bool, tokens: np.ndarray):
    """A plain nanoGPT-style loop over LlamaForCausalLM."""
    config = LlamaConfig(**SIZES, intermediate_size=ModelConfig(**SIZES).intermediate_size,
                         tie_word_embeddings=True, attention_bias=False, mlp_bias=False)
    model = LlamaForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95))
    forward = torch.compile(model) if compile_model else model
    rng = np.random.default_rng(0)

    def step(i: int) -> float:
        starts = rng.integers(0, len(tokens) - BLOCK - 1, size=BATCH)
        window = torch.from_numpy(np.stack([tokens[s:s + BLOCK + 1] for s in starts]).astype(np.int64))
        logits = forward(input_ids=window[:, :-1]).logits
        loss = F.cross_entropy(logits.view(-1, VOCAB), window[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()
    return model, step


def measure(loops: dict, warmup: int, steps: int, rounds: int) -> dict:
    """Warm every loop up (compiling it), then time `rounds` rounds of `steps` steps, the
    variants taking turns so that a change in the machine's load hits all of them alike."""
    results = {}
    for name, (model, step) in loops.items():
        t0 = time.time()
        for i in range(warmup):
            step(i)
        results[name] = {"parameters": sum(p.numel() for p in model.parameters()),
                         "warmup_steps": warmup, "warmup_s": time.time() - t0, "round_tokens_per_s": []}
    for r in range(rounds):
        for name, (_, step) in loops.items():
            t0 = time.time()
            for i in range(steps):
                step(warmup + r * steps + i)
            results[name]["round_tokens_per_s"].append(steps * BATCH * BLOCK / (time.time() - t0))
            print(f"round {r} {name}: {results[name]['round_tokens_per_s'][-1]:.0f} tokens/s", flush=True)
    for result in results.values():
        rates = result["round_tokens_per_s"]
        result["tokens_per_s"] = len(rates) / sum(1 / rate for rate in rates)  # total tokens / total time
        result["timed_steps"] = rounds * steps
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_throughput.json"))
    args = parser.parse_args()
    settings = {"batch": BATCH, "block_size": BLOCK, "dtype": "float32", "model": SIZES,
                "steps": args.steps, "rounds": args.rounds, "warmup": args.warmup}
    result = provenance(settings)
    t_start = time.time()
    tokens = np.random.default_rng(0).integers(0, VOCAB, size=2_000_000, dtype=np.uint16)
    loops = {}
    for name, build in (("pycodesmall", pycodesmall_loop), ("transformers", transformers_loop)):
        for compile_model in (False, True):
            torch.manual_seed(0)
            loops[f"{name}_{'compiled' if compile_model else 'eager'}"] = build(compile_model, tokens)
    result["load_average_before"] = os.getloadavg()
    runs = measure(loops, args.warmup, args.steps, args.rounds)
    result["load_average_after"] = os.getloadavg()
    result["runs"] = runs
    result["compile_gain"] = {name: runs[f"{name}_compiled"]["tokens_per_s"] / runs[f"{name}_eager"]["tokens_per_s"]
                              for name in ("pycodesmall", "transformers")}
    result["pycodesmall_vs_transformers"] = {
        mode: runs[f"pycodesmall_{mode}"]["tokens_per_s"] / runs[f"transformers_{mode}"]["tokens_per_s"]
        for mode in ("eager", "compiled")}
    result["reference_tokens_per_s"] = REFERENCE
    result["note"] = ("One run on a shared 2-core build machine: other sessions' jobs change the "
                      "speed from minute to minute (see the load averages and the per-round rates); "
                      "the variants take turns so that the ratios suffer less than the absolute rates.")
    result["wall_time_s"] = time.time() - t_start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("compile_gain", "pycodesmall_vs_transformers")}, indent=2))


if __name__ == "__main__":
    main()
