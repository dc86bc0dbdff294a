"""Loading models by directory, bundled name and Hub id, and every way that can go wrong."""

import json

import pytest

import pycodesmall
from pycodesmall import hub
from pycodesmall.errors import ConfigError, ModelNotFoundError, WeightsError


def test_local_directory_round_trip(tiny_model, tiny_model_dir):
    loaded = pycodesmall.load(str(tiny_model_dir), device="cpu")
    src = "def f(a):\n    return a\n"
    assert loaded.tokenizer.encode(src) == tiny_model.tokenizer.encode(src)
    ids = tiny_model.tokenizer.encode(src)
    assert loaded.score(ids) == pytest.approx(tiny_model.score(ids), abs=1e-5)


def test_bundled_models_resolve_inside_the_package(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(hub, "bundled_path", lambda name: tiny_model_dir)
    assert hub.resolve(hub.DEFAULT_MODEL) == tiny_model_dir
    assert pycodesmall.load(device="cpu").config.vocab_size > 0


def test_released_models_are_listed_with_their_source():
    models = pycodesmall.list_models()
    assert hub.DEFAULT_MODEL in [m.name for m in models]
    assert all(m.source for m in models)


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ModelNotFoundError, match="unknown model 'no-such-model'"):
        pycodesmall.load("no-such-model")


def test_offline_without_cache_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE is set"):
        pycodesmall.load("someone/some-model")


def test_offline_loads_from_the_hub_cache(monkeypatch, tmp_path, tiny_model_dir):
    # The layout huggingface_hub writes: refs/<revision> names a snapshot folder.
    repo = tmp_path / "models--someone--tiny"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    for f in tiny_model_dir.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert hub.resolve("someone/tiny") == snapshot


def test_missing_weights(tiny_model_dir):
    (tiny_model_dir / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="missing"):
        pycodesmall.load(str(tiny_model_dir))


def test_truncated_weights(tiny_model_dir):
    path = tiny_model_dir / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError, match="truncated or corrupted"):
        pycodesmall.load(str(tiny_model_dir))


def test_config_that_does_not_match_the_weights(tiny_model_dir):
    config_path = tiny_model_dir / "config.json"
    config = json.loads(config_path.read_text())
    config["intermediate_size"] += 64
    config_path.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="do not match the config"):
        pycodesmall.load(str(tiny_model_dir))
    config["num_hidden_layers"] = 3
    config_path.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="missing"):
        pycodesmall.load(str(tiny_model_dir))


def test_invalid_config_file(tiny_model_dir):
    (tiny_model_dir / "config.json").write_text('{"hidden_size": 10, "num_attention_heads": 3}')
    with pytest.raises(ConfigError, match="not divisible"):
        pycodesmall.load(str(tiny_model_dir))
    (tiny_model_dir / "config.json").write_text("[1, 2")
    with pytest.raises(ConfigError, match="not valid JSON"):
        pycodesmall.load(str(tiny_model_dir))


def test_directory_without_config(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        pycodesmall.load(str(tmp_path))


def test_unknown_backend_and_device(tiny_model_dir):
    with pytest.raises(ConfigError, match="unknown backend"):
        pycodesmall.load(str(tiny_model_dir), backend="tensorflow")
    with pytest.raises(ConfigError, match="unknown device"):
        pycodesmall.load(str(tiny_model_dir), device="tpu9")
