"""Replay typing through held-out files against the real language server, as an editor would.

Each session opens one file of the corpus's test split (a seeded sample of the files of
`--min-lines` lines or more that parse) with a stretch of `--lines` lines removed from a
random code line on; the first `--typed-files` sessions then type the stretch back one
keystroke at a time (the others only give more fresh-file requests). As VS Code drives the
server over stdio:

- `didOpen`, then the first `inlineCompletion` request at the cursor (the file is fresh:
  nothing of it is in the server's caches; the user waits for this answer);
- one incremental `didChange` per keystroke; Enter inserts the newline and the next line's
  indentation in one edit, as an editor's auto-indent does;
- a request after every keystroke that the simulated typist follows by a pause longer than
  the debounce (`--debounce-ms`, the extension's default `debounceMs`); the server applies
  its own `debounceMs` on top, with its default settings throughout;
- when the next keystroke comes before the answer, `$/cancelRequest` for the stale request
  (VS Code cancels it as the document changes), and its answer is not shown.

The typist (`Typist`) types `chars_per_second` within a token, pauses longer after a token
and longest at the start of a new line; every gap has a lognormal jitter, and every model
and backend sees the same keystrokes and gaps. Idle time is skipped: once a request is
answered the next keystroke is sent at once, as the server does nothing time-based while
idle, so a run takes the time of the requests rather than of the typing.

Measures per released model and backend (each run is a fresh server process):
- latency, from sending a request to its answer; it includes the server's debounce wait,
  and the user waits the client's debounce before it. Percentiles are Kaplan-Meier
  estimates: a request cancelled after t ms only says its answer would have taken longer
  (`km_quantile`); `open` requests are never cancelled;
- shown: the share of requests whose answer arrived in time with a non-blank suggestion;
- confirmed, of the shown suggestions: the next token (the first token of the suggestion,
  by Python's `tokenize`, with the whitespace before it, equals that of the text the file
  goes on with) and the whole line (the suggestion's first line equals the rest of the line
  typed next; `first_line`);
- shown suggestions that add a syntax error the file did not have, by the benchmarks' judge
  (`syntax_judge.adds_syntax_error`) on the top-level statements around the stretch
  (`Session.judged_parts`), states where the judge cannot repair the file without a
  suggestion left out (goal 0).
Intervals are 95% percentile bootstraps over sessions (a session's requests go together).

    python benchmarks/editor_replay.py --quick      # smoke run, under a minute; writes to the temp dir
    python benchmarks/editor_replay.py --note "beside a training job"   # 8 minutes on 2 busy cores

Writes benchmarks/results/editor_replay.json (see `--out`).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import functools
import io
import itertools
import json
import math
import os
import random
import re
import sys
import tempfile
import time
import tokenize
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from pycodesmall.hub import list_models
from pycodesmall.lsp_server.settings import Settings
from pycodesmall.pretrained import BACKENDS
from pycodesmall.syntax import syntax_error
from pycodesmall.training.evaluation.benchmark_data import load_corpus_files
from pycodesmall.training.provenance import provenance
from syntax_judge import DEFINITION as JUDGE, adds_syntax_error

ROOT = Path(__file__).resolve().parents[1]
# The console script: from the repository root `python -m` would find the source folder
# `pycodesmall/`, which lacks the `lsp_server` that only the installed package maps in.
SERVER = str(Path(sys.executable).with_name("pycodesmall-lsp"))
URI_ROOT = "file:///replay/"
GOALS_MS = {"open_p95": 150, "typing_p95": 100}


# ----------------------------------------------------------------------------- typing

def keystrokes(text: str) -> list[str]:
    """`text` as the edits a typist makes: one per character, Enter with the indentation after it."""
    return re.findall(r"\n[ \t]*|.", text, flags=re.DOTALL)


@dataclass(frozen=True)
class Typist:
    """When the keys come: the editor asks after every pause longer than its debounce."""

    chars_per_second: float = 7.0  # within a token
    token_pause_ms: float = 250.0  # added after the last character of a token
    line_pause_ms: float = 1000.0  # added after Enter, before the new line is typed
    jitter: float = 0.5  # sigma of the lognormal factor on every gap

    def gaps_ms(self, keys: list[str], rng: random.Random) -> list[float]:
        """The pause after each keystroke, before the next one."""
        gaps = []
        for key, following in zip(keys, keys[1:] + ["\n"]):
            gap = 1000 / self.chars_per_second
            if key.startswith("\n"):
                gap += self.line_pause_ms
            elif not (_is_word(key) and _is_word(following)):
                gap += self.token_pause_ms
            gaps.append(gap * rng.lognormvariate(0, self.jitter))
        return gaps


def _is_word(key: str) -> bool:
    return key.isalnum() or key == "_"


# ----------------------------------------------------------------------------- sessions

@dataclass(frozen=True)
class Session:
    """A file with text[start:end] removed, to be typed back; the cursor starts at `start`.

    text[region[0]:region[1]] is the run of whole top-level statements that holds the
    stretch: the judge looks at that part of the file only (see `judged_parts`).
    """

    path: str
    package: str
    text: str
    start: int
    end: int
    region: tuple[int, int]

    def prefix(self, typed: int) -> str:
        return self.text[:self.start + typed]

    def suffix(self) -> str:
        return self.text[self.end:]

    def typed_next(self, typed: int) -> str:
        """What the file goes on with after the cursor: the rest of the stretch, then the file."""
        return self.text[self.start + typed:]

    def judged_parts(self, typed: int) -> tuple[str, str]:
        """The region's text before and after the cursor. The statements around it are
        complete, so where the region parses the whole file does; tokenizing and parsing
        a 5,000-line file for every suggestion would take longer than the replay."""
        return self.text[self.region[0]:self.start + typed], self.text[self.end:self.region[1]]


def pick_sessions(corpus: Path, count: int, lines: int, min_lines: int, seed: int) -> list[Session]:
    """`count` sessions, one per file, from parsing test files of `min_lines` lines or more;
    the stretch starts at a random line that holds code (not blank, not a comment)."""
    rng = random.Random(seed)
    files = [f for f in load_corpus_files(corpus)
             if f.text.count("\n") >= min_lines and "\r" not in f.text and syntax_error(f.text) is None]
    rng.shuffle(files)
    sessions = []
    for f in files[:count]:
        starts = [0] + [m.end() for m in re.finditer("\n", f.text)]  # where each line starts
        i = rng.choice([i for i in range(len(starts) - lines) if _is_code(f.text[starts[i]:starts[i + 1]])])
        line = f.text[starts[i]:starts[i + 1]]
        first, last = _top_level_lines(f.text, i + 1, i + lines)
        sessions.append(Session(f.path, f.package, f.text, starts[i] + len(line) - len(line.lstrip()),
                                starts[i + lines] - 1, (starts[first - 1], starts[last] if last < len(starts) else len(f.text))))
    return sessions


def _top_level_lines(text: str, first: int, last: int) -> tuple[int, int]:
    """The first and last line (1-based) of the top-level statements that lines first..last touch."""
    for node in ast.parse(text).body:
        top = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if top <= last and node.end_lineno >= first:
            first, last = min(first, top), max(last, node.end_lineno)
    return first, last


def _is_code(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


# ----------------------------------------------------------------------------- measures

def first_token(text: str) -> str:
    """The whitespace before `text`'s first token and the token, by Python's `tokenize` on
    its first line of code; that whole line where it does not tokenize (an open string)."""
    code = text.lstrip()
    line = code.split("\n", 1)[0]
    try:
        token = next(t.string for t in tokenize.generate_tokens(io.StringIO(line).readline)
                     if t.type not in (tokenize.INDENT, tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER))
    except (tokenize.TokenError, SyntaxError, StopIteration):
        token = line.rstrip()
    return text[:len(text) - len(code)] + token


def first_line(text: str) -> str:
    """`text` up to the end of its first line of code (whitespace before it kept, after it dropped)."""
    end = text.find("\n", len(text) - len(text.lstrip()))
    return text[:end if end >= 0 else len(text)].rstrip()


def confirmed(shown: str, typed_next: str) -> tuple[bool, bool]:
    """Whether the text typed next confirms the suggestion's next token, and its whole line."""
    return first_token(shown) == first_token(typed_next), first_line(shown) == first_line(typed_next)


def km_quantile(ms: list[float], answered: list[bool], q: float) -> float | None:
    """The q-quantile of the time to an answer (Kaplan-Meier): a request cancelled after t ms
    leaves the count at risk without an answer. None when too many are cancelled to tell."""
    at_risk, survival = len(ms), 1.0
    for t, done in sorted(zip(ms, answered), key=lambda x: (x[0], not x[1])):
        if done:
            survival *= 1 - 1 / at_risk
            if survival <= 1 - q + 1e-12:
                return t
        at_risk -= 1
    return None


# ----------------------------------------------------------------------------- the editor

@dataclass
class Request:
    session: int
    kind: str  # "open": the first after didOpen; "typing": after a keystroke
    typed: int  # characters of the stretch typed when it was sent
    ms: float  # until the answer, or until it was cancelled
    answered: bool
    shown: str = ""  # the first suggestion, when answered in time


class Editor:
    """One open document with its cursor, changed and asked as VS Code does over LSP."""

    def __init__(self, client: LanguageClient):
        self.client = client
        self.ids = itertools.count()
        self.uri, self.version, self.cursor = "", 0, types.Position(0, 0)

    def open(self, uri: str, text: str, cursor: int) -> None:
        self.uri, self.version = uri, 1
        line_start = text.rfind("\n", 0, cursor) + 1
        self.cursor = types.Position(text.count("\n", 0, cursor), _utf16(text[line_start:cursor]))
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    def type(self, key: str) -> None:
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=self.version, uri=self.uri),
            [types.TextDocumentContentChangePartial(types.Range(self.cursor, self.cursor), key)]))
        if key.startswith("\n"):
            self.cursor = types.Position(self.cursor.line + 1, _utf16(key[1:]))
        else:
            self.cursor = types.Position(self.cursor.line, self.cursor.character + _utf16(key))

    async def ask(self, wait_s: float) -> tuple[float, bool, str]:
        """(ms, answered, first suggestion) of an inline completion request at the cursor;
        cancelled with `$/cancelRequest` when no answer came within `wait_s`."""
        loop, answer = asyncio.get_running_loop(), asyncio.Event()
        msg_id, answered_at = next(self.ids), []

        def on_answer(_) -> None:
            answered_at.append(time.perf_counter())
            loop.call_soon_threadsafe(answer.set)

        started = time.perf_counter()
        future = self.client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionParams(
                context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier(self.uri), position=self.cursor),
            msg_id=msg_id)
        future.add_done_callback(on_answer)
        try:
            await asyncio.wait_for(answer.wait(), wait_s)
        except TimeoutError:
            self.client.cancel_request(types.CancelParams(id=msg_id))
            return (time.perf_counter() - started) * 1000, False, ""
        result = future.result()
        items = result.items if isinstance(result, types.InlineCompletionList) else result or []
        shown = items[0].insert_text if items else ""
        return (answered_at[0] - started) * 1000, True, shown if isinstance(shown, str) else shown.value

    def close(self) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(self.uri)))


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def replay_session(editor: Editor, number: int, session: Session, type_back: bool, typist: Typist,
                         debounce_s: float, timeout_s: float, seed: int) -> list[Request]:
    """Open the session's file and ask once; then, if `type_back`, type the stretch back with
    the typist's pauses."""
    editor.open(f"{URI_ROOT}{number}/{Path(session.path).name}",
                session.prefix(0) + session.suffix(), session.start)
    await asyncio.sleep(debounce_s)
    ms, answered, shown = await editor.ask(timeout_s)
    if not answered:
        raise SystemExit(f"no answer to the first request in {session.path} within {timeout_s} s")
    requests = [Request(number, "open", 0, ms, True, shown)]
    keys = keystrokes(session.text[session.start:session.end]) if type_back else []
    gaps_s = [gap / 1000 for gap in typist.gaps_ms(keys, random.Random(f"{seed}:{number}"))]
    typed = 0
    for key, gap_s in zip(keys, gaps_s):
        editor.type(key)
        typed += len(key)
        if gap_s <= debounce_s:
            await asyncio.sleep(gap_s)
            continue
        await asyncio.sleep(debounce_s)
        requests.append(Request(number, "typing", typed, *await editor.ask(gap_s - debounce_s)))
    editor.close()
    return requests


async def _forward_stderr(stream: asyncio.StreamReader) -> None:
    while line := await stream.readline():
        sys.stderr.write(line.decode(errors="replace"))


async def replay_run(model: str, backend: str, sessions: list[Session], args) -> dict:
    """Every session against one fresh server process for `model` on `backend`."""
    client = LanguageClient("editor-replay-benchmark", "1")
    statuses: list[tuple[str, str]] = []
    settled = asyncio.Event()

    @client.feature("pycodesmall/status")
    def on_status(params) -> None:
        statuses.append((params.state, params.message))
        if params.state != "loading":
            settled.set()

    await client.start_io(SERVER, "--model", model, "--backend", backend, "--device", args.device,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})  # offline models only
    forwarder = asyncio.create_task(_forward_stderr(client._server.stderr))
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities()))))
    client.initialized(types.InitializedParams())
    await asyncio.wait_for(settled.wait(), 300)
    state, message = statuses[-1]
    outcome = {"skipped": message}
    if state == "ready":
        outcome = {"server": message, "requests": []}
        editor = Editor(client)
        # Untimed: the first decode of a new process pays one-time costs that no file does.
        editor.open(URI_ROOT + "warm_up.py", "import os\n\ndef main():\n    ", 30)
        await editor.ask(args.timeout)
        editor.close()
        load = [os.getloadavg()[0]]
        for number, session in enumerate(sessions):
            outcome["requests"] += await replay_session(
                editor, number, session, number < args.typed_files, Typist(), args.debounce_ms / 1000,
                args.timeout, args.seed)
            load.append(os.getloadavg()[0])
        outcome["load_average_1min"] = {"min": min(load), "max": max(load)}
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    forwarder.cancel()
    return outcome


# ----------------------------------------------------------------------------- summary

def judge(requests: list[Request], sessions: list[Session]) -> dict:
    """The shown suggestions that add a syntax error the file did not have (the first 50 in full)."""
    judged, adding, cases = 0, 0, []
    for r in requests:
        if not r.shown.strip() or (verdict := _adds_syntax_error(sessions[r.session], r.typed, r.shown)) is None:
            continue
        judged += 1
        adding += verdict
        if verdict and len(cases) < 50:
            prefix, suffix = sessions[r.session].judged_parts(r.typed)
            cases.append({"file": sessions[r.session].path, "kind": r.kind, "before_cursor": prefix[-120:],
                          "shown": r.shown, "after_cursor": suffix[:80]})
    return {"judged": judged, "adds_a_syntax_error": adding, "cases": cases}


@functools.cache  # the backends mostly show the same suggestions in the same states
def _adds_syntax_error(session: Session, typed: int, shown: str) -> bool | None:
    """Whether `shown` adds a syntax error; None where the judge cannot repair the state
    without a suggestion either (left out)."""
    prefix, suffix = session.judged_parts(typed)
    return None if adds_syntax_error(prefix, "", suffix) else adds_syntax_error(prefix, shown, suffix)


def interval(groups: list[list], statistic, resamples: int, seed: int) -> list[float | None]:
    """[estimate, low, high]: `statistic` of all items (requests, say) and its 95% bootstrap
    over their groups (sessions)."""
    if not groups:
        return [None, None, None]
    rng = random.Random(seed)
    estimate = statistic([r for group in groups for r in group])
    values = sorted(math.inf if v is None else v for v in (
        statistic([r for _ in groups for r in rng.choice(groups)]) for _ in range(resamples)))
    low, high = values[int(0.025 * (resamples - 1))], values[int(0.975 * (resamples - 1))]
    return [None if v is None or math.isinf(v) else round(v, 3) for v in (estimate, low, high)]


def _share(items: list, count) -> float | None:
    return sum(map(count, items)) / len(items) if items else None


def summarize(requests: list[Request], sessions: list[Session], resamples: int, seed: int) -> dict:
    def groups(keep) -> list[list[Request]]:
        by_session = [[] for _ in sessions]
        for r in requests:
            if keep(r):
                by_session[r.session].append(r)
        return [g for g in by_session if g]

    def latency(q: float):
        return lambda rs: km_quantile([r.ms for r in rs], [r.answered for r in rs], q)

    shown_text = lambda r: bool(r.shown.strip())
    result = {}
    for kind in ("open", "typing"):
        of_kind = groups(lambda r: r.kind == kind)
        result[kind] = {
            "requests": sum(map(len, of_kind)),
            "cancelled": sum(not r.answered for g in of_kind for r in g),
            "latency_ms_p50": interval(of_kind, latency(0.5), resamples, seed),
            "latency_ms_p95": interval(of_kind, latency(0.95), resamples, seed),
            "shown_share": interval(of_kind, lambda rs: _share(rs, shown_text), resamples, seed),
        }
    checks = [[confirmed(r.shown, sessions[r.session].typed_next(r.typed)) for r in group]
              for group in groups(shown_text)]
    result["shown"] = {
        "count": sum(map(len, checks)),
        "next_token_confirmed_share": interval(checks, lambda cs: _share(cs, lambda c: c[0]), resamples, seed),
        "whole_line_confirmed_share": interval(checks, lambda cs: _share(cs, lambda c: c[1]), resamples, seed),
        **judge(requests, sessions),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus" / "test.jsonl.gz")
    parser.add_argument("--models", nargs="+", default=[m.name for m in list_models()],
                        help="default: every released model (those not available offline are skipped)")
    parser.add_argument("--backends", nargs="+", default=[b for b in BACKENDS if b != "auto"],
                        help="default: every backend ('auto' is onnx on a CPU with onnxruntime installed)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--files", type=int, default=48, help="sessions, one file each: opened and asked once")
    parser.add_argument("--typed-files", type=int, default=16, help="of those, how many are typed through")
    parser.add_argument("--lines", type=int, default=3, help="lines typed per typed session")
    parser.add_argument("--min-lines", type=int, default=1000)
    parser.add_argument("--debounce-ms", type=int, default=Settings().debounce_ms,
                        help="the client's pause before it asks (default: the extension's debounceMs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=60, help="seconds before a waited-for request counts as hung")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 files, 2 typed, 1 line, 100 resamples")
    parser.add_argument("--note", default="", help="recorded in the results, e.g. what else ran on the machine")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: benchmarks/results/editor_replay.json (--quick: the temp dir)")
    args = parser.parse_args()
    if args.quick:
        args.files, args.typed_files, args.lines, args.resamples = 3, 2, 1, 100
    out = args.out or (Path(tempfile.gettempdir()) / "editor_replay_quick.json" if args.quick
                       else ROOT / "benchmarks" / "results" / "editor_replay.json")

    started = time.perf_counter()
    sessions = pick_sessions(args.corpus, args.files, args.lines, args.min_lines, args.seed)
    config = {"corpus": args.corpus.name, "files": args.files, "typed_files": args.typed_files,
              "lines": args.lines, "min_lines": args.min_lines,
              "seed": args.seed, "debounce_ms": args.debounce_ms, "device": args.device, "typist": asdict(Typist()),
              "server": {"settings": "defaults; model and backend per run", "threads": "default (1)",
                         **{k: v for k, v in asdict(Settings()).items() if k not in ("model", "backend", "device")}},
              "resamples": args.resamples}
    record = provenance(config)
    runs = {}
    for model, backend in itertools.product(args.models, args.backends):
        run_started = time.perf_counter()
        outcome = asyncio.run(replay_run(model, backend, sessions, args))
        outcome["replay_wall_s"] = round(time.perf_counter() - run_started, 1)
        if "skipped" in outcome:
            runs[f"{model}/{backend}"] = outcome
            continue
        requests = outcome.pop("requests")
        run = {**outcome, **summarize(requests, sessions, args.resamples, args.seed)}
        p95 = {kind: run[kind]["latency_ms_p95"][0] for kind in ("open", "typing")}
        run["meets_goals"] = {f"{kind}_p95": ms is not None and ms < GOALS_MS[f"{kind}_p95"] for kind, ms in p95.items()}
        runs[f"{model}/{backend}"] = run
        print(model, backend, "p95 ms", json.dumps(p95), file=sys.stderr)
    result = {
        "benchmark": "editor_replay",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        **record,
        "note": args.note,
        "goals_ms": GOALS_MS,
        "judge": JUDGE,
        "sessions": {"count": len(sessions), "packages": dict(Counter(s.package for s in sessions)),
                     "file_lines": sorted(s.text.count("\n") for s in sessions),
                     "keystrokes": sum(len(keystrokes(s.text[s.start:s.end])) for s in sessions[:args.typed_files]),
                     "judged_region_lines": sorted(s.text.count("\n", *s.region) for s in sessions)},
        "runs": runs,
        "load_average_at_end": os.getloadavg(),
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("->", out)


if __name__ == "__main__":
    main()
