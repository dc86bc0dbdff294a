"""Run generated programs in isolated processes and say how each one ended.

A `Sandbox` keeps one runner process per worker (`sandbox_runner.py`). A runner forks a
fresh child for every program and isolates it there: namespaces, a read-only filesystem
but for a throw-away working directory, resource limits, an unprivileged user, an
in-process guard, and a wall-clock timeout after which the child's whole process group
is killed. Worker threads only wait on their runner, so as many workers as cores keep
every core busy.
"""

from __future__ import annotations

import ast
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

__all__ = ["SandboxLimits", "Outcome", "Sandbox", "run_program", "run_programs"]

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
class Outcome:
    """How one program ended: `category` is one of `error_classes.CATEGORIES`."""

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


def _report_of(pid: int, written: str) -> dict | None:
    """The child's own report line among whatever its forked copies wrote to the pipe
    (each line is one write shorter than PIPE_BUF, hence never interleaved)."""
    for line in written.splitlines():
        try:
            report = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(report, dict) and report.get("pid") == pid:
            return report
    return None


def _ending_without_report(returncode: int, timed_out: bool) -> tuple[str, str]:
    if timed_out:
        return "timeout", "wall-clock timeout"
    if returncode == -signal.SIGXCPU:
        return "timeout", "CPU-time limit"
    if returncode < 0:
        return "other", f"killed by {signal.Signals(-returncode).name}"
    return "other", f"exited with status {returncode} before reporting"


def _outcome(response: dict) -> Outcome:
    report = _report_of(response["pid"], response["report"])
    duration, tail = response["duration_s"], response["output_tail"]
    if report is None or response["timed_out"]:
        category, message = _ending_without_report(response["returncode"],
                                                   response["timed_out"])
        return Outcome(category, None, message, None, duration, tail, None)
    if report["status"] == "passed":
        return Outcome("passed", None, "", None, duration, tail, report["isolation"])
    return Outcome(classify_exception(report["mro"]), report["exception"], report["message"],
                   report["line"], duration, tail, report["isolation"])


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

    def run(self, source: str) -> dict | None:
        """The runner's response for one program, or None if the runner died or hung."""
        data = source.encode()
        try:
            self.process.stdin.write(b"%d\n" % len(data) + data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        line = self._read_line(time.monotonic() + self.deadline_s)
        return None if line is None else ast.literal_eval(line.decode())

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

    def run(self, source: str) -> Outcome:
        """Run `source` as `__main__` in a fresh sandboxed process and classify how it ended."""
        runner = self._idle.get()
        response = None
        try:
            response = runner.run(source)
        finally:
            if response is None:  # the runner died or hung; nothing of it is trusted again
                runner = self._replace(runner)
            self._idle.put(runner)
        return _outcome(response) if response is not None else Outcome(
            "other", None, "sandbox runner failed", None, 0.0, "", None)

    def _replace(self, runner: _Runner) -> _Runner:
        runner.close()
        fresh = _Runner(self.limits)
        self._runners[self._runners.index(runner)] = fresh
        return fresh

    def run_many(self, sources: list[str]) -> list[Outcome]:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self.run, sources))

    def close(self) -> None:
        for runner in self._runners:
            runner.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_program(source: str, limits: SandboxLimits = SandboxLimits()) -> Outcome:
    """One program in a one-runner sandbox."""
    with Sandbox(limits, workers=1) as sandbox:
        return sandbox.run(source)


def run_programs(sources: list[str], limits: SandboxLimits = SandboxLimits(),
                 workers: int | None = None) -> list[Outcome]:
    """Many programs in parallel, results in input order."""
    with Sandbox(limits, workers) as sandbox:
        return sandbox.run_many(sources)
