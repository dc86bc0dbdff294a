"""Validation in files that are broken at the cursor, as files in an editor are.

Editor states come from held-out files of the corpus's test split (a seeded sample of files
up to `--max-chars`): a line blanked to its indentation, a line cut after one of its tokens,
a new empty block (`if x:` and the like) after a statement. The bundled model completes every
state once (greedy, `--max-new-tokens`, `--max-lines` if given, one thread, no validation); then
each validator judges the same raw completions, told how generation ended:

- `before`: `validate()` as it was before validation judged the completion by itself (the
  module at commit BEFORE, loaded from git: the code that ran, not a copy);
- `python_parser`: `pycodesmall.validate` (the interpreter's parser, `pycodesmall.syntax`), as
  `complete()` and the language server call it (`validate_completion`);
- `tree_sitter`: the same cuts and choices with tree-sitter-python answering the two parser
  questions (does the file fail only where it did, can the text still go on).

A shown completion "adds a syntax error the file did not have" when no continuation typed
after it makes the file parse: the judge tries closing an open string and the open brackets,
an operand, the rest of a header (`:`, ` in _:`, ` else _`, ...) and an indented `pass`
body, then the suffix, and asks `compile()`. The judge is checked on the held-out text itself:
every beginning of the text that was removed (cut after each of its tokens) must pass it.

    pip install -e ".[bench]"                          # tree-sitter, tree-sitter-python
    python benchmarks/validation_states.py            # >= 500 states, a few minutes
    python benchmarks/validation_states.py --corpus /path/to/test.jsonl.gz --states 600
    # one-line completions, as the language server asks for by default
    python benchmarks/validation_states.py --max-lines 1 --out benchmarks/results/validation_states_max_lines_1.json
    # iterating on a validator: the model completes once, later runs reuse its completions
    python benchmarks/validation_states.py --completions /tmp/completions.json \
        --validators python_parser --failures /tmp/failures.json --out /tmp/states.json

Writes benchmarks/results/validation_states.json (see `--out`).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import keyword
import random
import statistics
import subprocess
import sys
import time
import tokenize
import types
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import torch

import pycodesmall
from pycodesmall.api import validate_completion
from pycodesmall.syntax import _next_code as next_code, syntax_error
from pycodesmall.training.evaluation.benchmark_data import load_corpus_files
from pycodesmall.training.provenance import provenance
from syntax_judge import DEFINITION as JUDGE, adds_syntax_error

# The module, not the function that `pycodesmall` exports under the same name.
validate_module = importlib.import_module("pycodesmall.validate")

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "6bb51d7"  # the last commit of validate.py before it judged completions by themselves
KINDS = ("blank_line", "cut_line", "empty_block")
STATEMENTS_ENDING_A_BLOCK = ("return", "raise", "break", "continue", "pass", "@")
HEADERS = ("if {name}:", "for item in {name}:", "while {name}:", "with {name}:", "def helper({name}):")


@dataclass
class State:
    kind: str
    prefix: str
    suffix: str
    hole: str  # the held-out text the state removed ("pass" for a new empty block)
    file: str


# ----------------------------------------------------------------------------- states

def _one_line_statements(text: str) -> list[tuple[int, int, int, list]]:
    """(start, end, indentation width, tokens) of each statement of `text` that fills exactly
    one physical line; `end` is the offset of its line's end (before the line break)."""
    starts = [0]
    for line in io.StringIO(text):  # the lines tokenize reads
        starts.append(starts[-1] + len(line))
    statements, current = [], []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NEWLINE and current:
            first, last = current[0], current[-1]
            if first.start[0] == last.end[0]:
                line_start, line_end = starts[first.start[0] - 1], starts[first.start[0]]
                end = line_start + len(text[line_start:line_end].rstrip("\r\n"))
                statements.append((line_start, end, first.start[1], current))
            current = []
        elif tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.NEWLINE, tokenize.ENDMARKER):
            current.append(tok)
    return statements


def _indent_unit(text: str) -> str:
    """The file's smallest indentation in spaces (4 where it has none)."""
    widths = [len(line) - len(line.lstrip(" ")) for line in text.splitlines()
              if line.startswith(" ") and line.strip()]
    return " " * (min(widths) if widths else 4)


def editor_state(text: str, kind: str, rng: random.Random, file: str) -> State | None:
    """One editor state of `kind` at a random one-line statement of `text`, None if none fits."""
    try:
        statements = _one_line_statements(text)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    rng.shuffle(statements)
    for start, end, width, tokens in statements:
        indent = text[start:start + width]
        after = text[end:] if text[end:].strip() else ""  # the end of the file: no suffix
        if kind == "blank_line":
            return State(kind, text[:start] + indent, after, text[start + width:end], file)
        if kind == "cut_line" and len(tokens) >= 2:
            cut = start + rng.choice(tokens[:-1]).end[1]
            return State(kind, text[:cut], after, text[cut:end], file)
        if (kind == "empty_block" and tokens[0].string not in STATEMENTS_ENDING_A_BLOCK
                and tokens[-1].string != ":"):  # after a simple statement, not a header
            names = [t.string for t in tokens if t.type == tokenize.NAME
                     and not keyword.iskeyword(t.string)] or ["value"]
            header = rng.choice(HEADERS).format(name=rng.choice(names))
            unit = "\t" if indent.startswith("\t") else _indent_unit(text)
            head = text[:end] + "\n" + indent + header + "\n" + indent + unit
            return State(kind, head, after and "\n" + after.lstrip("\r\n"), "pass", file)
    return None


def make_states(corpus: Path, count: int, seed: int, max_chars: int) -> tuple[list[State], int]:
    """`count` states, kinds in turn, one per file, from files sampled by `seed`."""
    rng = random.Random(seed)
    files = [f for f in load_corpus_files(corpus) if 200 <= len(f.text) <= max_chars]
    rng.shuffle(files)
    states = []
    for f in files:
        if len(states) == count:
            break
        if syntax_error(f.text) is not None:
            continue
        state = editor_state(f.text, KINDS[len(states) % len(KINDS)], rng, f.path)
        if state is not None:
            states.append(state)
    return states, len(files)


# ----------------------------------------------------------------------------- judge

def beginnings(hole: str) -> list[str]:
    """The removed text cut after each of its tokens: every one is a valid beginning."""
    ends = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(hole).readline):
            if tok.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER) and tok.start[0] == 1:
                ends.add(tok.end[1])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return [hole[:e] for e in sorted(ends) if hole[:e].strip()]


# ----------------------------------------------------------------------------- validators

def before_validate():
    """`validate` from commit BEFORE, run from its source in git."""
    source = subprocess.run(["git", "show", f"{BEFORE}:pycodesmall/validate.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    module = sys.modules["validate_before"] = types.ModuleType("validate_before")
    exec(compile(source, f"{BEFORE}:pycodesmall/validate.py", "exec"), module.__dict__)
    return lambda prefix, completion, suffix: module.validate(prefix, completion.raw_text, suffix)


class TreeSitterState:
    """`EditorState`'s two questions answered from tree-sitter-python's error nodes (ERROR,
    MISSING): the file with the completion has no error node inside it or up to the end of
    the line of code after it (none at all where the state had none); the text can still go
    on when its error nodes all reach its end."""

    parser = None

    def __init__(self, prefix: str, suffix: str):
        if TreeSitterState.parser is None:
            import tree_sitter
            import tree_sitter_python
            TreeSitterState.parser = tree_sitter.Parser(
                tree_sitter.Language(tree_sitter_python.language()))
        self.prefix, self.suffix = prefix, suffix
        self.state_errors = self._errors(prefix + suffix)
        code = next_code(suffix)
        self.checked_suffix = code[2] if code else len(suffix)

    def _errors(self, source: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of the error nodes of `source`."""
        data = source.encode("utf-8")
        spans, stack = [], [self.parser.parse(data).root_node]
        while stack:
            node = stack.pop()
            if node.is_error or node.is_missing:
                spans.append((len(data[:node.start_byte].decode("utf-8", "replace")),
                              len(data[:node.end_byte].decode("utf-8", "replace"))))
            elif node.has_error:
                stack.extend(node.children)
        return spans

    def fits(self, text: str) -> bool:
        errors = self._errors(self.prefix + text + self.suffix)
        if not self.state_errors:
            return not errors
        start, end = len(self.prefix), len(self.prefix) + len(text) + self.checked_suffix
        return not any(a <= end and b >= start for a, b in errors)

    def ending(self, text: str) -> str:
        source = self.prefix + text
        end = len(source.rstrip())
        return "lines" if all(b >= end for _, b in self._errors(source)) else "broken"


def tree_sitter_validate(prefix: str, completion, suffix: str):
    with mock.patch.object(validate_module, "EditorState", TreeSitterState):
        return validate_completion(prefix, completion, suffix)


def python_parser_validate(prefix: str, completion, suffix: str):
    return validate_completion(prefix, completion, suffix)


# ----------------------------------------------------------------------------- run

def complete_states(states: list[State], batch: int, max_new_tokens: int,
                    max_lines: int | None) -> tuple[list, float]:
    model = pycodesmall.load()
    started, completions = time.perf_counter(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # long files: the prompt is cut from the left
        for i in range(0, len(states), batch):
            part = states[i:i + batch]
            rows = pycodesmall.complete_batch([s.prefix for s in part], model,
                                              suffixes=[s.suffix for s in part],
                                              max_new_tokens=max_new_tokens, max_lines=max_lines,
                                              validate=False)
            completions += [row[0] for row in rows]
    return completions, time.perf_counter() - started


def cached_completions(path: Path, states: list[State], batch: int, max_new_tokens: int,
                       max_lines: int | None) -> tuple[list, float]:
    """The model's raw completions and finish reasons from `path` when it holds them for
    these states (their prefixes and suffixes hashed), otherwise completed and saved there,
    so that re-runs cost only the validators and the judge."""
    digest = hashlib.sha256(json.dumps([[s.prefix, s.suffix] for s in states]).encode()).hexdigest()
    key = {"states_sha256": digest, "max_new_tokens": max_new_tokens, "max_lines": max_lines}
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["key"] == key:
            return ([types.SimpleNamespace(**c) for c in saved["completions"]], saved["model_s"])
        print(f"{path}: saved for other states; completing again", file=sys.stderr)
    completions, model_s = complete_states(states, batch, max_new_tokens, max_lines)
    rows = [{"raw_text": c.raw_text, "finish_reason": c.finish_reason, "stop_rule": c.stop_rule}
            for c in completions]
    path.write_text(json.dumps({"key": key, "model_s": model_s, "completions": rows}), encoding="utf-8")
    return completions, model_s


def judge_validator(name, validator, states, completions, judged, examples=3,
                    failures: list | None = None) -> dict:
    shown = Counter()
    adds_error, unfinished, ends_open, nothing, times, bad = Counter(), Counter(), Counter(), Counter(), [], []
    for state, completion, ok in zip(states, completions, judged):
        if not ok:
            continue
        started = time.perf_counter()
        result = validator(state.prefix, completion, state.suffix)
        times.append(time.perf_counter() - started)
        if not result.text.strip():
            nothing[state.kind] += 1
            continue
        shown[state.kind] += 1
        if getattr(result, "ends_open", False):
            ends_open[state.kind] += 1
        if syntax_error(state.prefix + result.text + state.suffix) is not None:
            unfinished[state.kind] += 1
            if adds_syntax_error(state.prefix, result.text, state.suffix):
                adds_error[state.kind] += 1
                example = {"kind": state.kind, "prefix_end": state.prefix[-80:],
                           "shown": result.text, "suffix_start": state.suffix[:80]}
                if len(bad) < examples:
                    bad.append(example)
                if failures is not None:
                    failures.append({"file": state.file, "raw": completion.raw_text,
                                     "finish_reason": completion.finish_reason,
                                     "stop_rule": completion.stop_rule, **example})
    total = lambda c: {"all": sum(c.values()), **{k: c[k] for k in KINDS}}
    return {
        "shown": total(shown),
        "shown_adding_a_syntax_error": total(adds_error),
        "shown_not_parsing_as_is_but_repairable_after_it": {
            k: total(unfinished)[k] - total(adds_error)[k] for k in ("all", *KINDS)},
        "shown_ending_open": total(ends_open),
        "states_with_no_completion": total(nothing),
        "validate_ms": {"p50": round(1000 * statistics.median(times), 2),
                        "p95": round(1000 * sorted(times)[int(0.95 * (len(times) - 1))], 2)},
        "examples_adding_a_syntax_error": bad,
    }


def true_beginnings(validators: dict, states: list[State], judged: list[bool],
                    failures: dict | None = None) -> dict:
    """How the judge and each validator (told the text was cut off) treat every beginning
    of the removed held-out text."""
    count, judge_rejects, rejects = 0, 0, Counter()
    for state, ok in zip(states, judged):
        if not ok:
            continue
        for text in beginnings(state.hole):
            count += 1
            judge_rejects += adds_syntax_error(state.prefix, text, state.suffix)
            for name, validator in validators.items():
                cut_off = pycodesmall.Completion(text, None, 0, 0.0, "length", raw_text=text)
                result = validator(state.prefix, cut_off, state.suffix)
                rejects[name] += result.text != text
                if failures is not None and result.text != text:
                    failures.setdefault(name, []).append(
                        {"kind": state.kind, "prefix_end": state.prefix[-80:], "beginning": text,
                         "shown": result.text, "suffix_start": state.suffix[:80]})
    return {"beginnings": count, "judge_finds_a_syntax_error": judge_rejects,
            "validator_cuts_or_rejects": dict(rejects)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus" / "test.jsonl.gz")
    parser.add_argument("--states", type=int, default=510)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-chars", type=int, default=12_000)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--max-lines", type=int, default=None)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "validation_states.json")
    parser.add_argument("--completions", type=Path, default=None,
                        help="keep the model's raw completions in this file: saved on the first run, "
                             "reused afterwards (for iterating on the validators)")
    parser.add_argument("--validators", default="before,python_parser,tree_sitter",
                        help="comma-separated: which validators to judge")
    parser.add_argument("--failures", type=Path, default=None,
                        help="write every shown completion that adds a syntax error, and every true "
                             "beginning cut or rejected, to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = {"corpus": args.corpus.name, "states": args.states, "seed": args.seed,
              "max_chars": args.max_chars, "max_new_tokens": args.max_new_tokens,
              "max_lines": args.max_lines,
              "batch": args.batch, "threads": 1, "model": "pycodesmall-tiny (bundled)",
              "before_commit": BEFORE}
    record = provenance(config)
    started = time.perf_counter()
    available = {"before": before_validate, "python_parser": lambda: python_parser_validate,
                 "tree_sitter": lambda: tree_sitter_validate}
    validators = {name: available[name]() for name in args.validators.split(",")}
    states, files = make_states(args.corpus, args.states, args.seed, args.max_chars)
    if args.completions is None:
        completions, model_s = complete_states(states, args.batch, args.max_new_tokens,
                                               args.max_lines)
    else:
        completions, model_s = cached_completions(args.completions, states, args.batch,
                                                  args.max_new_tokens, args.max_lines)
    failures = None if args.failures is None else {"adds_a_syntax_error": {}, "true_beginnings": {}}
    # States the judge itself cannot repair with an empty completion are left out.
    judged = [not adds_syntax_error(s.prefix, "", s.suffix) for s in states]
    result = {
        **record,
        "states": {"all": len(states), **Counter(s.kind for s in states),
                   "parsing_without_a_completion": sum(syntax_error(s.prefix + s.suffix) is None
                                                       for s in states),
                   "judged": sum(judged), "files_sampled_from": files},
        "completions": {"model_s": round(model_s, 1),
                        "finish_reasons": dict(Counter(c.finish_reason for c in completions)),
                        "blank_raw": sum(not c.raw_text.strip() for c in completions)},
        "judge": JUDGE,
        "validators": {name: judge_validator(
            name, v, states, completions, judged,
            failures=None if failures is None else failures["adds_a_syntax_error"].setdefault(name, []))
            for name, v in validators.items()},
        "true_beginnings": true_beginnings(validators, states, judged,
                                           None if failures is None else failures["true_beginnings"]),
    }
    result["wall_time_s"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if failures is not None:
        args.failures.write_text(json.dumps(failures, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v["shown_adding_a_syntax_error"]["all"] for k, v in result["validators"].items()}),
          "->", args.out)


if __name__ == "__main__":
    sys.exit(main())
