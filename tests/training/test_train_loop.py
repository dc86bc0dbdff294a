import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file
from training_fixtures import TEST_CONFIG, flip_a_bit_in_the_largest_tensor

from pycodesmall.config import ModelConfig
from pycodesmall.errors import ConfigError
from pycodesmall.model import Transformer
from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.training import train as train_module
from pycodesmall.training.checkpoint import CheckpointError, load_checkpoint
from pycodesmall.training.precision import resolve_precision
from pycodesmall.training.train import train, train_command
from pycodesmall.training.train_config import load_config


def run(data_overrides, out_dir, *overrides, resume=False):
    config = load_config(TEST_CONFIG, [*data_overrides, f"output.dir={out_dir}", *overrides])
    return train(config, resume=resume)


def metrics(out_dir, key):
    """{step: value} of one metric from metrics.jsonl, where no step may appear twice."""
    lines = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    pairs = [(line["step"], line[key]) for line in lines if key in line]
    assert len({step for step, _ in pairs}) == len(pairs), f"a step logged twice: {pairs}"
    return dict(pairs)


class Interrupted(Exception):
    pass


def interrupt_at(monkeypatch, at_step):
    """Make the training loop fail when it reaches step index `at_step`, like a killed run."""
    real_step = train_module.train_step

    def train_step(model, optimizer, batches, step, *args):
        if step == at_step:
            raise Interrupted
        return real_step(model, optimizer, batches, step, *args)
    monkeypatch.setattr(train_module, "train_step", train_step)


def test_end_to_end_loss_drops_and_model_exports(data_overrides, tmp_path):
    summary = run(data_overrides, tmp_path / "run")  # 30 steps with FIM
    losses = metrics(tmp_path / "run", "loss")
    assert len(losses) == 30
    assert sum(list(losses.values())[-5:]) / 5 < losses[1] - 0.5
    val = metrics(tmp_path / "run", "val_bpb_approx")
    assert list(val) == [10, 20, 30] and val[30] < val[10]
    assert summary["val_bpb_approx"] == val[30] and summary["tokens"] == 30 * 4 * 2 * 64
    for key in ("config", "config_sha256", "git_commit", "hardware", "wall_time_s"):
        assert key in summary
    assert summary["precision"] == resolve_precision("auto", torch.device("cpu"))

    model_dir = tmp_path / "run" / "model"
    config = ModelConfig.from_file(model_dir)
    model = Transformer(config)
    weights = load_file(str(model_dir / "model.safetensors"))
    assert "lm_head.weight" not in weights  # tied to the embedding
    model.load_state_dict(weights, strict=False)
    tokenizer = PythonTokenizer.from_file(model_dir)
    assert config.vocab_size == tokenizer.vocab_size and config.eos_token_id == tokenizer.eot_id
    checkpoint = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert torch.equal(checkpoint["model"]["model.norm.weight"], model.model.norm.weight)
    assert checkpoint["precision"] == summary["precision"] and set(checkpoint) == {
        "model", "optimizer", "step", "config", "precision", "rng", "elapsed_s", "sha256"}


def test_resume_after_an_interruption_continues_exactly(data_overrides, tmp_path, monkeypatch):
    common = ["train.max_steps=8", "eval.interval=2", "checkpoint.interval=4"]
    run(data_overrides, tmp_path / "straight", *common)
    with monkeypatch.context() as patch:
        interrupt_at(patch, 6)  # steps 5 and 6 are logged after the checkpoint of step 4
        with pytest.raises(Interrupted):
            run(data_overrides, tmp_path / "resumed", *common)
    assert max(metrics(tmp_path / "resumed", "loss")) == 6
    run(data_overrides, tmp_path / "resumed", *common, resume=True)
    straight, resumed = metrics(tmp_path / "straight", "loss"), metrics(tmp_path / "resumed", "loss")
    assert list(resumed) == list(range(1, 9))  # each step once (`metrics` checks)
    assert resumed == pytest.approx(straight, rel=1e-6)
    assert metrics(tmp_path / "resumed", "val_loss") == pytest.approx(
        metrics(tmp_path / "straight", "val_loss"), rel=1e-6)
    starts = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()
              if '"event": "start"' in line]
    assert len(starts) == 2 and starts[1]["started_from"]["step"] == 4 and starts[1]["started_from"]["resume"]


def test_a_paused_run_keeps_a_checkpoint_and_resumes_as_if_never_paused(data_overrides, tmp_path):
    common = ["train.max_steps=8", "eval.interval=2", "checkpoint.interval=4"]
    run(data_overrides, tmp_path / "straight", *common)
    config = load_config(TEST_CONFIG, [*data_overrides, f"output.dir={tmp_path / 'paused'}", *common])
    paused = train(config, pause_at=5)
    assert paused["paused"] and paused["steps"] == 5
    assert (tmp_path / "paused" / "step_000005.pt").exists() and not (tmp_path / "paused" / "run.json").exists()
    train(config, resume=True)
    assert metrics(tmp_path / "paused", "loss") == pytest.approx(metrics(tmp_path / "straight", "loss"), rel=1e-6)
    with pytest.raises(ConfigError, match="pause_at 8 must lie between"):
        train(config, pause_at=8)


def test_auto_precision_never_continues_a_run_in_another_precision(data_overrides, tmp_path, monkeypatch):
    common = ["train.max_steps=8", "checkpoint.interval=4"]
    paused = load_config(TEST_CONFIG, [*data_overrides, f"output.dir={tmp_path}", *common, "train.precision=bf16"])
    train(paused, pause_at=4)
    # The same study run (precision "auto") continued on a CPU without native bf16.
    monkeypatch.setattr(train_module, "resolve_precision", lambda wanted, device: "fp32" if wanted == "auto" else wanted)
    with pytest.raises(ConfigError, match=r'trained in bf16, but train.precision "auto" is fp32 .*'
                                          r'train.precision = "bf16"'):
        run(data_overrides, tmp_path, *common, "train.precision=auto", resume=True)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 4  # nothing lost
    assert run(data_overrides, tmp_path, *common, "train.precision=bf16", resume=True)["precision"] == "bf16"


@pytest.mark.parametrize("change", ["train.max_steps=12", "schedule.decay_fraction=0.5",
                                    "schedule.decay_start=5", "schedule.min_lr_ratio=0.1",
                                    "schedule.kind=cosine"])
def test_a_resume_that_changes_the_schedule_is_refused(data_overrides, tmp_path, monkeypatch, change):
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        interrupt_at(patch, 5)
        with pytest.raises(Interrupted):
            run(data_overrides, out, "train.max_steps=8", "checkpoint.interval=4")
    with pytest.raises(ConfigError, match=rf"{change.split('=')[0]}: checkpoint .*a resume continues "
                                          r"the same run on the same schedule.*train\.init_from="):
        run(data_overrides, out, "train.max_steps=8", "checkpoint.interval=4", change, resume=True)


def test_cooldown_branched_from_a_kept_checkpoint(data_overrides, tmp_path):
    run(data_overrides, tmp_path / "long", "train.max_steps=10", "checkpoint.keep_every=6")  # decays from 7
    kept = tmp_path / "long" / "step_000006.pt"
    summary = run(data_overrides, tmp_path / "cooldown", f"train.init_from={kept}",
                  "schedule.decay_start=6", "train.max_steps=8")
    assert summary["started_from"]["step"] == 6 and not summary["started_from"]["resume"]
    assert summary["steps"] == 8
    lrs = metrics(tmp_path / "cooldown", "lr")  # logged after the step: lrs[7] is step 6's
    assert list(lrs) == [7, 8] and lrs == pytest.approx({7: 1e-2 * 2 / 3, 8: 1e-2 / 3})

    with pytest.raises(ConfigError, match=r"on step 5, .*schedule\.decay_start 6 or later"):
        run(data_overrides, tmp_path / "early", f"train.init_from={kept}", "schedule.decay_start=5",
            "train.max_steps=8")
    with pytest.raises(CheckpointError, match="holds the checkpoint of an earlier run"):
        run(data_overrides, tmp_path / "long", f"train.init_from={kept}", "schedule.decay_start=6",
            "train.max_steps=8")


def test_bf16_trains_close_to_fp32(data_overrides, tmp_path):
    fp32 = run(data_overrides, tmp_path / "fp32", "train.max_steps=3", "train.precision=fp32")
    bf16 = run(data_overrides, tmp_path / "bf16", "train.max_steps=3", "train.precision=bf16")
    assert (fp32["precision"], bf16["precision"]) == ("fp32", "bf16")
    fp32_losses, bf16_losses = metrics(tmp_path / "fp32", "loss"), metrics(tmp_path / "bf16", "loss")
    assert bf16_losses != fp32_losses  # the products did run in bf16
    assert bf16_losses == pytest.approx(fp32_losses, rel=2e-2)
    weights = torch.load(tmp_path / "bf16" / "checkpoint.pt", weights_only=True)["model"]
    assert all(w.dtype == torch.float32 for w in weights.values())  # master weights stay fp32


def test_checkpoint_from_another_config_is_refused(data_overrides, tmp_path):
    out = tmp_path / "run"
    run(data_overrides, out, "train.max_steps=2")
    args = ["--config", str(TEST_CONFIG), "--resume", *data_overrides, f"output.dir={out}",
            "train.max_steps=4", "model.hidden_size=32"]
    result = CliRunner().invoke(train_command, args)
    assert result.exit_code == 1
    assert "different config" in result.output and "model.hidden_size: checkpoint 64, config 32" in result.output

    (out / "checkpoint.pt").write_bytes((out / "checkpoint.pt").read_bytes()[:1000])
    result = CliRunner().invoke(train_command, args[:-1])
    assert result.exit_code == 1 and "cannot read checkpoint" in result.output


def test_unknown_config_key_fails_before_training(data_overrides, tmp_path):
    result = CliRunner().invoke(train_command, ["--config", str(TEST_CONFIG), *data_overrides,
                                                f"output.dir={tmp_path}", "train.learning_rate=1"])
    assert result.exit_code == 1 and "unknown key(s) train.learning_rate" in result.output
    assert not (tmp_path / "metrics.jsonl").exists()


def test_ddp_matches_single_process(data_overrides, tmp_path):
    common = [*data_overrides, "train.max_steps=4", "eval.interval=2", "train.device=cpu"]
    run(data_overrides, tmp_path / "single", *common[2:])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # The console script, not `-m pycodesmall.training.train`: from the repository root `-m`
    # would find the source folder `pycodesmall/`, which lacks the mapped-in `training`.
    train_script = str(Path(sys.executable).with_name("pycodesmall-train"))
    launch = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                             "--nproc_per_node", "2", train_script, "train", "--config", str(TEST_CONFIG),
                             *common, f"output.dir={tmp_path / 'ddp'}"],
                            env=env, timeout=300, capture_output=True, text=True)
    assert launch.returncode == 0, launch.stderr[-4000:]
    single, ddp = metrics(tmp_path / "single", "loss"), metrics(tmp_path / "ddp", "loss")
    assert list(ddp) == [1, 2, 3, 4]
    assert ddp == pytest.approx(single, rel=1e-4)
    assert metrics(tmp_path / "ddp", "val_loss") == pytest.approx(metrics(tmp_path / "single", "val_loss"),
                                                                  rel=1e-4)
    start = json.loads((tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()[0])
    assert start["world_size"] == 2


# --- hardening (issue 16): checkpoints that cannot be trusted, runs that diverge ----------


def poison_at(monkeypatch, at_step):
    """Make step index `at_step` diverge: NaN weights and a NaN loss, as a blown-up step gives."""
    real_step = train_module.train_step

    def train_step(model, optimizer, batches, step, *args):
        loss, grad_norm = real_step(model, optimizer, batches, step, *args)
        if step == at_step:
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))
            loss = torch.full_like(loss, float("nan"))
        return loss, grad_norm
    monkeypatch.setattr(train_module, "train_step", train_step)


@pytest.mark.parametrize("log_interval, message", [
    (1, r"at step 6\b"),
    (4, r"between step 5 and step 6\b"),  # caught at the save of step 6, before it is written
])
def test_a_non_finite_loss_stops_training_before_a_checkpoint_holds_it(
        data_overrides, tmp_path, monkeypatch, log_interval, message):
    poison_at(monkeypatch, 5)  # the 6th step
    out = tmp_path / "run"
    args = ["--config", str(TEST_CONFIG), *data_overrides, f"output.dir={out}", "train.max_steps=8",
            "checkpoint.interval=2", f"output.log_interval={log_interval}"]
    result = CliRunner().invoke(train_command, args)
    assert result.exit_code == 1, result.output
    assert re.search(rf"training diverged: the loss became non-finite \(nan or inf\) {message}", result.output)
    assert "Traceback" not in result.output
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 4  # intact and finite


@pytest.mark.parametrize("damage", ["missing", "corrupted"])
def test_resume_falls_back_to_the_newest_intact_checkpoint_and_says_so(
        data_overrides, tmp_path, monkeypatch, capsys, damage):
    common = ["train.max_steps=8", "eval.interval=2", "checkpoint.interval=2", "checkpoint.keep_every=2"]
    run(data_overrides, tmp_path / "straight", *common)
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        interrupt_at(patch, 6)  # checkpoint.pt and step_000006.pt hold step 6
        with pytest.raises(Interrupted):
            run(data_overrides, out, *common)
    if damage == "missing":
        (out / "checkpoint.pt").unlink()
        expected, reason = 6, "checkpoint.pt is missing"
    else:
        flip_a_bit_in_the_largest_tensor(out / "checkpoint.pt")
        (out / "step_000006.pt").write_bytes(b"")
        expected, reason = 4, "is corrupted"
    with pytest.raises(CheckpointError, match="holds the checkpoint"):
        run(data_overrides, out, *common)  # a new run may not overwrite them
    capsys.readouterr()
    summary = run(data_overrides, out, *common, resume=True)
    said = capsys.readouterr().err
    assert f"resuming from step_{expected:06d}.pt (step {expected})" in said and reason in said
    assert summary["started_from"]["step"] == expected and summary["started_from"]["skipped"]
    assert metrics(out, "loss") == pytest.approx(metrics(tmp_path / "straight", "loss"), rel=1e-6)


def test_resume_finishes_the_export_after_a_crash_past_the_final_checkpoint(data_overrides, tmp_path,
                                                                           monkeypatch):
    out = tmp_path / "run"
    common = ["train.max_steps=4", "eval.interval=2"]

    class CrashOnExport:
        def __init__(self, *args, **kwargs):
            raise Interrupted
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "CodeModel", CrashOnExport)
        with pytest.raises(Interrupted):
            run(data_overrides, out, *common)
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 4 and not (out / "run.json").exists()
    summary = run(data_overrides, out, *common, resume=True)
    assert summary["steps"] == 4 and (out / "model" / "model.safetensors").exists()
    assert json.loads((out / "run.json").read_text())["val_loss"] == pytest.approx(metrics(out, "val_loss")[4])
    events = [json.loads(line).get("event") for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert events.count("end") == 1 and events.count("start") == 2
    with pytest.raises(CheckpointError, match="already finished"):
        run(data_overrides, out, *common, resume=True)


@pytest.mark.parametrize("content, message", [
    ("other-shape", "not a training checkpoint: it lacks"),
    (b"", r"is empty \(0 bytes\)"),
])
def test_unusable_checkpoints_are_one_line_errors(data_overrides, tmp_path, content, message):
    out = tmp_path / "run"
    run(data_overrides, out, "train.max_steps=2")
    if content == "other-shape":
        torch.save({"state_dict": {"w": torch.zeros(2)}}, out / "checkpoint.pt")
    else:
        (out / "checkpoint.pt").write_bytes(content)
    result = CliRunner().invoke(train_command, ["--config", str(TEST_CONFIG), "--resume", *data_overrides,
                                                f"output.dir={out}", "train.max_steps=2"])
    assert result.exit_code == 1 and re.search(message, result.output), result.output
    assert "Traceback" not in result.output and "KeyError" not in result.output


def test_a_resume_skips_a_metrics_line_cut_short_by_a_kill(tmp_path):
    from pycodesmall.training.metrics_log import MetricsLog
    (tmp_path / "metrics.jsonl").write_text('{"event": "start"}\n{"step": 1, "loss": 2.0}\n{"step": 2, "lo')
    with MetricsLog(tmp_path, resume_step=1) as log:
        log.write({"step": 2, "loss": 1.5})
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == [{"event": "start"}, {"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]
