"""The README's figures, rendered from result files: nothing between its markers is typed by hand.

A generated block of README.md is the text between two HTML comments, which Markdown does
not show:

    <!-- generated: released-model -->
    ...
    <!-- /generated -->

`render_blocks` renders every block from the committed result files below the repository
root; `replace_blocks` puts them between their markers; `pycodesmall-train card --readme
README.md` does both. tests/training/test_readme_blocks.py fails when README.md and the
result files disagree.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from pycodesmall.errors import PycodesmallError

__all__ = ["ReadmeBlockError", "RELEASED", "PREVIOUS", "SPEED_RESULTS", "render_blocks",
           "released_model_block", "speed_block", "replace_blocks", "update_readme"]

RELEASED = "pycodesmall-tiny"  # the model the README presents
PREVIOUS = "pycodesmall-tiny-v0.1"  # the release it replaced, evaluated again on the same sample
SPEED_RESULTS = Path("benchmarks/results/generation_pycodesmall-tiny_1thread.json")
RESULTS = Path("results/models")

_MARKER = re.compile(r"<!-- (?:generated: (?P<name>[\w-]+)|/generated) -->")
_NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


class ReadmeBlockError(PycodesmallError, ValueError):
    """README markers that do not pair up, or that name a block nobody renders."""


def render_blocks(root: Path) -> dict[str, str]:
    """Every generated block of the README, by name, from the result files below `root`."""
    return {"released-model": released_model_block(root), "speed": speed_block(root)}


def replace_blocks(text: str, blocks: dict[str, str]) -> str:
    """`text` with the body between each pair of markers replaced by its block.

    Markers are kept. Each opening marker must be followed by a closing one before the next
    opening, every name in the text must be a key of `blocks` and every key must appear once:
    anything else raises `ReadmeBlockError`, so that a mistyped or deleted marker is found,
    not silently skipped.
    """
    out, seen, position, name = [], [], 0, None
    for marker in _MARKER.finditer(text):
        line = text.count("\n", 0, marker.start()) + 1
        if marker["name"] is None:  # a closing marker
            if name is None:
                raise ReadmeBlockError(f"line {line}: `<!-- /generated -->` without an opening marker")
            out.append(blocks[name].rstrip("\n") + "\n")
            position, name = marker.start(), None
            continue
        if name is not None:
            raise ReadmeBlockError(f"line {line}: block {marker['name']!r} opens inside block {name!r}, "
                                   "which has no `<!-- /generated -->`")
        name = marker["name"]
        if name not in blocks:
            raise ReadmeBlockError(f"line {line}: unknown generated block {name!r} "
                                   f"(known: {', '.join(sorted(blocks))})")
        if name in seen:
            raise ReadmeBlockError(f"line {line}: generated block {name!r} appears twice")
        seen.append(name)
        out.append(text[position:marker.end()] + "\n")
        position = marker.end() + 1 if text.startswith("\n", marker.end()) else marker.end()
    if name is not None:
        raise ReadmeBlockError(f"generated block {name!r} has no `<!-- /generated -->`")
    missing = sorted(set(blocks) - set(seen))
    if missing:
        raise ReadmeBlockError(f"no `<!-- generated: NAME -->` marker for block(s) {', '.join(missing)}")
    return "".join(out) + text[position:]


def update_readme(readme: Path) -> Path:
    """Rewrite the generated blocks of `readme` (at a repository root) from its result files."""
    readme.write_text(replace_blocks(readme.read_text(), render_blocks(readme.parent)))
    return readme


def released_model_block(root: Path) -> str:
    """The "The released model" paragraph: size, training and held-out results against `PREVIOUS`."""
    release = _load(root / RESULTS / RELEASED / "release.json")
    ours, before = _evaluations(root, RELEASED), _evaluations(root, PREVIOUS)
    training, corpus = release["training"], release["corpus"]
    report = _load(root / corpus["report"])
    if report.get("config_sha256") != corpus.get("config_sha256"):
        raise ReadmeBlockError(f"{corpus['report']} is not the corpus build that {RELEASED} records "
                               f"(config sha256 {report.get('config_sha256')} vs {corpus.get('config_sha256')})")
    pypi_packages = sum(source["source"] == "pypi" for source in report["sources"])
    label = PREVIOUS.removeprefix(f"{RELEASED}-")
    return _paragraph(
        f"`{RELEASED}` ({release['parameters'] / 1e6:.1f}M parameters, `{release['tokenizer']['variant']}` "
        f"tokenizer, {training['config']['model']['block_size']}-token context) is bundled in the wheel.",
        f"Its card, [`model_cards/{RELEASED}.md`](model_cards/{RELEASED}.md), is generated from "
        f"`results/models/{RELEASED}/` (training record, evaluation results, unedited samples); every "
        "evaluation table is in [`results/models/EVALUATION.md`](results/models/EVALUATION.md) "
        "(`pycodesmall-train report`).",
        f"It was trained for {_duration(training['wall_time_s'])} on {_hardware(training['hardware'])} "
        f"({training['tokens'] / 1e6:.1f}M tokens) on the real corpus: the standard library and "
        f"{pypi_packages} PyPI packages, {corpus['splits']['train']['bytes'] / 1e6:.0f} MB of training code.",
        f"On {ours['bpb']['files']} held-out files of packages it never saw it reaches "
        f"{ours['bpb']['bits_per_byte']:.3f} bits per byte and completes {ours['lines']['exact_match']:.1%} "
        f"of lines exactly, against {before['bpb']['bits_per_byte']:.3f} and "
        f"{before['lines']['exact_match']:.1%} for {label}, the same model trained on the standard library "
        f"alone ([`results/models/{PREVIOUS}/`](results/models/{PREVIOUS}/README.md)).",
        f"It completes local patterns and common idioms and {_solves(ours)}: a baseline for the scaling "
        "study, not a coding assistant.",
    )


def speed_block(root: Path) -> str:
    """The "Benchmarks" paragraph: decode speed, prompt lookup and editor latency at one thread.

    The int8-vs-fp32 bits per byte is stated only when the result file records that it was
    measured with `pycodesmall.bits_per_byte` (whole files) on held-out files: older runs
    scored the first tokens of each file, another quantity.
    """
    result = _load(root / SPEED_RESULTS)
    settings, throughput, lookup = result["settings"], result["throughput"], result["lookup"]
    editor, quality = result["editor_latency"], result.get("quality_bits_per_byte") or {}

    def decode(runtime: str) -> str:
        return f"{throughput[runtime]['1']['decode_tokens_per_s']:.0f}"

    def looked_up(runtime: str) -> str:
        return f"{lookup['runtimes'][runtime]['lookup_decode_tokens_per_s']:.0f}"

    prompt_cap = re.search(r"prompt <= (\d+) tokens", lookup["workload"])
    if prompt_cap is None:
        raise ReadmeBlockError(f"{SPEED_RESULTS}: the lookup workload does not state its prompt length: "
                               f"{lookup['workload']!r}")
    llama_cpp = _join([f"{decode(name)} ({name.removeprefix('llama.cpp ')})" for name in throughput
                       if name.startswith("llama.cpp ") and throughput[name].get("1")])
    sentences = [
        f"Measured here with the released model (batch 1, {settings['prompt_tokens']}-token prompt, "
        f"{_count(settings['threads'], 'thread')}, medians of {settings['rounds']} rounds; "
        f"`{SPEED_RESULTS}`): decoding runs at {decode('transformers generate')} tokens/s with transformers "
        f"`generate`, {decode('pycodesmall torch')} with the torch backend, {decode('pycodesmall onnx fp32')} "
        f"with ONNX Runtime fp32 and {decode('pycodesmall onnx int8')} with its int8 export, against "
        f"llama.cpp's {llama_cpp} "
        "on the same weights in the same run (the machine is shared: absolute numbers move between runs, "
        "ratios much less).",
        f"Completing lines of real files (prompts of up to {prompt_cap[1]} tokens), prompt-lookup decoding "
        f"reaches {looked_up('pycodesmall onnx fp32')} tokens/s in fp32 and {looked_up('pycodesmall onnx int8')} "
        f"in int8, llama.cpp f16 {lookup['runtimes']['llama.cpp f16']['plain_decode_tokens_per_s']:.0f}.",
    ]
    definition = quality.get("definition") or ""
    if (definition.startswith("pycodesmall.bits_per_byte") and "whole files" in definition
            and "held-out" in quality.get("texts", "")):
        fp32, int8 = (quality["runtimes"][f"pycodesmall onnx {p}"] for p in ("fp32", "int8"))
        sentences.append(f"int8 costs {int8 - fp32:.3f} bits per byte on held-out files "
                         f"({int8:.3f} vs {fp32:.3f}).")
    latency = editor["runtimes"]
    sentences.append(
        f"An editor request ({editor['context_tokens']} tokens of context, {editor['new_tokens']} new tokens) "
        f"takes {latency['pycodesmall onnx int8']['p50_ms']:.0f} ms at the median with int8, "
        f"{latency['pycodesmall onnx int8 + prefix reuse']['p50_ms']:.0f} ms when it reuses the keys and "
        "values of the request made a few keystrokes earlier.")
    return _paragraph(*sentences)


def _paragraph(*sentences: str) -> str:
    return textwrap.fill(" ".join(sentences), width=92, break_long_words=False, break_on_hyphens=False)


def _load(path: Path) -> dict:
    if not path.is_file():
        raise ReadmeBlockError(f"the README is rendered from {path}, which does not exist")
    return json.loads(path.read_text())


def _evaluations(root: Path, name: str) -> dict[str, dict]:
    """The summaries of a model's evaluations the README quotes, by task."""
    files = {"bpb": "eval_bpb.json", "lines": "eval_lines.json", "humaneval": "eval_humaneval.json",
             "mbpp": "eval_mbpp-sanitized-0shot.json"}
    out = {}
    for task, file in files.items():
        result = _load(root / RESULTS / name / file)
        out[task] = {**result["summary"], "config": result["config"]}
    return out


def _solves(evaluations: dict[str, dict]) -> str:
    """ "solves 0 of 164 HumanEval and 0 of 427 MBPP problems (greedy pass@1)", from the results."""
    humaneval, mbpp = evaluations["humaneval"], evaluations["mbpp"]
    decodings = {_decoding(humaneval["config"]), _decoding(mbpp["config"])}
    if len(decodings) != 1:
        raise ReadmeBlockError(f"HumanEval and MBPP of {RELEASED} were decoded differently: {sorted(decodings)}")
    if humaneval["samples_per_problem"] == mbpp["samples_per_problem"] == 1:
        parts = [f"{round(r['pass@1'] * r['problems'])} of {r['problems']} {task}"
                 for task, r in (("HumanEval", humaneval), ("MBPP", mbpp))]
        return f"solves {' and '.join(parts)} problems ({decodings.pop()} pass@1)"
    return (f"reaches a pass@1 of {humaneval['pass@1']:.1%} on HumanEval's {humaneval['problems']} and "
            f"{mbpp['pass@1']:.1%} on MBPP's {mbpp['problems']} problems ({decodings.pop()})")


def _decoding(config: dict) -> str:
    return "greedy" if config["temperature"] == 0 else f"temperature {config['temperature']}"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minutes" if minutes < 120 else f"{seconds / 3600:.1f} hours"


def _hardware(hardware: dict) -> str:
    return hardware.get("cuda_device") or _count(hardware["cpu_count"], "CPU core")


def _count(n: int, thing: str) -> str:
    """ "two CPU cores", "one thread": small counts in words, as prose writes them."""
    word = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)
    return f"{word} {thing}{'' if n == 1 else 's'}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
