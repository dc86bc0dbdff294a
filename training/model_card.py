"""Model cards rendered from result files only: nothing in a card is typed by hand."""

from __future__ import annotations

import json

__all__ = ["render_card"]


def render_card(release: dict, evaluations: list[dict]) -> str:
    """The Markdown card (with Hugging Face YAML metadata) of a released model."""
    training, corpus = release["training"], release.get("corpus") or {}
    config = training.get("config") or {}
    size_mib = sum(f["bytes"] for f in release["files"].values()) / 2**20
    lines = [
        "---",
        "license: apache-2.0",
        "language:",
        "- code",
        "library_name: pycodesmall",
        "pipeline_tag: text-generation",
        "tags:",
        "- python",
        "- code-completion",
        "- llama",
        "datasets:",
        "- pycodesmall-corpus  # built by `pycodesmall-train data build`; see below",
        "metrics:",
        "- bits-per-byte",
        "- pass@k",
        "---",
        "",
        f"# {release['name']}",
        "",
        f"A {release['parameters'] / 1e6:.1f}M-parameter LLaMA-style model for Python code, trained from "
        f"scratch on CPU with pycodesmall. Generated from `results/models/{release['name']}/release.json`; "
        "do not edit by hand (`pycodesmall-train card` re-renders it).",
        "",
        "## Use",
        "",
        "```python",
        "import pycodesmall",
        f"model = pycodesmall.load({release['name']!r})",
        "print(pycodesmall.complete('def fibonacci(n):\\n', model=model).text)",
        "```",
        "",
        "## Facts",
        "",
        "| | |",
        "| --- | --- |",
        f"| parameters | {release['parameters']:,} |",
        f"| tokenizer | `{release['tokenizer']['variant']}`, {release['tokenizer']['vocab_size']} ids |",
        f"| context | {config.get('model', {}).get('block_size', 'n/a')} tokens |",
        f"| weights | {release['dtype']}, {size_mib:.1f} MiB with tokenizer |",
        f"| training tokens | {training.get('tokens'):,} in {training.get('steps')} steps |",
        f"| training wall time | {(training.get('wall_time_s') or 0) / 60:.1f} min on "
        f"{_hardware(training.get('hardware'))} |",
        f"| validation loss (training log) | {training.get('val_loss'):.4f} nats/token |",
        f"| validation bits per byte (training log's approximation, random windows) | "
        f"{training.get('val_bpb_approx'):.4f} |",
        f"| training commit | `{training.get('git_commit')}` |",
        f"| config sha256 | `{training.get('config_sha256')}` |",
        "",
        "## Training",
        "",
        "```bash",
        *release["commands"],
        "```",
        "",
        "Config as run:",
        "",
        "```json",
        json.dumps(config, indent=2),
        "```",
        "",
    ]
    lines += _corpus_section(corpus)
    lines += _evaluation_section(evaluations)
    lines += ["## Samples", "", f"Completions of fixed prompts by the released weights, "
              f"{_decoding(release['sampling'])}, unedited (validation cut each to its longest "
              "valid prefix).", ""]
    for sample in release["samples"]:
        lines += ["```python", sample["prompt"] + sample["completion"], "```",
                  f"*valid: {sample['valid']}, stopped by: {sample['finish_reason']}*", ""]
    lines += ["## Limitations", "",
              "A model this small completes common Python idioms and local patterns; it does not "
              "reliably solve programming problems. Generated code is untrusted: read it before "
              "running it.", ""]
    return "\n".join(lines)


def _decoding(sampling: dict) -> str:
    how = "greedy" if sampling["temperature"] == 0 else f"sampled at temperature {sampling['temperature']}"
    if sampling["repetition_penalty"] != 1:
        how += f" with repetition penalty {sampling['repetition_penalty']}"
    return how


def _hardware(hardware: dict | None) -> str:
    if not hardware:
        return "unknown hardware"
    device = hardware.get("cuda_device") or f"{hardware.get('cpu_count')} CPU cores"
    return f"{device} ({hardware.get('processor', '')}, torch {hardware.get('torch')})"


def _corpus_section(corpus: dict) -> list[str]:
    if not corpus:
        return []
    lines = ["## Corpus", "", f"Build report: `{corpus['report']}` (config sha256 "
             f"`{corpus.get('config_sha256')}`), {corpus.get('sources')} sources; "
             f"{corpus.get('decontamination_dropped')} files dropped as overlapping HumanEval/MBPP.", "",
             "| split | packages | files | MB |", "| --- | ---: | ---: | ---: |"]
    for split, counts in (corpus.get("splits") or {}).items():
        lines.append(f"| {split} | {counts['packages']} | {counts['files']} | {counts['bytes'] / 1e6:.1f} |")
    return lines + [""]


def _evaluation_section(evaluations: list[dict]) -> list[str]:
    if not evaluations:
        return []
    lines = ["## Evaluation", "", "| task | metric | value |", "| --- | --- | ---: |"]
    for result in evaluations:
        for metric, value in sorted((result.get("summary") or {}).items()):
            if isinstance(value, (int, float)):
                lines.append(f"| {result.get('task')} | {metric} | {value:.4g} |")
    return lines + [""]
