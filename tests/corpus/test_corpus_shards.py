import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from corpus_fixtures import read_split

from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.training.corpus.cli import data
from pycodesmall.training.corpus.shards import MANIFEST_NAME, ShardError, open_split
from pycodesmall.training.corpus.split import SPLITS


@pytest.fixture(scope="module")
def tokenizer_dir(built_corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokenizer")
    texts = [row["text"] for row in read_split(built_corpus, "train")]
    PythonTokenizer.train(texts, "indent", 1024).save(folder)
    return folder


@pytest.fixture(scope="module")
def packed(built_corpus, tokenizer_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed")
    result = CliRunner().invoke(data, ["pack", "--corpus", str(built_corpus), "--tokenizer",
                                       str(tokenizer_dir / "tokenizer.json"), "--out", str(out),
                                       "--batch-size", "7"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def shards(packed, tmp_path):
    """A fresh copy of the packed shards, for a test to corrupt."""
    return Path(shutil.copytree(packed, tmp_path / "shards"))


def test_pack_writes_every_file_followed_by_end_of_document(built_corpus, tokenizer_dir, shards):
    tokenizer = PythonTokenizer.from_file(tokenizer_dir)
    manifest = json.loads((shards / MANIFEST_NAME).read_text())
    assert manifest["dtype"] == "uint16" and manifest["variant"] == "indent"
    for split in SPLITS:
        texts = [row["text"] for row in read_split(built_corpus, split)]
        ids = open_split(shards, split)
        entry = manifest["splits"][split]
        assert entry["files"] == len(texts) == int((ids == tokenizer.eot_id).sum())
        assert entry["tokens"] == len(ids) == sum(len(tokenizer.encode(t)) + 1 for t in texts)
        assert entry["bytes"] == sum(len(t.encode("utf-8")) for t in texts)
        first = ids[: int(np.argmax(ids == tokenizer.eot_id))]
        assert tokenizer.decode(first.tolist()) == texts[0]


def test_truncated_shard_is_refused(shards):
    path = shards / "val.bin"
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ShardError, match="truncated"):
        open_split(shards, "val")


def test_shard_that_does_not_match_the_manifest_is_refused(shards):
    path = shards / "train.bin"
    ids = np.fromfile(path, dtype=np.uint16)
    ids[:10] = 5
    ids.tofile(path)
    with pytest.raises(ShardError, match="sha256"):
        open_split(shards, "train")
    assert len(open_split(shards, "train", verify_sha256=False)) == len(ids)


def test_manifest_from_another_pack_is_refused(shards):
    manifest = json.loads((shards / MANIFEST_NAME).read_text())
    manifest["splits"]["test"]["tokens"] += 1000
    (shards / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ShardError, match="truncated or from another pack"):
        open_split(shards, "test")
    with pytest.raises(ShardError, match="no split 'dev'"):
        open_split(shards, "dev")


def test_missing_manifest_is_refused(tmp_path):
    with pytest.raises(ShardError, match="pack the corpus first"):
        open_split(tmp_path, "train")
