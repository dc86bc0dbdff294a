import json
import shutil

import pytest
import torch

from pycodesmall.training.corpus.shards import ShardError
from pycodesmall.training.data_loader import Batches, check_tokenizer, load_split
from pycodesmall.training.objectives import FillInTheMiddle


@pytest.fixture
def shards_copy(shards_dir, tmp_path):
    return shutil.copytree(shards_dir, tmp_path / "shards")


def test_split_matches_manifest(shards_dir):
    manifest = json.loads((shards_dir / "shards.json").read_text())
    split = load_split(shards_dir, "val")
    assert len(split.tokens) == manifest["splits"]["val"]["tokens"]
    assert split.bytes_per_token == manifest["splits"]["val"]["bytes"] / len(split.tokens)


def test_truncated_shard_is_reported(shards_copy):
    path = shards_copy / "train.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ShardError, match="truncated"):
        load_split(shards_copy, "train")


def test_missing_shards_and_split(shards_copy, tmp_path):
    with pytest.raises(ShardError, match="no shards.json"):
        load_split(tmp_path, "train")
    with pytest.raises(ShardError, match="no split 'dev'"):
        load_split(shards_copy, "dev")
    (shards_copy / "val.bin").unlink()
    with pytest.raises(ShardError, match="missing"):
        load_split(shards_copy, "val")


def test_manifest_from_another_tokenizer(shards_copy, tokenizer_dir):
    manifest = json.loads((shards_copy / "shards.json").read_text())
    manifest["tokenizer_sha256"] = "0" * 64
    (shards_copy / "shards.json").write_text(json.dumps(manifest))
    with pytest.raises(ShardError, match="packed with tokenizer sha256 0000"):
        check_tokenizer(shards_copy, tokenizer_dir, 512, [])


def test_token_ids_outside_the_vocabulary(shards_dir, tokenizer_dir):
    with pytest.raises(ShardError, match="outside the tokenizer's vocabulary of 100"):
        check_tokenizer(shards_dir, tokenizer_dir, 100, [load_split(shards_dir, "val")])


def test_batches_are_a_function_of_seed_step_and_row(shards_dir):
    split = load_split(shards_dir, "train")
    fim = FillInTheMiddle(0.5, 0.5, 0, 1, 2, 3)
    one = Batches(split, "train", block_size=32, batch_size=4, seed=7, objective=fim)
    two = Batches(split, "train", block_size=32, batch_size=2, seed=7, objective=fim)
    x, y = one.micro_batch(step=5, index=0)
    assert x.shape == y.shape == (4, 32) and x.dtype == torch.int64
    # two ranks with half the rows each read exactly what one process reads
    halves = [two.micro_batch(step=5, index=i) for i in (0, 1)]
    assert torch.equal(torch.cat([h[0] for h in halves]), x)
    assert torch.equal(torch.cat([h[1] for h in halves]), y)
    assert not torch.equal(one.micro_batch(step=6, index=0)[0], x)
    other_seed = Batches(split, "train", block_size=32, batch_size=4, seed=8, objective=fim)
    assert not torch.equal(other_seed.micro_batch(step=5, index=0)[0], x)


def test_next_token_targets_are_shifted_inputs(shards_dir):
    x, y = Batches(load_split(shards_dir, "val"), "val", 32, 2, seed=0).micro_batch(0, 0)
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_split_shorter_than_a_window(shards_dir):
    with pytest.raises(ShardError, match="fewer than one window"):
        Batches(load_split(shards_dir, "test"), "test", block_size=10**6, batch_size=1, seed=0)
