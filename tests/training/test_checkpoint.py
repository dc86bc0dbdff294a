"""Checkpoint files: every way one can be broken is a one-line CheckpointError, never a
KeyError, an empty reason or a silent resume from corrupted state."""

import pytest
import torch
from training_fixtures import flip_a_bit_in_the_largest_tensor

from pycodesmall.training.checkpoint import (CheckpointError, checkpoint_digest, load_checkpoint,
                                             save_checkpoint)


def a_checkpoint(step=3):
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 4)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.randn(2, 8)).sum().backward()
    optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
            "config": {"train": {"max_steps": 10}}, "precision": "fp32",
            "rng": {"python": (3, tuple(range(5)), None), "torch": torch.get_rng_state()},
            "elapsed_s": 1.5}


def test_a_checkpoint_reads_back_verified(tmp_path):
    saved = a_checkpoint()
    save_checkpoint(tmp_path / "c.pt", saved)
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert set(loaded) == set(saved) and loaded["step"] == 3
    assert torch.equal(loaded["model"]["weight"], saved["model"]["weight"])
    raw = torch.load(tmp_path / "c.pt", weights_only=True)
    assert raw["sha256"] == checkpoint_digest(saved)


def test_a_flipped_bit_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, a_checkpoint())
    flip_a_bit_in_the_largest_tensor(path)
    torch.load(path, weights_only=True)  # torch itself reads it without complaint
    with pytest.raises(CheckpointError, match="is corrupted: its contents do not match the sha256"):
        load_checkpoint(path)


def test_an_edited_value_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, a_checkpoint())
    raw = torch.load(path, weights_only=True)
    raw["step"] = 4
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="is corrupted"):
        load_checkpoint(path)


@pytest.mark.parametrize("where", ["model", "optimizer"])
def test_non_finite_state_is_refused_even_with_a_valid_checksum(tmp_path, where):
    checkpoint = a_checkpoint()
    if where == "model":
        checkpoint["model"]["weight"][1, 2] = float("nan")
    else:
        checkpoint["optimizer"]["state"][0]["exp_avg"][0, 0] = float("inf")
    torch.save({**checkpoint, "sha256": checkpoint_digest(checkpoint)}, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match=rf"holds non-finite values \(1 of 32 in {where}"):
        load_checkpoint(tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="non-finite"):
        save_checkpoint(tmp_path / "d.pt", checkpoint)
    assert not (tmp_path / "d.pt").exists()


def test_a_checkpoint_without_a_checksum_still_loads(tmp_path):
    """Checkpoints written before checksums existed resume (unverified)."""
    torch.save(a_checkpoint(), tmp_path / "old.pt")
    assert load_checkpoint(tmp_path / "old.pt")["step"] == 3


@pytest.mark.parametrize("content, message", [
    ({"a": torch.zeros(2)}, r"not a training checkpoint: it lacks config, elapsed_s, model"),
    ([1, 2], r"not a training checkpoint: it holds a list"),
    ({**a_checkpoint(), "step": "3"}, r"not a training checkpoint: step is a str"),
    ({**a_checkpoint(), "model": [1]}, r"not a training checkpoint: model is a list"),
])
def test_a_torch_file_of_another_shape_is_refused(tmp_path, content, message):
    torch.save(content, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "c.pt")


def test_unreadable_files_give_a_reason(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"is empty \(0 bytes\)"):
        load_checkpoint(tmp_path / "empty.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*junk.pt: \S") as error:
        load_checkpoint(tmp_path / "junk.pt")
    assert "\n" not in str(error.value)
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "none.pt")
