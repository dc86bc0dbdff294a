"""Run generated programs in isolated child processes and say how each one ended.

Each program gets its own `python -I -S` process (see `sandbox_runner.py` for what the child
does to itself), a throw-away working directory owned by an unprivileged user, and a
wall-clock timeout after which its whole process group is killed. Many programs run in
parallel: threads only wait on subprocesses, so a pool as large as the core count keeps
every core busy.
"""

from __future__ import annotations

import ast
import os
import pwd
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

__all__ = ["SandboxLimits", "Outcome", "run_program", "run_programs"]

RUNNER = Path(__file__).with_name("sandbox_runner.py")
OUTPUT_TAIL_CHARS = 1000
UNPRIVILEGED_USER = "nobody"


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


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_available(fd: int) -> bytes:
    """Whatever the child wrote, without blocking on a descendant that keeps the pipe open."""
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _send(process: subprocess.Popen, source: str) -> None:
    try:
        process.stdin.write(source.encode())
        process.stdin.close()
    except BrokenPipeError:  # the child died before reading; its exit status tells why
        pass


def _wait(process: subprocess.Popen, timeout_s: float) -> bool:
    """Wait for exit; False on timeout. A pidfd wakes us the moment the child exits, where
    `Popen.wait(timeout)` would poll with sleeps of up to 50 ms."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        try:
            process.wait(timeout_s)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        return bool(select.select([pidfd], [], [], timeout_s)[0])
    finally:
        os.close(pidfd)


def _report_of(pid: int, written: bytes) -> dict | None:
    """The runner's own report line among whatever its forked copies wrote to the pipe
    (each line is one write shorter than PIPE_BUF, hence never interleaved)."""
    for line in written.decode(errors="replace").splitlines():
        try:
            report = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(report, dict) and report.get("pid") == pid:
            return report
    return None


def _outcome_without_report(returncode: int, timed_out: bool) -> tuple[str, str | None, str]:
    if timed_out:
        return "timeout", None, "wall-clock timeout"
    if returncode == -signal.SIGXCPU:
        return "timeout", None, "CPU-time limit"
    if returncode < 0:
        return "other", None, f"killed by {signal.Signals(-returncode).name}"
    return "other", None, f"exited with status {returncode} before reporting"


def run_program(source: str, limits: SandboxLimits = SandboxLimits()) -> Outcome:
    """Run `source` as `__main__` in a fresh sandboxed process and classify how it ended."""
    user = _unprivileged_ids()
    with tempfile.TemporaryDirectory(prefix="pycodesmall-sandbox-",
                                     ignore_cleanup_errors=True) as root:
        workdir = Path(root, "work")
        workdir.mkdir(mode=0o700)
        if user is not None:
            os.chown(workdir, *user)
        read_fd, write_fd = os.pipe()
        arguments = [str(write_fd), "-" if user is None else f"{user[0]}:{user[1]}",
                     "1" if limits.guard else "0",
                     *(f"{name}={value}" for name, value in limits.rlimits().items())]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(workdir),
               "TMPDIR": str(workdir)}
        start = time.monotonic()
        with open(Path(root, "output"), "w+b") as output:
            try:
                process = subprocess.Popen(
                    [sys.executable, "-I", "-S", str(RUNNER), *arguments],
                    stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT,
                    cwd=workdir, env=env, start_new_session=True, pass_fds=(write_fd,))
            finally:
                os.close(write_fd)
            _send(process, source)
            timed_out = not _wait(process, limits.timeout_s)
            _kill_group(process.pid)  # also reaps descendants left behind
            process.wait()
            duration = time.monotonic() - start
            report = _read_available(read_fd)
            os.close(read_fd)
            output.seek(0)
            tail = output.read()[-OUTPUT_TAIL_CHARS:].decode(errors="replace")
    result = _report_of(process.pid, report)
    if result is None or timed_out:
        category, exception, message = _outcome_without_report(process.returncode, timed_out)
        return Outcome(category, exception, message, None, duration, tail, None)
    if result["status"] == "passed":
        return Outcome("passed", None, "", None, duration, tail, result["isolation"])
    return Outcome(classify_exception(result["mro"]), result["exception"], result["message"],
                   result["line"], duration, tail, result["isolation"])


def run_programs(sources: list[str], limits: SandboxLimits = SandboxLimits(),
                 workers: int | None = None) -> list[Outcome]:
    """`run_program` over many sources in parallel, results in input order."""
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda source: run_program(source, limits), sources))
