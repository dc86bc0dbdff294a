"""Run generated programs in isolated processes and say how each one ended.

A `Sandbox` keeps one runner process per worker (`sandbox_runner.py`). For every program
a runner forks a judge, and the judge forks the program, which it isolates: PID, IPC,
network and mount namespaces, a read-only filesystem but for a private working directory,
resource limits, an unprivileged user with no capabilities, and an in-process guard. A
wall-clock timeout kills what is left. Worker threads only wait on their runner, so as
many workers as cores keep every core busy.

Give a program its `Checks` and the verdict is the judge's: the tests run in the judge's
process, and the program only answers calls (`sandbox_judge.py` says why that is the only
place a verdict cannot be forged). Without tests, "passed" is the program's own word that
its code ran to the end, which a hostile program can fake; the isolation record of such a
result says `verdict: the program's own report`.
"""

from __future__ import annotations

import json
import os
import pwd
import queue
import select
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pycodesmall.training.evaluation.error_classes import classify_exception

__all__ = ["SandboxLimits", "Checks", "Outcome", "Sandbox", "run_program", "run_programs"]

RUNNER = Path(__file__).with_name("sandbox_runner.py")
UNPRIVILEGED_USER = "nobody"
RUNNER_GRACE_S = 15.0  # beyond the program's timeout, before a silent runner is replaced


@dataclass(frozen=True)
class SandboxLimits:
    """Per-program limits. The defaults suit unit-test style programs like HumanEval's."""

    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_bytes: int = 2 * 1024**3
    file_size_bytes: int = 16 * 1024**2
    processes: int = 32
    guard: bool = True  # the in-process second layer; off only to test the first layer

    def rlimits(self) -> dict[str, int]:
        return {"RLIMIT_CPU": self.cpu_s, "RLIMIT_AS": self.memory_bytes,
                "RLIMIT_FSIZE": self.file_size_bytes, "RLIMIT_NPROC": self.processes,
                "RLIMIT_CORE": 0}


@dataclass(frozen=True)
class Checks:
    """Tests that judge a solution from outside its process (see `sandbox_judge.py`).

    `helpers` (trusted code the tests call, such as HumanEval's prompt) and then `code` run
    in the judge. `entry_point`, and every other name the tests use that neither the
    helpers nor the builtins define, stands for that object of the solution. Lines of a
    failed test are numbered as in `solution + "\n\n" + code`, the program the two would
    make together.
    """

    code: str
    entry_point: str
    helpers: str = ""


@dataclass(frozen=True)
class Outcome:
    """How one program ended: `category` is one of `error_classes.CATEGORIES`. `isolation`
    is what was in force (None when the sample ended before it was known)."""

    category: str
    exception: str | None
    message: str
    line: int | None
    duration_s: float
    output_tail: str
    isolation: dict | None

    @property
    def passed(self) -> bool:
        return self.category == "passed"


def _unprivileged_ids() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _ending(returncode, timed_out: bool) -> tuple[str, str]:
    if timed_out:
        return "timeout", "wall-clock timeout"
    if type(returncode) is not int:
        return "other", "no exit status"
    if returncode == -signal.SIGXCPU:
        return "timeout", "CPU-time limit"
    if returncode < 0:
        try:
            return "other", f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return "other", f"killed by signal {-returncode}"
    return "other", f"exited with status {returncode} before reporting"


def _failure(category: str, message: str, duration: float = 0.0, tail: str = "",
             isolation: dict | None = None) -> Outcome:
    return Outcome(category, None, message, None, duration, tail, isolation)


def _outcome(response) -> Outcome:
    """The runner's response as an Outcome. Anything malformed is a failed sample."""
    try:
        duration, tail = float(response["duration_s"]), str(response["output_tail"])
        verdict, timed_out = response["verdict"], response["timed_out"] is True
    except (TypeError, KeyError, ValueError):
        return _failure("other", "malformed response from the sandbox runner")
    if timed_out or type(verdict) is not dict:
        return _failure(*_ending(response.get("returncode"), timed_out), duration, tail)
    isolation = verdict.get("isolation") if type(verdict.get("isolation")) is dict else None
    status = verdict.get("status")
    if status == "passed":
        return Outcome("passed", None, "", None, duration, tail, isolation)
    if status == "failed":
        mro, name = verdict.get("mro"), verdict.get("exception")
        line, message = verdict.get("line"), verdict.get("message")
        if (type(mro) is list and all(type(n) is str for n in mro) and type(name) is str
                and type(message) is str and (line is None or type(line) is int)):
            return Outcome(classify_exception(mro), name, message, line, duration, tail,
                           isolation)
    if status == "ended":
        return _failure(*_ending(verdict.get("returncode"), False), duration, tail, isolation)
    reason = verdict.get("reason")
    return _failure("other", reason if type(reason) is str else "malformed verdict", duration,
                    tail, isolation)


class _Runner:
    """One runner process and the pipes to it; used by one thread at a time."""

    def __init__(self, limits: SandboxLimits):
        user = _unprivileged_ids()
        arguments = ["-" if user is None else f"{user[0]}:{user[1]}",
                     "1" if limits.guard else "0", str(limits.timeout_s),
                     *(f"{name}={value}" for name, value in limits.rlimits().items())]
        self.deadline_s = limits.timeout_s + RUNNER_GRACE_S
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(RUNNER), *arguments], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": tempfile.gettempdir()})
        self.pending = b""

    def run(self, request: dict) -> dict | None:
        """The runner's response for one program, or None if the runner died or hung."""
        data = json.dumps(request).encode()
        try:
            self.process.stdin.write(b"%d\n" % len(data) + data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        line = self._read_line(time.monotonic() + self.deadline_s)
        try:
            return None if line is None else json.loads(line.decode())
        except ValueError:
            return None

    def _read_line(self, deadline: float) -> bytes | None:
        fd = self.process.stdout.fileno()
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:  # unsent request bytes to a dead runner
                pass


class Sandbox:
    """A pool of runners: `run` is thread-safe, `run_many` runs programs in parallel.

    Use as a context manager, so runners are stopped when done.
    """

    def __init__(self, limits: SandboxLimits = SandboxLimits(), workers: int | None = None):
        self.limits = limits
        self.workers = workers or os.cpu_count() or 1
        self._idle: queue.Queue[_Runner] = queue.Queue()
        self._runners = [_Runner(limits) for _ in range(self.workers)]
        for runner in self._runners:
            self._idle.put(runner)

    def run(self, source: str, checks: Checks | None = None) -> Outcome:
        """Run `source` as `__main__` in a fresh sandboxed process and classify how it
        ended; with `checks`, the tests in a judge process decide whether it passed."""
        request = {"solution": source, "tests": None if checks is None else {
            "code": checks.code, "entry_point": checks.entry_point, "helpers": checks.helpers,
            "line_offset": source.count("\n") + 2}}
        runner = self._idle.get()
        response = None
        try:
            response = runner.run(request)
        finally:
            if response is None:  # the runner died or hung; nothing of it is trusted again
                runner = self._replace(runner)
            self._idle.put(runner)
        return _outcome(response) if response is not None else _failure(
            "other", "sandbox runner failed")

    def _replace(self, runner: _Runner) -> _Runner:
        runner.close()
        fresh = _Runner(self.limits)
        self._runners[self._runners.index(runner)] = fresh
        return fresh

    def run_many(self, sources: list[str], checks: list[Checks] | None = None) -> list[Outcome]:
        """`run` for each source (with the checks at the same position), in parallel."""
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self.run, sources, checks or [None] * len(sources)))

    def close(self) -> None:
        for runner in self._runners:
            runner.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_program(source: str, limits: SandboxLimits = SandboxLimits(),
                checks: Checks | None = None) -> Outcome:
    """One program in a one-runner sandbox."""
    with Sandbox(limits, workers=1) as sandbox:
        return sandbox.run(source, checks)


def run_programs(sources: list[str], limits: SandboxLimits = SandboxLimits(),
                 workers: int | None = None,
                 checks: list[Checks] | None = None) -> list[Outcome]:
    """Many programs in parallel, results in input order."""
    with Sandbox(limits, workers) as sandbox:
        return sandbox.run_many(sources, checks)
