"""Loading models by directory, bundled name and Hub id, and every way that can go wrong."""

import hashlib
import json

import pytest
import torch

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
    with pytest.raises(WeightsError, match="the weights hold 2 layers but config.json says 3"):
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


# --- hardening (issue 16): every bad input is a one-line PycodesmallError ------------------


def _edit_config(directory, **changes):
    path = directory / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("content, message", [
    (b'{"hidden_size": "\xff"}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"vocab_size": 1' + b"0" * 5000 + b"}", "not valid JSON"),  # past int's digit limit
    (b" " * (2 << 20) + b"{}", "too large"),
])
def test_unreadable_config_files(tiny_model_dir, content, message):
    (tiny_model_dir / "config.json").write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        pycodesmall.load(str(tiny_model_dir), device="cpu")


@pytest.mark.parametrize("changes, message", [
    ({"num_attention_heads": 0}, "num_attention_heads must be a positive integer"),
    ({"num_attention_heads": 0, "head_dim": 16}, "num_attention_heads must be a positive integer"),
    ({"hidden_size": "64"}, "hidden_size must be a positive integer, got '64'"),
    ({"num_hidden_layers": True}, "num_hidden_layers must be a positive integer"),
    ({"vocab_size": 1024.0}, "vocab_size must be a positive integer"),
    ({"rope_scaling": "linear"}, "rope_scaling"),
    ({"rope_scaling": {"rope_type": "linear", "factor": 2.0}}, "rope_scaling"),
    ({"rope_parameters": [1]}, "rope_parameters"),
    ({"rope_theta": "abc"}, "rope_theta must be a positive finite number, got 'abc'"),
    ({"rope_theta": float("nan")}, "rope_theta must be a positive finite number"),
    ({"rope_theta": 0}, "rope_theta must be a positive finite number"),
    ({"rms_norm_eps": "x"}, "rms_norm_eps must be a positive finite number, got 'x'"),
    ({"rms_norm_eps": float("inf")}, "rms_norm_eps must be a positive finite number"),
    ({"tie_word_embeddings": "yes"}, "tie_word_embeddings must be true or false"),
    ({"sliding_window": "8"}, "sliding_window must be a positive integer or null"),
    ({"eos_token_id": -1}, "eos_token_id must be a token id"),
    ({"head_dim": "16"}, "head_dim"),
    ({"model_type": ["llama"]}, "unsupported model_type"),
])
def test_config_values_are_checked_at_load(tiny_model_dir, changes, message):
    _edit_config(tiny_model_dir, **changes)
    with pytest.raises(ConfigError, match=message):
        pycodesmall.load(str(tiny_model_dir), device="cpu")


@pytest.mark.parametrize("changes, message", [
    ({"vocab_size": 10**12}, r"model.embed_tokens.weight: file \(1024, 64\) vs config \(1000000000000, 64\)"),
    ({"num_hidden_layers": 10**6}, "the weights hold 2 layers but config.json says 1000000"),
    ({"hidden_size": 2**20, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 2**18},
     "model.embed_tokens.weight: file"),
    ({"intermediate_size": 10**9}, r"mlp.gate_proj.weight: file \(192, 64\) vs config \(1000000000, 64\)"),
])
def test_config_is_checked_against_the_weights_header_before_the_model_is_built(
        tiny_model_dir, monkeypatch, changes, message):
    from pycodesmall import weights

    built = []
    real = weights.Transformer

    def on_meta_only(config):  # allocating the model of such a config took 38 s, then OOM
        built.append(torch.empty(0).device.type)
        return real(config)
    monkeypatch.setattr(weights, "Transformer", on_meta_only)
    _edit_config(tiny_model_dir, **changes)
    with pytest.raises(WeightsError, match=message):
        pycodesmall.load(str(tiny_model_dir), device="cpu")
    assert all(device == "meta" for device in built)


def test_a_local_model_is_built_only_after_its_header_fits(tiny_model_dir, monkeypatch):
    from pycodesmall import weights

    devices = []
    real = weights.Transformer
    monkeypatch.setattr(weights, "Transformer",
                        lambda config: devices.append(torch.empty(0).device.type) or real(config))
    pycodesmall.load(str(tiny_model_dir), device="cpu", backend="torch")
    assert devices == ["meta", "cpu"]


@pytest.fixture
def no_network(monkeypatch):
    """Fail a test that would send a request to the Hub."""
    def download(repo_id, revision):
        raise AssertionError(f"a Hub request went out for {repo_id!r}")
    monkeypatch.setattr(hub, "_download", download)


@pytest.mark.parametrize("name, message", [
    ("m/typo", r"m/typo: no such directory \(m exists here"),
    ("./missing", "no such directory"),
    ("../missing-model", "no such directory"),
    ("~/no-such-model-dir", "no such directory"),
    ("/no/such/model", "no such directory"),
    ("~no-such-user-xyz/model", "cannot expand"),
    ("loop", "symbolic link loop"),
    ("loop/inner", "symbolic link loop"),
    ("broken", "broken symbolic link"),
    ("broken/x", "broken symbolic link"),
    ("afile", "is a file, not a model directory"),
    ("m/afile", "is a file, not a model directory"),
])
def test_a_name_that_looks_local_is_never_sent_to_the_hub(tmp_path, monkeypatch, no_network, name, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "afile").write_text("x")
    (tmp_path / "afile").write_text("x")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "broken").symlink_to("no-such-target")
    with pytest.raises(ModelNotFoundError, match=message):
        pycodesmall.load(name)


def test_hub_repo_ids_still_go_to_the_hub(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "someone").mkdir()  # makes "someone/model" look local
    asked = []
    monkeypatch.setattr(hub, "_download", lambda repo_id, revision: asked.append(repo_id) or tmp_path)
    hub.resolve("org/name")
    hub.resolve("hf://someone/model")  # the explicit form wins over a local folder
    assert asked == ["org/name", "someone/model"]
    with pytest.raises(ModelNotFoundError, match="someone/model: no such directory"):
        hub.resolve("someone/model")
    with pytest.raises(ModelNotFoundError, match="hf://"):
        hub.resolve("hf://not-a-repo-id")


def _flip_a_bit_in_the_largest_tensor(path):
    from safetensors import safe_open

    data = bytearray(path.read_bytes())
    header = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8:8 + header])
    meta.pop("__metadata__", None)
    start, end = max((v["data_offsets"] for v in meta.values()), key=lambda o: o[1] - o[0])
    data[8 + header + (start + end) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with safe_open(str(path), "pt"):  # the file still parses: only the checksum can tell
        pass


def test_saved_weights_carry_a_checksum_that_loading_verifies(tiny_model_dir):
    checksum = tiny_model_dir / "model.safetensors.sha256"
    assert checksum.read_text().split() == [
        hashlib.sha256((tiny_model_dir / "model.safetensors").read_bytes()).hexdigest(), "model.safetensors"]
    _flip_a_bit_in_the_largest_tensor(tiny_model_dir / "model.safetensors")
    with pytest.raises(WeightsError, match="do not match its checksum"):
        pycodesmall.load(str(tiny_model_dir), device="cpu")
    checksum.write_text("not a checksum\n")
    with pytest.raises(WeightsError, match="unreadable checksum file"):
        pycodesmall.load(str(tiny_model_dir), device="cpu")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tiny_model_dir, value):
    from safetensors.torch import load_file, save_file

    path = tiny_model_dir / "model.safetensors"
    state = load_file(str(path))
    state["model.layers.1.mlp.down_proj.weight"][3, 5] = value
    save_file(state, str(path))
    (tiny_model_dir / "model.safetensors.sha256").unlink()  # a model dir without a checksum
    with pytest.raises(WeightsError, match=r"non-finite values \(1 of .*model.layers.1.mlp.down_proj.weight"):
        pycodesmall.load(str(tiny_model_dir), device="cpu")


def test_released_models_must_carry_their_checksum(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(hub, "bundled_path", lambda name: tiny_model_dir)
    (tiny_model_dir / "model.safetensors.sha256").unlink()
    with pytest.raises(WeightsError, match="no checksum"):
        pycodesmall.load(hub.DEFAULT_MODEL, device="cpu")
