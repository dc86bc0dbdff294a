"""Releasing a finished run: half-precision weights, a record, and a card made from it."""

import json

import pytest
from click.testing import CliRunner
from training_fixtures import TEST_CONFIG

import pycodesmall
from pycodesmall.api import DEFAULT_REPETITION_PENALTY
from pycodesmall.training.release import SAMPLE_PROMPTS, card_command, release_command
from pycodesmall.training.train import train
from pycodesmall.training.train_config import load_config


@pytest.mark.filterwarnings("ignore:.*prompt\\(s\\) cut")  # the test model's context is only 64 tokens
def test_release_writes_weights_record_and_card(data_overrides, tmp_path):
    run_dir = tmp_path / "run"
    summary = train(load_config(TEST_CONFIG, [*data_overrides, f"output.dir={run_dir}",
                                              "train.max_steps=4", "eval.interval=4"]))
    out, results, cards = tmp_path / "released", tmp_path / "results", tmp_path / "cards"
    result = CliRunner().invoke(release_command, [
        "--run", str(run_dir), "--name", "unit-model", "--out", str(out), "--results", str(results),
        "--cards", str(cards), "--corpus-report", str(tmp_path / "absent.json")])
    assert result.exit_code == 0, result.output

    record = json.loads((results / "unit-model" / "release.json").read_text())
    assert record["training"]["val_bpb_approx"] == summary["val_bpb_approx"]
    assert record["training"]["precision"] == summary["precision"]
    assert record["training"]["tokens"] == summary["tokens"]
    assert [s["prompt"] for s in record["samples"]] == SAMPLE_PROMPTS
    assert record["files"]["model.safetensors"]["bytes"] == (out / "model.safetensors").stat().st_size

    released = pycodesmall.load(str(out), device="cpu")
    assert next(released.module.parameters()).dtype.is_floating_point
    card = (cards / "unit-model.md").read_text()
    assert card.startswith("---\nlicense: apache-2.0")
    assert f"approximation, random windows) | {summary['val_bpb_approx']:.4f} |" in card
    assert record["sampling"] == {"temperature": 0.0, "repetition_penalty": DEFAULT_REPETITION_PENALTY}
    assert f"greedy with repetition penalty {DEFAULT_REPETITION_PENALTY}, unedited" in card
    assert record["samples"][0]["completion"] in card

    (cards / "unit-model.md").unlink()
    rerender = CliRunner().invoke(card_command, ["--name", "unit-model", "--results", str(results),
                                                 "--cards", str(cards)])
    assert rerender.exit_code == 0 and (cards / "unit-model.md").read_text() == card
