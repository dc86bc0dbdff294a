"""Latency of the language server while someone types through real files.

For each file, lines are re-typed one keystroke at a time (incremental `didChange`, as an
editor sends them) and every few keystrokes an `inlineCompletion` is requested at the
cursor and timed until its answer arrives, one request at a time, with the server's default
settings (debounce included). Requests answered from the server's suggestion cache count
like any other: that is what the user waits for.

    python benchmarks/lsp_latency.py --model pycodesmall-tiny
    python benchmarks/lsp_latency.py --random-weights --settings '{"maxLines": 1, "maxNewTokens": 16}'

The second is for speed only: a random model of the released size. Random weights never end
a line, so they would decode `maxNewTokens` every time; capping it at 16 (a typical line)
times single-line suggestions of realistic length.

Writes benchmarks/results/lsp_latency.json (see `--out`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import torch
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from pycodesmall.training.provenance import dict_hash, git_commit

ROOT = Path(__file__).resolve().parents[1]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
FILES = ["textwrap.py", "shlex.py", "queue.py", "json/decoder.py", "csv.py", "fnmatch.py"]
URI_ROOT = "file:///benchmark/"


def build_random_model(directory: Path) -> Path:
    """A random-weight model the size of the released one: hidden 256, 6 layers, vocab ~8k."""
    from pycodesmall import CodeModel, ModelConfig, PythonTokenizer
    from pycodesmall.model import Transformer

    texts = [p.read_text(encoding="utf-8") for name in ("json", "email", "logging")
             for p in sorted((STDLIB / name).glob("*.py"))]
    tokenizer = PythonTokenizer.train(texts, "indent", vocab_size=8192)
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=tokenizer.vocab_size, hidden_size=256, num_hidden_layers=6,
                         num_attention_heads=8, max_position_embeddings=1024)
    return CodeModel(Transformer(config), tokenizer, device="cpu").save_pretrained(directory)


def typing_sessions(text: str, lines_per_file: int, rng: random.Random) -> list[tuple[int, str]]:
    """(line number, line) pairs to re-type: non-blank code lines, picked at random."""
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines)
                  if line.strip() and not line.lstrip().startswith(("#", '"', "'")) and len(line.strip()) >= 8]
    return [(i, lines[i]) for i in sorted(rng.sample(candidates, min(lines_per_file, len(candidates))))]


async def replay_file(client: LanguageClient, name: str, text: str, args, rng: random.Random) -> list[float]:
    """Re-type sampled lines of `text`; the latency in ms of each completion request."""
    uri = URI_ROOT + name
    lines = text.split("\n")
    version = 1
    latencies = []
    for number, line in typing_sessions(text, args.lines_per_file, rng):
        indent = len(line) - len(line.lstrip())
        # The file as it was before this line was typed: the line holds only its indentation.
        before = "\n".join(lines[:number] + [line[:indent]] + lines[number + 1:])
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=version, text=before)))
        for column in range(indent, len(line)):
            version += 1
            position = types.Position(number, column)
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangePartial(types.Range(position, position), line[column])]))
            if (column - indent + 1) % args.every:
                continue
            started = time.perf_counter()
            await asyncio.wait_for(client.text_document_inline_completion_async(types.InlineCompletionParams(
                context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier(uri), position=types.Position(number, column + 1))),
                args.timeout)
            latencies.append((time.perf_counter() - started) * 1000)
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    return latencies


def summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"requests": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "mean_ms": round(statistics.fmean(ordered), 1), "max_ms": round(ordered[-1], 1)}


async def forward_stderr(stream: asyncio.StreamReader) -> None:
    while line := await stream.readline():
        sys.stderr.write(line.decode(errors="replace"))


async def run(args, model_dir: Path) -> dict:
    client = LanguageClient("lsp-latency-benchmark", "1")
    statuses: list[dict] = []
    ready = asyncio.Event()

    @client.feature("pycodesmall/status")
    def on_status(params) -> None:
        statuses.append({"state": params.state, "message": params.message})
        if params.state != "loading":
            ready.set()

    await client.start_io(sys.executable, "-m", "pycodesmall.lsp_server", "--model", str(model_dir),
                          "--device", "cpu", "--threads", str(args.threads))
    # pygls pipes the server's stderr; drain it, or a chatty server blocks on a full pipe.
    stderr_forwarder = asyncio.create_task(forward_stderr(client._server.stderr))
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities())),
        initialization_options=args.settings))
    client.initialized(types.InitializedParams())
    await asyncio.wait_for(ready.wait(), 300)
    if statuses[-1]["state"] != "ready":
        raise SystemExit(f"the server could not load the model: {statuses[-1]['message']}")
    rng = random.Random(args.seed)
    per_file = {}
    for name in args.files:
        text = (STDLIB / name).read_text(encoding="utf-8")
        per_file[name] = await replay_file(client, name, text, args, rng)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    stderr_forwarder.cancel()
    return {"model_status": statuses[-1]["message"], "per_file": per_file}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="released name, local directory or Hub repo id")
    source.add_argument("--random-weights", action="store_true",
                        help="build a random-weight model of the released size (speed only)")
    parser.add_argument("--files", nargs="+", default=FILES, help="standard-library files to type through")
    parser.add_argument("--lines-per-file", type=int, default=6)
    parser.add_argument("--every", type=int, default=3, help="a request every N keystrokes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="the server's --threads")
    parser.add_argument("--timeout", type=float, default=60, help="seconds before a request counts as hung")
    parser.add_argument("--settings", type=json.loads, default={"maxLines": 1},
                        help="server settings as JSON (initializationOptions)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "lsp_latency.json")
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = build_random_model(Path(scratch) / "random") if args.random_weights else args.model
        outcome = asyncio.run(run(args, model_dir))
    latencies = [ms for file_latencies in outcome["per_file"].values() for ms in file_latencies]
    config = {"files": args.files, "lines_per_file": args.lines_per_file, "every": args.every,
              "seed": args.seed, "settings": args.settings, "threads": args.threads}
    result = {
        "benchmark": "lsp_latency",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "model": {"name": "random weights (hidden 256, 6 layers, vocab 8192)" if args.random_weights else args.model,
                  "random_weights": args.random_weights, "loaded": outcome["model_status"]},
        "note": ("RANDOM WEIGHTS: timings only; the suggestions mean nothing. Rerun with --model for "
                 "the released model.") if args.random_weights else "",
        "goal": {"p50_ms": 100, "p95_ms": 250, "what": "single-line inline completions"},
        "latency": summary(latencies),
        "per_file": {name: summary(ms) for name, ms in outcome["per_file"].items() if ms},
        "config": config,
        "config_hash": dict_hash(config),
        "git_commit": git_commit(),
        "hardware": {"machine": platform.machine(), "processor": platform.processor(), "cpu_count": os.cpu_count(),
                     "server_threads": args.threads, "load_average_at_end": os.getloadavg()},
        "software": {"python": platform.python_version(), "torch": torch.__version__},
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["latency"]), "->", args.out)


if __name__ == "__main__":
    main()
