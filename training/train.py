"""`pycodesmall-train train`: the training loop, one linear program in the spirit of nanoGPT.

    pycodesmall-train train --config training/configs/tiny.toml [--resume] [section.key=value ...]
    torchrun --standalone --nproc_per_node 2 -m pycodesmall.training.train --config ...

Writes to `output.dir`: `metrics.jsonl` (a start record with config, hash, commit and
hardware; training and validation metrics; an end record with the wall time),
`checkpoint.pt` (the latest, for `--resume`), `step_XXXXXX.pt` when `checkpoint.keep_every`
is set (starting points for WSD cooldowns via `train.init_from`), `model/` (the final model
as a pretrained directory) and `run.json` (the summary).

`--resume` starts from the newest intact checkpoint: `checkpoint.pt`, or when that is
missing or fails its checks (`pycodesmall.training.checkpoint`) the kept `step_*.pt`, newest
first, saying which it took and why. A run that crashed after its final checkpoint but
before the export resumes into the export. A non-finite loss or gradient norm stops the
run before any checkpoint holds the diverged state.

Two ways to continue from a checkpoint. `--resume` continues the same run in its own
`output.dir` and must keep its schedule (`train.max_steps`, `[schedule]`); a *branch*
(`train.init_from`, a new `output.dir`) may change the schedule ahead, such as a WSD
cooldown from a stable-phase checkpoint, as long as it agrees with the parent on the steps
before the checkpoint. Either may change how the steps execute (device, precision, compile).

`train.grad_accum` counts micro-batches per step over all processes, so a config trains on
the same global batch, with the same rows, whatever the number of processes.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path

import click
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pycodesmall.errors import ConfigError, PycodesmallError
from pycodesmall.model import Transformer
from pycodesmall.pretrained import CodeModel
from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.training import distributed
from pycodesmall.training.checkpoint import (CheckpointError, check_compatible, load_checkpoint,
                                             restore_rng_states, rng_states, save_checkpoint)
from pycodesmall.training.data_loader import Batches, Split, check_tokenizer, load_split
from pycodesmall.training.metrics_log import MetricsLog
from pycodesmall.training.objectives import IGNORE_INDEX, build_objective
from pycodesmall.training.precision import autocast, resolve_precision
from pycodesmall.training.provenance import provenance
from pycodesmall.training.schedule import check_branch, learning_rate
from pycodesmall.training.train_config import ScheduleSection, TrainConfig, load_config

__all__ = ["train", "train_command", "train_step", "configure_optimizer", "loss_fn",
           "approx_bits_per_byte", "DivergedError"]


class DivergedError(PycodesmallError):
    """The loss or the gradient norm became nan or inf: training cannot go on from there."""


def configure_optimizer(model: Transformer, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices and embeddings only (not on norm gains)."""
    params = [p for p in model.parameters() if p.requires_grad]  # tied weights appear once
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.optimizer.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.optimizer.lr, betas=(cfg.optimizer.beta1, cfg.optimizer.beta2),
                             eps=cfg.optimizer.eps)


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # logits (B, T, V), targets (B, T); mean over the targets that count
    return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=IGNORE_INDEX)


def approx_bits_per_byte(loss: float, split: Split) -> float:
    """An approximation of bits per byte for the training log: a mean loss per token (nats)
    on random windows of `split`, spread over the split's mean bytes per token.

    Only an approximation: windows start mid-file without the context before them, and
    their tokens need not have the split's mean bytes per token. The held-out figure is
    `pycodesmall.bits_per_byte` (whole files), which the evaluation reports."""
    return loss / (math.log(2) * split.bytes_per_token)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batches: Batches, step: int,
               lr: float, cfg: TrainConfig, ctx: distributed.Distributed,
               precision: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One optimizer step at learning rate `lr`: this process's micro-batches of `step`,
    their gradients accumulated (DDP syncs on the last), clipped and applied.

    `model` is what runs forward: the module, compiled or not, possibly DDP-wrapped.
    Returns this process's mean loss and the gradient norm before clipping (None without
    clipping) as tensors, so the caller decides when to wait for them. The throughput
    benchmark times this function."""
    accum = cfg.train.grad_accum // ctx.world_size  # micro-batches per process and step
    for group in optimizer.param_groups:
        group["lr"] = lr
    step_loss = torch.zeros((), device=ctx.device)
    for micro in range(accum):
        x, y = (t.to(ctx.device, non_blocking=True)
                for t in batches.micro_batch(step, ctx.rank * accum + micro))
        sync = micro == accum - 1 or not ctx.enabled
        with (contextlib.nullcontext() if sync else model.no_sync()), autocast(precision, ctx.device):
            loss = loss_fn(model(x), y) / accum
        loss.backward()
        step_loss += loss.detach()
    grad_norm = (torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optimizer.grad_clip)
                 if cfg.optimizer.grad_clip > 0 else None)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return step_loss, grad_norm


@torch.no_grad()
def evaluate(model, batches: Batches, num_batches: int, ctx: distributed.Distributed, precision: str) -> float:
    """Mean validation loss (nats per token) over the same `num_batches` micro-batches every
    time; the processes share them out and sum."""
    model.eval()
    totals = torch.zeros(2, device=ctx.device)  # loss sum, batches
    for index in range(ctx.rank, num_batches, ctx.world_size):
        x, y = (t.to(ctx.device) for t in batches.micro_batch(0, index))
        with autocast(precision, ctx.device):
            totals[0] += loss_fn(model(x), y).float()
        totals[1] += 1
    distributed.all_reduce_sum(totals, ctx)
    model.train()
    return (totals[0] / totals[1]).item()


def train(cfg: TrainConfig, resume: bool = False, pause_at: int | None = None,
          label: str | None = None) -> dict:
    """Run the training described by `cfg`; returns the summary written to run.json.

    `pause_at`: stop after that step, which must come before `train.max_steps`, with
    `checkpoint.pt` and a kept `step_XXXXXX.pt` saved there (a point to branch a cooldown
    from), and return the summary so far with "paused" set; `--resume` goes on from there
    on the same schedule. `label` names the run on the progress bar."""
    if pause_at is not None and not 0 < pause_at < cfg.train.max_steps:
        raise ConfigError(f"pause_at {pause_at} must lie between 0 and train.max_steps {cfg.train.max_steps}")
    ctx = distributed.setup(cfg.train.device)
    with contextlib.ExitStack() as on_exit:  # also after an error: close the log, leave the group
        on_exit.callback(distributed.cleanup, ctx)
        summary = _train(cfg, resume, ctx, on_exit, pause_at, label)
        distributed.wait_for_all(ctx)  # only after a finished run: after an error, others may never arrive
        return summary


def _train(cfg: TrainConfig, resume: bool, ctx: distributed.Distributed, on_exit: contextlib.ExitStack,
           pause_at: int | None = None, label: str | None = None) -> dict:
    t_start = time.time()
    if cfg.train.grad_accum % ctx.world_size:
        raise ConfigError(f"train.grad_accum {cfg.train.grad_accum} must be a multiple of the "
                          f"number of processes {ctx.world_size}")
    out_dir = Path(cfg.output.dir)
    earlier = _checkpoints(out_dir)
    if not resume and earlier:
        raise CheckpointError(f"{out_dir} holds the checkpoint of an earlier run ({earlier[0].name}): "
                              "--resume continues it; a new run or a branch (train.init_from) needs an "
                              "output.dir of its own")
    out_dir.mkdir(parents=True, exist_ok=True)
    record = provenance(cfg.to_dict())
    record["world_size"] = ctx.world_size

    # --- data and model --------------------------------------------------------------------
    tokenizer = PythonTokenizer.from_file(cfg.data.tokenizer)
    train_split, val_split = load_split(cfg.data.shards, "train"), load_split(cfg.data.shards, "val")
    check_tokenizer(cfg.data.shards, cfg.data.tokenizer, tokenizer.vocab_size, [train_split, val_split])
    block, batch = cfg.model.block_size, cfg.train.batch_size
    train_batches = Batches(train_split, "train", block, batch, cfg.train.seed,
                            build_objective(cfg.objective, tokenizer))
    val_batches = Batches(val_split, "val", block, batch, cfg.train.seed)  # plain next-token, for bpb

    model_config = cfg.model_config(tokenizer.vocab_size)
    model_config.eos_token_id, model_config.pad_token_id = tokenizer.eot_id, tokenizer.pad_id
    torch.manual_seed(cfg.train.seed)
    model = Transformer(model_config).to(ctx.device)
    model.gradient_checkpointing = cfg.train.gradient_checkpointing
    optimizer = configure_optimizer(model, cfg)
    record["model_config"] = model_config.to_hf_dict()
    record["parameters"] = model.num_parameters()

    # --- where to start --------------------------------------------------------------------
    step, elapsed_before, skipped = 0, 0.0, []
    if resume:
        start_from, checkpoint, skipped = _newest_intact(out_dir)
        if skipped and ctx.is_main:
            click.echo(f"resuming from {start_from.name} (step {checkpoint['step']}): "
                       + "; ".join(skipped), err=True)
    elif cfg.train.init_from:
        start_from = Path(cfg.train.init_from)
        checkpoint = load_checkpoint(start_from)
    else:
        start_from = None
    if start_from is not None:
        check_compatible(checkpoint, cfg.to_dict(), start_from, branch=not resume)
        step = checkpoint["step"]
        if not resume:
            parent = checkpoint["config"]
            check_branch(ScheduleSection(**parent["schedule"]), parent["train"]["max_steps"], cfg.schedule,
                         cfg.train.max_steps, cfg.optimizer.lr, step)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        restore_rng_states(checkpoint["rng"])
        elapsed_before = checkpoint["elapsed_s"] if resume else 0.0
        record["started_from"] = {"checkpoint": str(start_from), "step": step, "resume": resume,
                                  "precision": checkpoint["precision"]}
        if skipped:
            record["started_from"]["skipped"] = skipped
        del checkpoint
    if resume and step == cfg.train.max_steps and (out_dir / "run.json").exists():
        raise CheckpointError(f"the run in {out_dir} is already finished (step {step} of "
                              f"train.max_steps {cfg.train.max_steps}, run.json written)")
    if step > cfg.train.max_steps or (step == cfg.train.max_steps and not resume):
        raise CheckpointError(f"the run is already at step {step} of train.max_steps {cfg.train.max_steps}")
    if pause_at is not None and step >= pause_at:
        raise CheckpointError(f"the run is already at step {step}, past pause_at {pause_at}")
    stop = cfg.train.max_steps if pause_at is None else pause_at

    raw_model = model
    if cfg.train.compile:
        model = torch.compile(model)
    # Validation runs on `model`: DDP's forward may communicate, and ranks evaluate unequal shares.
    ddp_model = (DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
                 if ctx.enabled else model)
    precision = resolve_precision(cfg.train.precision, ctx.device)
    started_in = record.get("started_from", {}).get("precision")
    if cfg.train.precision == "auto" and started_in not in (None, precision):
        # A study names runs by their config, "auto" included: going on silently would mix
        # two precisions under one name.
        raise ConfigError(f"{start_from} was trained in {started_in}, but train.precision \"auto\" is "
                          f"{precision} on this {ctx.device.type}; set train.precision = \"{started_in}\" "
                          f"to go on as it started (or \"{precision}\" to switch knowingly)")
    record["precision"] = precision

    log = on_exit.enter_context(MetricsLog(out_dir, resume_step=step if resume else None)) if ctx.is_main else None
    if log:
        log.write({"event": "start", **record})
    tokens_per_step = batch * cfg.train.grad_accum * block
    progress = tqdm(total=stop, initial=step, disable=not ctx.is_main, unit="step", desc=label,
                    dynamic_ncols=True)
    val_loss = None

    # --- the loop --------------------------------------------------------------------------
    model.train()
    busy_s, tokens_since_log = 0.0, 0  # time in training steps only, not validation or saving
    # Set on the device, so that checking each step's loss costs no synchronisation; read at
    # every log and save, and before a checkpoint could take in the diverged state.
    non_finite = torch.zeros((), dtype=torch.bool, device=ctx.device)
    checked_step = step
    while step < stop:
        t_step = time.time()
        lr = learning_rate(step, cfg.optimizer.lr, cfg.schedule, cfg.train.max_steps)
        step_loss, grad_norm = train_step(ddp_model, optimizer, train_batches, step, lr, cfg, ctx, precision)
        step += 1
        non_finite |= ~torch.isfinite(step_loss)
        if grad_norm is not None:
            non_finite |= ~torch.isfinite(grad_norm)
        busy_s += time.time() - t_step
        tokens_since_log += tokens_per_step
        progress.update(1)

        log_now = step % cfg.output.log_interval == 0 or step == cfg.train.max_steps
        save_now = step % cfg.checkpoint.interval == 0 or step == stop
        keep_now = (cfg.checkpoint.keep_every and step % cfg.checkpoint.keep_every == 0) or step == pause_at
        if log_now or save_now or keep_now:
            _stop_if_diverged(non_finite, checked_step, step, ctx)
            checked_step = step

        if log_now:
            loss_value = distributed.all_reduce_sum(step_loss, ctx).item() / ctx.world_size
            tokens_per_s = tokens_since_log / busy_s
            busy_s, tokens_since_log = 0.0, 0
            progress.set_postfix(loss=f"{loss_value:.3f}", tok_s=f"{tokens_per_s:.0f}", lr=f"{lr:.2e}")
            if log:
                log.write({"step": step, "loss": loss_value, "lr": lr, "tokens": step * tokens_per_step,
                           "tokens_per_s": tokens_per_s,
                           "grad_norm": None if grad_norm is None else grad_norm.item(),
                           "elapsed_s": elapsed_before + time.time() - t_start})

        if step % cfg.eval.interval == 0 or step == stop:
            val_loss = evaluate(model, val_batches, cfg.eval.batches, ctx, precision)
            val_bpb_approx = approx_bits_per_byte(val_loss, val_split)
            if log:
                log.write({"step": step, "val_loss": val_loss, "val_bpb_approx": val_bpb_approx})
            if ctx.is_main:
                progress.write(f"step {step}: val loss {val_loss:.4f}, val bpb (approx.) {val_bpb_approx:.4f}")

        if ctx.is_main and (save_now or keep_now):
            checkpoint = {"model": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
                          "step": step, "config": cfg.to_dict(), "precision": precision, "rng": rng_states(),
                          "elapsed_s": elapsed_before + time.time() - t_start}
            save_checkpoint(out_dir / "checkpoint.pt", checkpoint)
            if keep_now:
                save_checkpoint(out_dir / f"step_{step:06d}.pt", checkpoint)
    progress.close()

    # --- the result ------------------------------------------------------------------------
    wall = elapsed_before + time.time() - t_start
    if step == pause_at:
        if log:
            log.write({"event": "pause", "step": step, "wall_time_s": wall})
        return {**record, "steps": step, "tokens": step * tokens_per_step, "val_loss": val_loss,
                "wall_time_s": wall, "paused": True}
    if val_loss is None:  # resumed at the last step: the crash came between the final checkpoint and
        # the export, after the final validation was logged; its value comes back from the same weights
        val_loss = evaluate(model, val_batches, cfg.eval.batches, ctx, precision)
    summary = {**record, "steps": step, "tokens": step * tokens_per_step, "val_loss": val_loss,
               "val_bpb_approx": approx_bits_per_byte(val_loss, val_split), "wall_time_s": wall}
    if ctx.is_main:
        summary["model_dir"] = str(CodeModel(raw_model, tokenizer, device="cpu").save_pretrained(out_dir / "model"))
        (out_dir / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
        log.write({"event": "end", "step": step, "wall_time_s": wall})
    return summary


def _checkpoints(out_dir: Path) -> list[Path]:
    """The checkpoints in a run's directory, newest first: checkpoint.pt, then the kept ones."""
    kept = sorted((p for p in out_dir.glob("step_*.pt") if p.stem[5:].isdigit()),
                  key=lambda p: int(p.stem[5:]), reverse=True)
    latest = out_dir / "checkpoint.pt"
    return ([latest] if latest.exists() else []) + kept


def _newest_intact(out_dir: Path) -> tuple[Path, dict, list[str]]:
    """The newest checkpoint of `out_dir` that loads and passes its checks, and why each newer
    one was passed over."""
    latest = out_dir / "checkpoint.pt"
    candidates = _checkpoints(out_dir)
    if not candidates:
        raise CheckpointError(f"no checkpoint at {latest}")
    skipped = [] if candidates[0] == latest else [f"{latest} is missing"]
    for path in candidates:
        try:
            return path, load_checkpoint(path), skipped
        except CheckpointError as e:
            skipped.append(str(e))
    if len(candidates) == 1 and not skipped[:-1]:
        raise CheckpointError(skipped[0])
    raise CheckpointError(f"no intact checkpoint in {out_dir} to resume from: " + "; ".join(skipped))


def _stop_if_diverged(non_finite: torch.Tensor, checked_step: int, step: int,
                      ctx: distributed.Distributed) -> None:
    """Raise `DivergedError` on every process when any saw a non-finite loss or gradient norm
    in the steps after `checked_step` up to `step`."""
    flag = non_finite.float()
    distributed.all_reduce_sum(flag, ctx)
    if flag.item() == 0:
        return
    when = f"at step {step}" if step == checked_step + 1 else f"between step {checked_step + 1} and step {step}"
    raise DivergedError(f"training diverged: the loss became non-finite (nan or inf) {when}; "
                        f"no checkpoint after step {checked_step} was written. Train again with a lower "
                        "optimizer.lr, a smaller optimizer.grad_clip or another train.precision")


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="TOML training config, e.g. training/configs/tiny.toml.")
@click.option("--resume", is_flag=True,
              help="Continue exactly from the newest intact checkpoint in output.dir.")
@click.argument("overrides", nargs=-1)
def train_command(config_path: str, resume: bool, overrides: tuple[str, ...]) -> None:
    """Train a model from a TOML config; OVERRIDES are section.key=value pairs."""
    try:
        train(load_config(config_path, list(overrides)), resume=resume)
    except PycodesmallError as e:
        raise click.ClickException(str(e)) from None


if __name__ == "__main__":  # torchrun -m pycodesmall.training.train --config ...
    train_command()
