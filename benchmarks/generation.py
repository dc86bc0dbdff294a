"""Generation speed of every runtime on the same weights, in one run.

    python benchmarks/generation.py                      # ~10M-parameter config, random weights
    python benchmarks/generation.py --model pycodesmall-tiny --rounds 4 --editor-context 448
    python benchmarks/generation.py --threads 1 --out benchmarks/results/generation_1thread.json

Runtimes: transformers `generate`, pycodesmall's torch backend, its ONNX Runtime backend
(fp32 and int8), and llama.cpp (f32, f16 and q8_0, through `llama-cpp-python`, from a GGUF file
written here with the `gguf` package) when those packages are installed. Each round runs
every runtime once, one after the other, so that the machine's load (shared, noisy) falls
on all of them alike; the JSON keeps every round and reports medians.

Cases:
- throughput: batch 1 and 8, a 256-token prompt, 128 new tokens (greedy, no early stop):
  prefill ms and decode tokens/s. The issue-2 figure is torch / transformers at batch 1.
- editor: one completion with a 1k-token context (`--editor-context`; the released model's
  window is 512) and 20 new tokens on a warm model,
  p50/p90 latency of the whole `Engine.generate` call: plain, with prompt lookup, and with
  prefix reuse after a request 4 tokens earlier (what the language server does while
  someone types).
- lookup: completing lines of real stdlib files (the cursor at the start of a line whose
  text already appears earlier in the file), plain greedy vs prompt-lookup speculative
  decoding: tokens/s and whether the outputs are identical; llama.cpp decodes the same
  prompts plainly. Random weights rarely copy, so this case means something only with a
  trained model (`--model`).

Threads: on this 2-vCPU machine llama.cpp's thread pool, which spins while it waits,
decoded 5-9x slower with 2 threads than with 1 (170 vs 880-1590 tokens/s on
pycodesmall-tiny), and the other runtimes were slower with 2 at batch 1 too (ONNX fp32
1242 vs 1402, int8 2451 vs 2972 tokens/s), faster at batch 8; the committed results have a
2-thread and a 1-thread (`*_1thread.json`) run.

Extra packages: onnx, onnxruntime (pycodesmall[onnx]), transformers, matplotlib, and
optionally gguf + llama-cpp-python. PyPI has llama-cpp-python only as source; a build for
this CPU alone takes about 11 minutes on two cores:
    CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_CURL=OFF" pip install llama-cpp-python gguf
Writes benchmarks/results/generation*.json and .png.
"""

from __future__ import annotations

import argparse
import os
import sys

# Worker threads that sleep when idle: on a shared, oversubscribed CPU spinning threads
# lose their time slices to each other (10x slower decoding measured). Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sysconfig  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pycodesmall.bits_per_byte import ScoreWindow, bits_per_byte  # noqa: E402
from pycodesmall.config import ModelConfig  # noqa: E402
from pycodesmall.hub import resolve  # noqa: E402
from pycodesmall.model import Transformer  # noqa: E402
from pycodesmall.onnx_export import export_onnx  # noqa: E402
from pycodesmall.runtime import Engine  # noqa: E402
from pycodesmall.runtime.onnx_backend import OnnxBackend  # noqa: E402
from pycodesmall.runtime.prefix_reuse import PrefixReuse  # noqa: E402
from pycodesmall.runtime.speculative import PromptLookup  # noqa: E402
from pycodesmall.runtime.torch_backend import TorchBackend  # noqa: E402
from pycodesmall.training.evaluation.benchmark_data import load_corpus_files  # noqa: E402
from pycodesmall.training.provenance import git_commit  # noqa: E402
from pycodesmall.weights import WEIGHTS_NAME, load_weights, save_weights  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LLAMA_CPP_WEIGHTS = ("f32", "f16", "q8_0")  # the GGUF files written for llama.cpp
BENCH_CONFIG = dict(vocab_size=16384, hidden_size=256, num_hidden_layers=6, num_attention_heads=8,
                    max_position_embeddings=2048)


# --- the runtimes -------------------------------------------------------------------------

class PycodesmallRuntime:
    """A pycodesmall backend driven through `Engine.generate`, its prefill timed apart."""

    def __init__(self, backend, lookup: PromptLookup | None = None):
        self.backend, self.lookup = backend, lookup
        self.prefill_seconds = 0.0
        self.engine = Engine(self, eos_id=None)
        self.name, self.config = backend.name, backend.config

    def prefill(self, *args):
        start = time.perf_counter()
        out = self.backend.prefill(*args)
        self.prefill_seconds = time.perf_counter() - start
        return out

    def __getattr__(self, attribute):  # step, verify, truncate
        return getattr(self.backend, attribute)

    def generate(self, prompts: list[list[int]], new_tokens: int) -> tuple[float, float, list[list[int]]]:
        start = time.perf_counter()
        out = self.engine.generate(prompts, new_tokens, lookup=self.lookup)
        total = time.perf_counter() - start
        return self.prefill_seconds, total - self.prefill_seconds, [g.tokens for g in out]


class TransformersRuntime:
    """`generate` of transformers' LlamaForCausalLM; prefill = a 1-token generate."""

    name = "transformers generate"

    def __init__(self, directory: Path):
        import transformers

        self.model = transformers.AutoModelForCausalLM.from_pretrained(
            directory, dtype=torch.float32).eval()

    def _run(self, ids: torch.Tensor, new_tokens: int) -> tuple[float, torch.Tensor]:
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                      max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                      pad_token_id=0)
        return time.perf_counter() - start, out

    def generate(self, prompts, new_tokens):
        ids = torch.tensor(prompts)
        prefill, _ = self._run(ids, 1)
        total, out = self._run(ids, new_tokens)
        return prefill, total - prefill, out[:, ids.shape[1]:].tolist()


class LlamaCppRuntime:
    """llama.cpp through llama-cpp-python, one sequence at a time (its Python API has no
    batch of independent sequences), greedy on the full logits like the others."""

    def __init__(self, gguf_path: Path, label: str, threads: int, context: int):
        from llama_cpp import Llama

        self.name = f"llama.cpp {label}"
        self.llm = Llama(str(gguf_path), n_ctx=context, n_batch=context, n_threads=threads,
                         n_threads_batch=threads, verbose=False)
        self.vocab = self.llm.n_vocab()

    def generate(self, prompts, new_tokens):
        if len(prompts) != 1:
            raise NotImplementedError("batch > 1")
        llm = self.llm
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompts[0])
        prefilled = time.perf_counter()
        tokens = []
        for i in range(new_tokens):
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(self.vocab,))  # last position
            tokens.append(int(np.argmax(logits)))
            if i < new_tokens - 1:
                llm.eval([tokens[-1]])
        return prefilled - start, time.perf_counter() - prefilled, [tokens]


def write_gguf(directory: Path, path: Path, weights: str) -> Path:
    """Our safetensors as a llama.cpp GGUF file (architecture llama, no vocabulary: ids in,
    logits out). Q and K rows are permuted as llama.cpp's converter does, since its rotary
    embedding pairs neighbouring dimensions where Hugging Face pairs the two halves.
    `weights` ("f32", "f16" or "q8_0") is the type of the matrices; norms stay f32."""
    import gguf
    from safetensors.torch import load_file

    c = ModelConfig.from_file(directory / "config.json")
    state = load_file(str(directory / WEIGHTS_NAME))
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(c.max_position_embeddings)
    writer.add_embedding_length(c.hidden_size)
    writer.add_block_count(c.num_hidden_layers)
    writer.add_feed_forward_length(c.intermediate_size)
    writer.add_head_count(c.num_attention_heads)
    writer.add_head_count_kv(c.num_key_value_heads)
    writer.add_layer_norm_rms_eps(c.rms_norm_eps)
    writer.add_rope_freq_base(c.rope_theta)
    writer.add_rope_dimension_count(c.head_dim)
    writer.add_vocab_size(c.vocab_size)
    writer.add_tokenizer_model("none")
    file_types = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                  "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}
    writer.add_file_type(file_types[weights])

    def permute(w: torch.Tensor, heads: int) -> torch.Tensor:
        return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    def add(name: str, tensor: torch.Tensor) -> None:
        array = tensor.float().numpy()
        if array.ndim == 1 or weights == "f32":
            writer.add_tensor(name, array)
        elif weights == "f16":
            writer.add_tensor(name, array.astype(np.float16))
        else:  # blocks of 32 int8 values with one f16 scale, as llama.cpp's Q8_0
            q8 = gguf.GGMLQuantizationType.Q8_0
            writer.add_tensor(name, gguf.quants.quantize(array, q8), raw_dtype=q8)

    add("token_embd.weight", state["model.embed_tokens.weight"])
    add("output_norm.weight", state["model.norm.weight"])
    if "lm_head.weight" in state:
        add("output.weight", state["lm_head.weight"])
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        add(f"blk.{i}.attn_norm.weight", state[p + "input_layernorm.weight"])
        add(f"blk.{i}.attn_q.weight", permute(state[p + "self_attn.q_proj.weight"], c.num_attention_heads))
        add(f"blk.{i}.attn_k.weight", permute(state[p + "self_attn.k_proj.weight"], c.num_key_value_heads))
        add(f"blk.{i}.attn_v.weight", state[p + "self_attn.v_proj.weight"])
        add(f"blk.{i}.attn_output.weight", state[p + "self_attn.o_proj.weight"])
        add(f"blk.{i}.ffn_norm.weight", state[p + "post_attention_layernorm.weight"])
        add(f"blk.{i}.ffn_gate.weight", state[p + "mlp.gate_proj.weight"])
        add(f"blk.{i}.ffn_up.weight", state[p + "mlp.up_proj.weight"])
        add(f"blk.{i}.ffn_down.weight", state[p + "mlp.down_proj.weight"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


# --- setup ----------------------------------------------------------------------------------

def model_directory(name: str | None, work: Path) -> Path:
    if name is not None:
        return resolve(name)
    directory = work / "bench-10m"
    if not (directory / WEIGHTS_NAME).is_file():
        torch.manual_seed(0)
        config = ModelConfig(**BENCH_CONFIG)
        directory.mkdir(parents=True, exist_ok=True)
        config.save(directory)
        save_weights(Transformer(config), directory / WEIGHTS_NAME)
    return directory


def build_runtimes(directory: Path, work: Path, threads: int, context: int,
                   skip: set[str]) -> tuple[dict, dict]:
    """name -> runtime, and name -> why a runtime is missing."""
    config = ModelConfig.from_file(directory / "config.json")
    module = Transformer(config)
    load_weights(module, directory / WEIGHTS_NAME)
    out_dir = work / "onnx" / hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:12]
    runtimes, missing = {}, {}
    if "transformers" not in skip:
        runtimes["transformers generate"] = TransformersRuntime(directory)
    runtimes["pycodesmall torch"] = PycodesmallRuntime(TorchBackend(module))
    for quantize in (None, "int8"):
        path = export_onnx(directory, out_dir, quantize=quantize)
        name = f"pycodesmall onnx {quantize or 'fp32'}"
        runtimes[name] = PycodesmallRuntime(OnnxBackend(path, config, num_threads=threads, spin=False))
    if "llama.cpp" not in skip:
        try:
            import gguf  # noqa: F401
            import llama_cpp  # noqa: F401
        except ImportError as e:
            missing["llama.cpp"] = f"not installed: {e}"
        else:
            for label in LLAMA_CPP_WEIGHTS:
                path = write_gguf(directory, out_dir / f"model-{label}.gguf", label)
                runtimes[f"llama.cpp {label}"] = LlamaCppRuntime(path, label, threads, context)
    return runtimes, missing


def stdlib_files(count: int) -> list[str]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    names = ["argparse.py", "dataclasses.py", "pathlib.py", "inspect.py", "typing.py",
             "enum.py", "functools.py", "textwrap.py", "shutil.py", "tarfile.py"]
    return [(stdlib / n).read_text(encoding="utf-8") for n in names[:count]]


def repeated_line_prompts(tokenizer, files: list[str], per_file: int, context: int) -> list[list[int]]:
    """Prompts that end at the start of a line whose text already appeared earlier in the
    file: the completions an editor asks for where prompt lookup can help."""
    prompts = []
    for text in files:
        lines = text.splitlines(keepends=True)
        seen, found = set(), []
        offset = 0
        for line in lines:
            if line.strip() and len(line.strip()) > 12 and line in seen and offset > 2000:
                found.append(offset)
            seen.add(line)
            offset += len(line)
        for cut in found[:: max(1, len(found) // per_file)][:per_file]:
            prompts.append(tokenizer.encode(text[:cut])[-context:])
    return prompts


# --- measuring ------------------------------------------------------------------------------

def median(values):
    return statistics.median(values) if values else None


def throughput(runtimes, rounds, batches, prompt_tokens, new_tokens, vocab) -> dict:
    rng = np.random.default_rng(0)
    prompts = {b: rng.integers(3, vocab, (b, prompt_tokens)).tolist() for b in batches}
    raw = {name: {b: [] for b in batches} for name in runtimes}
    outputs = {}
    for name, runtime in runtimes.items():  # warm-up
        for b in batches:
            try:
                runtime.generate(prompts[b], 4)
            except NotImplementedError:
                raw[name][b] = None
    for r in range(rounds):
        for b in batches:
            for name, runtime in runtimes.items():
                if raw[name][b] is None:
                    continue
                prefill, decode, tokens = runtime.generate(prompts[b], new_tokens)
                raw[name][b].append({"prefill_ms": prefill * 1e3,
                                     "decode_tokens_per_s": b * (new_tokens - 1) / decode})
                outputs[name, b] = tokens
            print(f"round {r + 1}/{rounds} batch {b}: " + ", ".join(
                f"{n} {raw[n][b][-1]['decode_tokens_per_s']:.0f}" for n in runtimes if raw[n][b]),
                file=sys.stderr)
    table = {}
    for name in runtimes:
        table[name] = {}
        for b in batches:
            if raw[name][b] is None:
                table[name][str(b)] = None
                continue
            reference = outputs.get(("pycodesmall torch", b))
            table[name][str(b)] = {
                "prefill_ms": median([x["prefill_ms"] for x in raw[name][b]]),
                "decode_tokens_per_s": median([x["decode_tokens_per_s"] for x in raw[name][b]]),
                "greedy_tokens_equal_torch": outputs[name, b] == reference,
                "rounds": raw[name][b],
            }
    return table


def editor_latency(runtimes, prompts, new_tokens, typed_tokens: int = 4) -> dict:
    """p50/p90 ms of one warm `Engine.generate` call per prompt. A runtime with prefix reuse
    first sees the prompt without its last `typed_tokens` tokens, untimed: the request made
    a keystroke or two earlier, as in an editor."""
    out = {}
    for name, runtime in runtimes.items():
        times = []
        runtime.generate(prompts[0:1], new_tokens)  # warm
        for prompt in prompts:
            if isinstance(runtime.backend, PrefixReuse):
                runtime.generate([prompt[:-typed_tokens]], new_tokens)
            prefill, decode, _ = runtime.generate([prompt], new_tokens)
            times.append((prefill + decode) * 1e3)
        times.sort()
        out[name] = {"p50_ms": median(times), "p90_ms": times[int(0.9 * (len(times) - 1))],
                     "all_ms": times}
    return out


def lookup_workload(backends: dict, baselines: dict, prompts: list[list[int]], new_tokens: int,
                    rounds: int) -> dict:
    """Plain greedy vs prompt-lookup decoding of the same line completions, per backend;
    `baselines` (other runtimes, llama.cpp) decode the same prompts plainly."""
    out = {}
    for name, runtime in baselines.items():
        decode_seconds = [runtime.generate([prompt], new_tokens)[1]
                          for _ in range(rounds) for prompt in prompts]
        out[name] = {"plain_decode_tokens_per_s": len(decode_seconds) * (new_tokens - 1) / sum(decode_seconds)}
    for name, backend in backends.items():
        plain, fast = PycodesmallRuntime(backend), PycodesmallRuntime(backend, PromptLookup())
        times = {"plain": [], "lookup": []}
        identical = True
        generated = 0
        for r in range(rounds):
            for prompt in prompts:
                _, plain_decode, [a] = plain.generate([prompt], new_tokens)
                _, fast_decode, [b] = fast.generate([prompt], new_tokens)
                identical &= a == b
                times["plain"].append(plain_decode)
                times["lookup"].append(fast_decode)
                generated += new_tokens - 1
        plain_rate = generated / sum(times["plain"])
        fast_rate = generated / sum(times["lookup"])
        out[name] = {"plain_decode_tokens_per_s": plain_rate, "lookup_decode_tokens_per_s": fast_rate,
                     "speedup": fast_rate / plain_rate, "identical_tokens": identical}
    return out


def quality_texts(held_out: Path, count: int = 20) -> tuple[list[str], str]:
    """Texts to score int8 against fp32 on: files of the corpus's held-out test split (packages
    no model was trained on) when it has been built, else stdlib files, which were training data."""
    if held_out.is_file():
        files = [f.text for f in load_corpus_files(held_out, sample=count, seed=0)]
        return files, f"{count} whole held-out files sampled (seed 0) from {held_out.name}"
    return stdlib_files(10), "10 whole stdlib files (training data: no held-out split was found)"


def backend_score_window(backend) -> ScoreWindow:
    """`ScoreWindow` through the backend itself (prefill the window's first id, then `verify`
    the rest), so that fp32 and int8 exports are measured the same way."""
    def score_window(window):
        first, cache = backend.prefill(torch.tensor([window[:1]]), torch.zeros(1, dtype=torch.long),
                                       1, len(window))
        logits = first
        if len(window) > 2:
            rest, _ = backend.verify(torch.tensor([window[1:-1]]), cache)
            logits = torch.cat([first, rest[0]])  # (len(window) - 1, vocab): the prediction of each id
        targets = torch.tensor(window[1:])[:, None]
        return torch.log_softmax(logits.double(), -1).gather(-1, targets)[:, 0].tolist()
    return score_window


def environment(threads: int) -> dict:
    def version(module):
        try:
            return __import__(module).__version__
        except ImportError:
            return None

    commit = git_commit()
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    llama_cpp_build = None
    try:
        import llama_cpp

        llama_cpp_build = llama_cpp.llama_print_system_info().decode().strip()  # the CPU features built in
    except ImportError:
        pass
    return {"git_commit": commit, "cpu": cpu, "cpu_count": os.cpu_count(), "threads": threads,
            "llama_cpp_build": llama_cpp_build,
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"), "onnxruntime_spinning": False,
            "python": platform.python_version(),
            **{m: version(m) for m in ("torch", "onnxruntime", "transformers", "llama_cpp")}}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = results["throughput"]
    names = list(table)
    batches = results["settings"]["batches"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(batches)
    for i, b in enumerate(batches):
        xs = [k + i * width for k in range(len(names))]
        decode = [(table[n].get(str(b)) or {}).get("decode_tokens_per_s") or 0 for n in names]
        prefill = [(table[n].get(str(b)) or {}).get("prefill_ms") or 0 for n in names]
        axes[0].bar(xs, decode, width, label=f"batch {b}")
        axes[1].bar(xs, prefill, width, label=f"batch {b}")
    for ax, title in zip(axes, ("decode tokens/s (higher is better)", "prefill ms (lower is better)")):
        ax.set_xticks([k + width * (len(batches) - 1) / 2 for k in range(len(names))])
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
        ax.legend()
    s = results["settings"]
    fig.suptitle(f"{results['model']}: {s['prompt_tokens']}-token prompt, {s['new_tokens']} new tokens, "
                 f"{s['threads']} threads, median of {s['rounds']} rounds ({results['environment']['cpu']})",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model name or directory (default: ~10M random config)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--editor-context", type=int, default=1000)
    parser.add_argument("--editor-new-tokens", type=int, default=20)
    parser.add_argument("--skip", nargs="*", default=[], choices=["transformers", "llama.cpp", "editor", "lookup"])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pycodesmall-bench")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default: benchmarks/results/...)")
    parser.add_argument("--held-out", type=Path, default=ROOT / "data" / "corpus" / "test.jsonl.gz",
                        help="corpus split scored for the int8 quality cost (built by pycodesmall-train corpus)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    skip = set(args.skip)
    directory = model_directory(args.model, args.work)
    config = ModelConfig.from_file(directory / "config.json")
    # llama.cpp's context: the throughput case or the longest lookup prompt and its 32 tokens
    context = min(max(args.prompt_tokens + args.new_tokens, args.editor_context + 32),
                  config.max_position_embeddings)
    runtimes, missing = build_runtimes(directory, args.work, args.threads, context, skip)
    started, load_before = time.time(), os.getloadavg()
    results = {
        "model": args.model or "random ~10M config",
        "model_config": config.to_hf_dict(),
        "parameters": config.num_parameters(),
        "settings": {"rounds": args.rounds, "threads": args.threads, "batches": args.batches,
                     "prompt_tokens": args.prompt_tokens, "new_tokens": args.new_tokens,
                     "greedy": True, "runtimes_interleaved_within_each_round": True},
        "environment": environment(args.threads),
        "missing_runtimes": missing,
        "throughput": throughput(runtimes, args.rounds, args.batches, args.prompt_tokens,
                                 args.new_tokens, config.vocab_size),
    }
    b1 = {n: (t.get("1") or {}).get("decode_tokens_per_s") for n, t in results["throughput"].items()}
    if b1.get("transformers generate"):
        results["torch_vs_transformers_decode_ratio_batch1"] = b1["pycodesmall torch"] / b1["transformers generate"]
    ours = {n: v for n, v in b1.items() if n.startswith("pycodesmall") and v}
    best = max(ours, key=ours.get)
    results["best_pycodesmall_batch1"] = {"runtime": best, "decode_tokens_per_s": ours[best]}
    for label in LLAMA_CPP_WEIGHTS:
        if b1.get(f"llama.cpp {label}"):
            results["best_pycodesmall_batch1"][f"vs_llama.cpp_{label}"] = ours[best] / b1[f"llama.cpp {label}"]
    ours_runtimes = {n: r for n, r in runtimes.items() if n.startswith("pycodesmall")}
    tokenizer = None
    if (directory / "tokenizer.json").is_file():
        from pycodesmall.tokenizer import PythonTokenizer

        tokenizer = PythonTokenizer.from_file(directory / "tokenizer.json")
    if "editor" not in skip:
        editor = dict(ours_runtimes)
        if tokenizer is not None:  # real code: a stdlib file up to a line start
            prompts = repeated_line_prompts(tokenizer, stdlib_files(10), 2, args.editor_context)
            editor.update({f"{n} + lookup": PycodesmallRuntime(r.backend, PromptLookup())
                           for n, r in ours_runtimes.items()})
        else:
            rng = np.random.default_rng(1)
            prompts = [rng.integers(3, config.vocab_size, args.editor_context).tolist()
                       for _ in range(2 * args.rounds)]
        editor.update({f"{n} + prefix reuse": PycodesmallRuntime(PrefixReuse(r.backend))
                       for n, r in ours_runtimes.items()})
        results["editor_latency"] = {
            "context_tokens": args.editor_context, "new_tokens": args.editor_new_tokens,
            "prompts": "stdlib code" if tokenizer is not None else "random ids",
            "runtimes": editor_latency(editor, prompts, args.editor_new_tokens)}
    if "lookup" not in skip:
        if tokenizer is not None:
            prompts = repeated_line_prompts(tokenizer, stdlib_files(6), 4, args.editor_context)
            results["lookup"] = {
                "workload": "complete 32 tokens at the start of a stdlib line whose text appeared "
                            f"earlier in the file; 6 files x 4 cursors, prompt <= {args.editor_context} tokens",
                "runtimes": lookup_workload({n: r.backend for n, r in ours_runtimes.items()},
                                            {n: r for n, r in runtimes.items() if n.startswith("llama.cpp")},
                                            prompts, 32, max(1, args.rounds // 2))}
        else:
            results["lookup"] = {"skipped": "random weights and no tokenizer: drafts copied from "
                                            "a file mean nothing to an untrained model; run with --model"}
    if tokenizer is not None:
        texts, described = quality_texts(args.held_out)
        results["quality_bits_per_byte"] = {
            "texts": described,
            "definition": "pycodesmall.bits_per_byte (whole files, half-context windows)",
            "runtimes": {n: bits_per_byte(backend_score_window(r.backend), tokenizer.encode,
                                          tokenizer.eot_id, texts, config.max_position_embeddings).value
                         for n, r in ours_runtimes.items()}}
    else:
        results["quality_bits_per_byte"] = {"skipped": "random weights: bits per byte mean nothing"}
    results["load_average_before_after"] = [load_before, os.getloadavg()]
    results["wall_seconds"] = time.time() - started

    stem = "generation" if args.model is None else f"generation_{Path(str(args.model)).name}"
    out = args.out or RESULTS / f"{stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    plot(results, out.with_suffix(".png"))
    print(json.dumps({k: v for k, v in results.items() if k not in ("throughput", "model_config")}
                     | {"decode_batch1": b1}, indent=2, default=str))


if __name__ == "__main__":
    main()
