"""The ONNX export and the ONNX Runtime backend: parity with torch, staleness, selection."""

import json
import shutil
import sys

import pytest
import torch
from click.testing import CliRunner

from model_fixtures import tiny_config
from pycodesmall.api import _lookup_for
from pycodesmall.cli import main
from pycodesmall.errors import ConfigError, MissingExtraError
from pycodesmall.model import Transformer
from pycodesmall.hub import bundled_path
from pycodesmall.onnx_export import current_export, default_out_dir, export_onnx, require_onnxruntime
from pycodesmall.pretrained import CodeModel, _onnx_export_for
from pycodesmall.runtime import Engine
from pycodesmall.runtime.onnx_backend import OnnxBackend
from pycodesmall.runtime.speculative import PromptLookup
from pycodesmall.weights import save_weights

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def exported(indent_tokenizer, tmp_path_factory):
    """A saved tiny model (GQA, room for 256 + 128 tokens) and its fp32 export, made once."""
    torch.manual_seed(0)
    module = Transformer(tiny_config(indent_tokenizer.vocab_size, max_position_embeddings=512))
    directory = CodeModel(module, indent_tokenizer, backend="torch").save_pretrained(
        tmp_path_factory.mktemp("onnx") / "tiny")
    return directory, export_onnx(directory)


@pytest.fixture(scope="module")
def backends(exported):
    directory, _ = exported
    return (CodeModel.from_directory(directory, device="cpu", backend="torch").backend,
            CodeModel.from_directory(directory, device="cpu", backend="onnx").backend)


def test_export_is_a_valid_graph_beside_the_weights(exported):
    directory, path = exported
    assert path == directory / "model.onnx"
    onnx.checker.check_model(str(path))
    graph = onnx.load(str(path)).graph
    names = [i.name for i in graph.input]
    assert names[:6] == ["input_ids", "position_ids", "attention_bias", "seqlens_k", "total_sequence_length",
                         "logits_index"]
    assert names[6:8] == ["past.0.key", "past.0.value"]
    # the cache is written in place by ORT's attention operator, one per layer
    assert [n.op_type for n in graph.node].count("GroupQueryAttention") == 2


def test_a_stale_export_is_detected_and_remade(exported, tmp_path):
    directory, path = exported
    copy = shutil.copytree(directory, tmp_path / "copy")
    assert current_export(copy) == copy / "model.onnx"
    assert export_onnx(copy) == copy / "model.onnx"  # up to date: reused, not re-made
    model = CodeModel.from_directory(copy, backend="torch")
    with torch.no_grad():
        model.module.model.norm.weight.mul_(2)
    save_weights(model.module, copy / "model.safetensors")
    assert current_export(copy) is None
    assert CodeModel.from_directory(copy, device="cpu").backend.name == "onnx"  # auto re-exports
    assert current_export(copy) == copy / "model.onnx"


def test_an_export_in_an_older_graph_layout_is_stale(exported, tmp_path):
    directory, _ = exported
    copy = shutil.copytree(directory, tmp_path / "copy")
    record_file = copy / "model.onnx.json"
    record = json.loads(record_file.read_text())
    record_file.write_text(json.dumps({**record, "graph_layout": record["graph_layout"] - 1}))
    assert current_export(copy) is None
    assert CodeModel.from_directory(copy, device="cpu", backend="onnx").backend.name == "onnx"  # re-made
    assert current_export(copy) == copy / "model.onnx"


def test_logits_match_torch_over_a_256_token_prompt_and_every_step(backends):
    torch_backend, onnx_backend = backends
    torch.manual_seed(1)
    tokens = torch.randint(3, 500, (2, 256))
    pads = torch.tensor([0, 37])  # the second prompt is left-padded
    expected, torch_cache = torch_backend.prefill(tokens, pads, 1, 128)
    actual, onnx_cache = onnx_backend.prefill(tokens, pads, 1, 128)
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=0)
    for _ in range(127):
        next_ids = expected.argmax(-1)
        expected, torch_cache = torch_backend.step(next_ids, torch_cache)
        actual, onnx_cache = onnx_backend.step(next_ids, onnx_cache)
        torch.testing.assert_close(actual, expected, atol=1e-4, rtol=0)


def test_greedy_generation_is_identical_for_128_tokens(backends):
    prompts = [[5, 17, 300, 42, 8, 99, 23] * 4, [7, 11], [400, 3, 12, 19]]
    torch_engine, onnx_engine = (Engine(b, eos_id=None) for b in backends)
    expected = [g.tokens for g in torch_engine.generate(prompts, 128)]
    assert [g.tokens for g in onnx_engine.generate(prompts, 128)] == expected
    several = onnx_engine.generate(prompts[:1], 16, num_samples=2)
    assert several[0].tokens == several[1].tokens == expected[0][:16]


def test_speculative_decoding_on_onnx_gives_plain_greedy_tokens(backends):
    _, onnx_backend = backends
    engine = Engine(onnx_backend, eos_id=None)
    prompt = list(range(40, 80)) * 3 + list(range(40, 50))
    [plain] = engine.generate([prompt], 64)
    [fast] = engine.generate([prompt], 64, lookup=PromptLookup())
    assert fast.tokens == plain.tokens


def test_backend_selection(exported):
    directory, _ = exported
    assert CodeModel.from_directory(directory, device="cpu").backend.name == "onnx"  # auto
    assert CodeModel.from_directory(directory, device="cpu", backend="torch").backend.name == "torch"


def test_cuda_runs_the_fp16_export_and_refuses_int8(exported, tmp_path):
    """ONNX Runtime's CUDA attention kernel has no fp32 version; int8 runs on the CPU only.
    (Only which export is chosen: the session itself needs a GPU.)"""
    directory, _ = exported
    copy = shutil.copytree(directory, tmp_path / "copy")
    assert _onnx_export_for("onnx", copy, torch.device("cuda")) == copy / "model-fp16.onnx"
    with pytest.raises(ConfigError, match="int8 ONNX export runs on the CPU"):
        _onnx_export_for("onnx-int8", copy, torch.device("cuda"))


def test_fp16_export_stays_close_to_torch(exported, backends, tmp_path):
    directory, _ = exported
    torch_backend, _ = backends
    config = torch_backend.config
    fp16 = OnnxBackend(export_onnx(directory, tmp_path, dtype="fp16"), config, num_threads=1)
    tokens, pads = torch.randint(3, 500, (2, 64)), torch.tensor([0, 9])
    expected, torch_cache = torch_backend.prefill(tokens, pads, 1, 8)
    actual, onnx_cache = fp16.prefill(tokens, pads, 1, 8)
    for _ in range(4):
        assert (actual - expected).abs().max() < 0.05 * expected.std()
        next_ids = expected.argmax(-1)
        expected, torch_cache = torch_backend.step(next_ids, torch_cache)
        actual, onnx_cache = fp16.step(next_ids, onnx_cache)


def test_models_inside_the_package_export_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tmp_path / "pycodesmall" / "onnx" in default_out_dir(bundled_path("pycodesmall-tiny")).parents


def test_auto_runs_torch_when_the_export_cannot_be_written(exported, tmp_path, monkeypatch):
    directory, _ = exported
    copy = shutil.copytree(directory, tmp_path / "copy")
    (copy / "model.onnx.json").unlink()  # no up-to-date export, and none can be made:
    monkeypatch.setattr("pycodesmall.onnx_export.default_out_dir", lambda *_: tmp_path / "file")
    (tmp_path / "file").write_text("")
    assert CodeModel.from_directory(copy, device="cpu").backend.name == "torch"
    with pytest.raises(OSError):
        CodeModel.from_directory(copy, device="cpu", backend="onnx")


def test_a_prompt_beyond_the_rotary_table_is_refused(backends):
    _, onnx_backend = backends
    with pytest.raises(ValueError, match="exceed the 512 positions"):
        onnx_backend.prefill(torch.ones(1, 500, dtype=torch.long), torch.zeros(1, dtype=torch.long), 1, 13)


def test_int8_export_stays_close_to_fp32(exported, tmp_path):
    directory, _ = exported
    copy = shutil.copytree(directory, tmp_path / "copy")
    quantized = CodeModel.from_directory(copy, device="cpu", backend="onnx-int8")
    assert (copy / "model-int8.onnx").is_file() and quantized.backend.name == "onnx-int8"
    reference = CodeModel.from_directory(copy, device="cpu", backend="torch")
    # Judged by the median prompt: on AVX2 without VNNI, ORT's u8s8 kernel saturates now and
    # then (its documented trade), and on one such CPU 4 of these 9 prompts erred by 0.17-0.37
    # of a standard deviation while the median stayed at 0.07.
    generator, pads, errors = torch.Generator().manual_seed(0), torch.zeros(1, dtype=torch.long), []
    for _ in range(9):
        tokens = torch.randint(3, 500, (1, 64), generator=generator)
        expected, _ = reference.backend.prefill(tokens, pads, 1, 1)
        actual, _ = quantized.backend.prefill(tokens, pads, 1, 1)
        errors.append(float((actual - expected).abs().max() / expected.std()))
    assert sorted(errors)[4] < 0.1
    # complete() drafts with prompt lookup only where a verify pass matches single steps
    fp32 = CodeModel.from_directory(copy, device="cpu", backend="onnx")
    assert [_lookup_for(m) is not None for m in (fp32, quantized, reference)] == [True, False, False]


def test_cli_export_prints_the_up_to_date_file(exported):
    directory, path = exported
    result = CliRunner().invoke(main, ["export-onnx", str(directory)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(path)


def test_missing_onnxruntime_names_the_extra(monkeypatch, exported):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(MissingExtraError, match=r"pycodesmall\[onnx\]"):
        require_onnxruntime("The ONNX Runtime backend")
    directory, _ = exported
    assert CodeModel.from_directory(directory, device="cpu").backend.name == "torch"
