"""The sandbox contains hostile programs, the harness goes on, and failures are classified.

Every attack runs twice: with the in-process guard (the normal setting) and without it,
which shows what the process-level layer (namespaces, read-only filesystem, limits,
unprivileged user, the separate judge) does on its own. The attacks on that layer begin
with ESCAPE_GUARD, which gets around the guard, so that both runs test the process layer.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from pycodesmall.training.evaluation import sandbox as sandbox_module
from pycodesmall.training.evaluation.config import EvalConfig
from pycodesmall.training.evaluation.error_classes import classify_exception
from pycodesmall.training.evaluation.generation import Sample
from pycodesmall.training.evaluation.sandbox import (Checks, Sandbox, SandboxLimits,
                                                     run_program, run_programs)
from pycodesmall.training.evaluation.sandbox_judge import MESSAGE_CHARS
from pycodesmall.training.evaluation.tasks import humaneval
from pycodesmall.training.evaluation.tasks.humaneval import humaneval_problems

GUARDED = SandboxLimits(timeout_s=2.0, cpu_s=2, memory_bytes=512 * 1024**2)
UNGUARDED = SandboxLimits(timeout_s=2.0, cpu_s=2, memory_bytes=512 * 1024**2, guard=False)
BOTH = pytest.mark.parametrize("limits", [GUARDED, UNGUARDED], ids=["guarded", "unguarded"])
AS_ROOT = pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux",
                             reason="the process layer is complete only for root on Linux")

# The guard is a courtesy layer: drop the modules it patched, import them again, and the
# real functions are back (a builtin module's dict is restored from the copy kept at its
# first import), ctypes with them.
ESCAPE_GUARD = textwrap.dedent("""\
    import sys
    for _name in ("os", "posix", "ctypes", "_ctypes"):
        sys.modules.pop(_name, None)
    import os, ctypes
""")


@pytest.fixture(scope="module")
def isolation() -> dict:
    """What the process-level layer achieves on this machine."""
    outcome = run_program("pass", UNGUARDED)
    assert outcome.passed, outcome
    return outcome.isolation


def require(isolation: dict, key: str, value_prefix: str, why: str) -> None:
    if not str(isolation[key]).startswith(value_prefix):
        pytest.skip(f"{why}: this machine gives {key}={isolation[key]!r}")


@pytest.fixture
def victim(tmp_path):
    """A file and a directory outside the sandbox that programs try to destroy."""
    (tmp_path / "keep").mkdir()
    precious = tmp_path / "keep" / "precious.txt"
    precious.write_text("still here")
    return precious


@pytest.fixture
def bystander():
    """A process of ours that programs try to kill (stands in for the harness itself)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def assert_nobody_connected(server):
    with pytest.raises(BlockingIOError):
        server.accept()


@pytest.mark.parametrize("limits", [GUARDED, UNGUARDED], ids=["guarded", "unguarded"])
def test_infinite_loop_times_out(limits):
    for outcome in (run_program("while True:\n    pass\n", limits),
                    run_program("def f():\n    while True:\n        pass\n", limits,
                                Checks("f()\n", "f"))):
        assert outcome.category == "timeout"
        assert outcome.duration_s < limits.timeout_s + 2


def test_cpu_limit_stops_a_loop_before_the_wall_clock():
    limits = SandboxLimits(timeout_s=30.0, cpu_s=1, guard=False)
    for outcome in (run_program("while True:\n    pass\n", limits),
                    run_program("def f():\n    while True:\n        pass\n", limits,
                                Checks("f()\n", "f"))):
        assert (outcome.category, outcome.message) == ("timeout", "CPU-time limit")
        assert outcome.duration_s < 25


@pytest.mark.parametrize("guard", [True, False], ids=["guarded", "unguarded"])
def test_memory_hog_hits_the_address_space_limit(guard):
    # The hog touches every page it gets, so keep the limit small on a shared machine.
    limits = SandboxLimits(timeout_s=15.0, cpu_s=10, memory_bytes=256 * 1024**2, guard=guard)
    outcomes = run_programs(["hog = []\nwhile True:\n    hog.append(bytearray(32 * 1024**2))\n",
                             "everything = bytearray(2**40)\n"], limits)
    assert [(o.category, o.exception) for o in outcomes] == [("other", "MemoryError")] * 2


def test_fork_bomb_is_refused_by_the_guard():
    outcome = run_program("import os\nwhile True:\n    os.fork()\n", GUARDED)
    assert (outcome.category, outcome.exception) == ("other", "PermissionError")
    assert "os.fork" in outcome.message


def test_fork_bomb_is_stopped_by_the_process_limit(isolation):
    require(isolation, "user", "uid", "RLIMIT_NPROC binds only an unprivileged user")
    outcome = run_program("import os\nwhile True:\n    os.fork()\n", UNGUARDED)
    assert (outcome.category, outcome.exception) == ("other", "BlockingIOError")


@pytest.mark.parametrize("limits", [GUARDED, UNGUARDED], ids=["guarded", "unguarded"])
def test_writing_outside_the_working_directory_fails(limits, isolation, tmp_path):
    if not limits.guard:
        require(isolation, "filesystem", "read-only", "needs a mount namespace")
    target = tmp_path / "planted.txt"
    outcome = run_program(f"open({str(target)!r}, 'w').write('gotcha')\n", limits)
    assert outcome.category == "other"
    assert outcome.exception in ("PermissionError", "OSError")
    assert not target.exists()


@pytest.mark.parametrize("limits", [GUARDED, UNGUARDED], ids=["guarded", "unguarded"])
def test_deleting_files_fails(limits, isolation, victim):
    if not limits.guard:
        require(isolation, "filesystem", "read-only", "needs a mount namespace")
    program = f"import os, shutil\ntry:\n    os.remove({str(victim)!r})\nfinally:\n" \
              f"    shutil.rmtree({str(victim.parent)!r})\n"
    outcome = run_program(program, limits)
    assert outcome.category == "other"
    assert victim.read_text() == "still here"


def test_the_working_directory_is_writable_and_thrown_away():
    program = textwrap.dedent("""\
        import os
        with open("scratch.txt", "w") as handle:
            handle.write("data")
        assert open("scratch.txt").read() == "data"
        print(os.getcwd())
    """)
    outcome = run_program(program, GUARDED)
    assert outcome.passed, outcome
    assert not os.path.exists(outcome.output_tail.strip())


@pytest.mark.parametrize("limits", [GUARDED, UNGUARDED], ids=["guarded", "unguarded"])
def test_network_connection_fails(limits, isolation, listener):
    if not limits.guard:
        require(isolation, "network", "namespace", "needs a network namespace")
    port = listener.getsockname()[1]
    outcome = run_program(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), "
                          f"timeout=1).sendall(b'hello')\n", limits)
    assert outcome.category == "other"
    assert outcome.exception in ("PermissionError", "OSError")
    assert_nobody_connected(listener)


@pytest.mark.parametrize("limits", [GUARDED, UNGUARDED], ids=["guarded", "unguarded"])
def test_killing_another_process_fails(limits, isolation, bystander):
    if not limits.guard:
        require(isolation, "user", "uid", "needs an unprivileged user")
    outcome = run_program(f"import os, signal\nos.kill({bystander.pid}, signal.SIGKILL)\n",
                          limits)
    # The guard refuses the call; without it, the pid does not exist in the sample's PID
    # namespace (or, without one, belongs to another user).
    assert outcome.category == "other"
    assert outcome.exception in ("PermissionError", "ProcessLookupError")
    assert bystander.poll() is None


@AS_ROOT
@BOTH
def test_killing_another_process_fails_with_the_guard_escaped(limits, bystander):
    outcome = run_program(ESCAPE_GUARD + f"os.kill({bystander.pid}, 9)\n", limits)
    assert outcome.exception in ("PermissionError", "ProcessLookupError")
    assert bystander.poll() is None


def test_killing_the_harness_is_refused():
    outcome = run_program("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n", GUARDED)
    assert (outcome.category, outcome.exception) == ("other", "PermissionError")


def test_process_and_library_escape_hatches_are_closed():
    programs = ["import subprocess\nsubprocess.run(['true'])\n",
                "import importlib\nimportlib.import_module('subprocess').Popen(['true'])\n",
                "import posix\nposix.system('true')\n",
                "import ctypes\n"]
    outcomes = run_programs(programs, GUARDED)
    assert [o.exception for o in outcomes] == ["PermissionError", "PermissionError",
                                               "PermissionError", "ModuleNotFoundError"]


def test_output_flood_is_cut_by_the_file_size_limit():
    limits = SandboxLimits(timeout_s=10.0, cpu_s=5, file_size_bytes=1024**2)
    outcome = run_program("while True:\n    print('x' * 10000)\n", limits)
    assert outcome.category == "other"
    assert len(outcome.output_tail) <= 1000


def test_early_exit_is_not_a_pass():
    outcomes = run_programs(["import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n",
                             "import os, signal\nos.abort()\n"], GUARDED)
    assert [o.category for o in outcomes] == ["other", "other", "other"]
    assert outcomes[0].exception == "SystemExit"
    assert outcomes[2].message == f"killed by {signal.SIGABRT.name}"


def test_harness_goes_on_after_attacks_and_classifies_every_program():
    programs = {
        "while True: pass": "timeout",
        "x = bytearray(2**40)": "other",
        "import os\nos.fork()": "other",
        "def f(:\n    pass": "syntax_error",
        "def f():\nreturn 1": "indentation_error",
        "if True:\n\tx = 1\n        y = 2": "indentation_error",
        "undefined_name": "name_error",
        "len(1)": "type_error",
        "import no_such_module_xyz": "import_error",
        "(1).real.imag.nope": "attribute_error",
        "assert 1 + 1 == 3": "wrong_answer",
        "1 / 0": "other",
        "assert sum(range(10)) == 45": "passed",
    }
    limits = SandboxLimits(timeout_s=2.0, cpu_s=2, memory_bytes=512 * 1024**2)
    outcomes = run_programs(list(programs), limits)
    assert [o.category for o in outcomes] == list(programs.values())
    assert outcomes[5].exception == "TabError"


def test_classification_follows_the_exception_hierarchy():
    tab_error = ["TabError", "IndentationError", "SyntaxError", "Exception"]
    assert classify_exception(tab_error) == "indentation_error"
    assert classify_exception(["UnboundLocalError", "NameError"]) == "name_error"
    assert classify_exception(["ModuleNotFoundError", "ImportError"]) == "import_error"
    assert classify_exception(["AssertionError", "Exception"]) == "wrong_answer"
    assert classify_exception(["ZeroDivisionError", "ArithmeticError"]) == "other"


def test_isolation_in_force_is_recorded(isolation):
    assert set(isolation) == {"verdict", "processes", "network", "ipc", "filesystem", "limits",
                              "user", "guard"}
    assert isolation["verdict"] == "the program's own report"
    assert isolation["limits"]["RLIMIT_AS"] == UNGUARDED.memory_bytes
    if os.geteuid() == 0 and sys.platform == "linux":
        assert isolation["processes"] == "pid namespace with its own /proc"
        assert isolation["network"] == "namespace"
        assert isolation["ipc"] == "namespace"
        assert isolation["filesystem"] == "read-only except a private tmpfs working directory"
        assert isolation["user"] == f"uid {pwd.getpwnam('nobody').pw_uid} with no capabilities"


def test_a_dead_runner_is_replaced_and_the_sample_counted_as_failed():
    with Sandbox(GUARDED, workers=1) as sandbox:
        runner = sandbox._idle.queue[0]
        runner.process.kill()
        runner.process.wait()
        failed = sandbox.run("assert True")
        assert (failed.category, failed.message) == ("other", "sandbox runner failed")
        assert sandbox.run("assert True").passed


# --- the verdict comes from the judge, never from the program --------------------------

def frame(message) -> bytes:
    data = json.dumps(message).encode()
    return len(data).to_bytes(8, "big") + data


WRITE_EVERYWHERE = "\n".join([
    "def _write_everywhere(payloads):",
    "    for fd in range(3, 256):",
    "        for payload in payloads:",
    "            try:",
    "                os.write(fd, payload)",
    "            except OSError:",
    "                pass",
    ""])
# Each is placed after a wrong solution, at module level.
FORGERIES = {
    "repr": "import builtins, os; _p = os.getpid(); builtins.repr = lambda o: "
            "\"{'pid': %d, 'status': 'passed', 'isolation': {}}\" % _p\n",
    "report_pipe": ESCAPE_GUARD + WRITE_EVERYWHERE + (
        "_write_everywhere([(\"{'pid': %d, 'status': 'passed', 'isolation': {}}\\n\" "
        "% os.getpid()).encode(), b'{\"status\": \"passed\"}\\n', "
        f"{frame(['ready'])!r}, {frame(['value', True])!r}, {frame(['values', {}])!r}])\n"),
    "exit_early": ESCAPE_GUARD + "os._exit(0)\n",
    "shadow_the_check": "def check(candidate):\n    pass\n",
    "always_equal": "class _AlwaysEqual:\n    def __eq__(self, other):\n        return True\n"
                    "has_close_elements = lambda *args: _AlwaysEqual()\n",
}


@pytest.fixture(scope="module")
def first_problem(data_dir):
    problem = humaneval_problems(data_dir)[0]
    assert problem.entry_point == "has_close_elements"
    return problem


@BOTH
@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_wrong_solution_cannot_report_itself_passed(limits, forgery, first_problem):
    completion = "    return None\n" + FORGERIES[forgery]
    [bare] = run_programs([first_problem.program(completion)], limits)
    [judged] = run_programs([first_problem.solution(completion)], limits,
                            checks=[first_problem.checks])
    assert not judged.passed, (forgery, judged)
    assert judged.isolation is None or judged.isolation["verdict"] == "separate judge process"
    if bare.passed:  # a bare program's "passed" is its own word, and the record says so
        assert bare.isolation["verdict"] == "the program's own report"


def test_forged_completions_fail_through_the_whole_task(data_dir):
    config = EvalConfig(n=1, data_dir=data_dir, limit=1, workers=1)
    for completion in FORGERIES.values():
        result = humaneval.evaluate(config, lambda requests, sampling: [
            [Sample("    return None\n" + completion)] for _ in requests])
        assert result.summary["pass@1"] == 0.0, completion
        assert result.summary["isolation"] == [] or all(
            "verdict: separate judge process" in line for line in result.summary["isolation"])


def test_a_solution_cannot_redefine_the_helpers_the_tests_call(data_dir):
    """HumanEval/38 checks decode_cyclic(encode_cyclic(s)) == s with the prompt's encoder: a
    solution that makes both the identity passes when it runs in the tests' process."""
    problem = humaneval_problems(data_dir)[38]
    assert problem.entry_point == "decode_cyclic"
    cheat = "    return s\n\n\ndef encode_cyclic(s: str):\n    return s\n"
    [bare] = run_programs([problem.program(cheat)], GUARDED)
    [judged] = run_programs([problem.solution(cheat)], GUARDED, checks=[problem.checks])
    assert bare.passed
    assert judged.category == "wrong_answer"


MALFORMED = {
    "forged_failed_line": b"{'pid': 1, 'status': 'failed'}\n",
    "report_without_keys": frame(["raised", {"exception": "X"}]),
    "value_without_data": frame(["value"]),
    "not_a_list": frame({"status": "passed"}),
    "deep_nesting": (lambda data: len(data).to_bytes(8, "big") + data)(b"[" * 100000),
    "huge_length": (1 << 40).to_bytes(8, "big"),
    "bad_remote": frame(["value", {"remote": "x"}]),
    "unknown_module": frame(["values", {"f": {"module": "antigravity"}}]),
    "unhashable_key": frame(["value", {"dict": [[[1], 2]]}]),
}


@BOTH
@pytest.mark.parametrize("malformed", list(MALFORMED))
def test_a_malformed_report_is_a_failed_sample_never_a_crash(limits, malformed):
    write = ESCAPE_GUARD + WRITE_EVERYWHERE + f"_write_everywhere([{MALFORMED[malformed]!r}])\n"
    in_call = ESCAPE_GUARD + WRITE_EVERYWHERE + (
        f"def f():\n    _write_everywhere([{MALFORMED[malformed]!r}])\n    return 2\n")
    with Sandbox(limits, workers=1) as sandbox:
        sandbox.run(write)  # a bare program: its own report, whatever it says
        for source in (write + "def f():\n    return 2\n", in_call):
            outcome = sandbox.run(source, Checks("assert f() == 1\n", "f"))
            assert not outcome.passed, outcome
            assert outcome.category == "other"
        assert sandbox.run("assert True").passed  # the harness goes on


@pytest.mark.parametrize("response", [
    None, [], "text", {}, {"duration_s": 1.0}, {"duration_s": "x", "output_tail": "",
                                                "verdict": None, "timed_out": False},
    {"duration_s": 0.1, "output_tail": "", "timed_out": False, "verdict": {"status": "failed"}},
    {"duration_s": 0.1, "output_tail": "", "timed_out": False, "returncode": "x",
     "verdict": None},
    {"duration_s": 0.1, "output_tail": "", "timed_out": False, "verdict": {
        "status": "failed", "mro": "AssertionError", "exception": 1, "message": None}},
    {"duration_s": 0.1, "output_tail": "", "timed_out": False, "verdict": {
        "status": "ended", "returncode": -999}},
])
def test_a_malformed_runner_response_is_a_failed_outcome(response):
    outcome = sandbox_module._outcome(response)
    assert outcome.category == "other"


def test_a_solution_that_ends_during_a_call_fails_even_if_the_tests_catch_everything():
    source = ESCAPE_GUARD + "def f():\n    os._exit(0)\n"
    tests = Checks("try:\n    f()\nexcept Exception:\n    pass\n", "f")
    outcome = run_program(source, GUARDED, tests)
    assert (outcome.category, outcome.message) == ("other", "exited with status 0 before reporting")


# --- what the judge hands the tests -------------------------------------------------------

def test_plain_values_come_back_as_the_judges_own_and_compare_as_in_one_process():
    solution = textwrap.dedent("""\
        import collections
        Point = collections.namedtuple("Point", "x y")
        def values():
            return [(1, 2), {3, 4}, frozenset({5}), {(6, 7): [8]}, b"9", bytearray(b"10"),
                    1 + 2j, 2**100, -2**70, 0.1, float("inf"), "s\\ud800", None, True,
                    Point(1, 2), collections.OrderedDict(a=1), collections.Counter("aab")]
        def squares(n):
            return (i * i for i in range(n))
        def refuse(x):
            if x < 0:
                raise ValueError("negative")
            return x
        class Node:
            def __init__(self, value):
                self.value, self.next = value, None
        def length(node):
            return 0 if node is None else 1 + length(node.next)
    """)
    tests = textwrap.dedent("""\
        import collections, math
        got = values()
        assert got[:6] == [(1, 2), {3, 4}, frozenset({5}), {(6, 7): [8]}, b"9", bytearray(b"10")]
        assert got[6:] == [1 + 2j, 2**100, -2**70, 0.1, math.inf, "s\\ud800", None, True,
                           (1, 2), {"a": 1}, {"a": 2, "b": 1}]
        assert type(got[0]) is tuple and type(got[-1]) is dict
        assert list(squares(4)) == [0, 1, 4, 9] and sum(squares(3)) == 5
        try:
            refuse(-1)
        except ValueError as error:
            assert str(error) == "negative"
        else:
            raise AssertionError("no ValueError")
        head = Node(1)
        head.next = Node(2)
        head.next.next = Node(3)
        assert length(head) == 3 and head.next.value == 2
    """)
    outcome = run_program(solution, GUARDED, Checks(tests, "values"))
    assert outcome.passed, outcome


def test_failures_are_classified_with_lines_of_the_combined_program():
    solution = "def f(x):\n    return x.nope\n"
    wrong = run_program("def f(x):\n    return x\n", GUARDED, Checks("assert f(1) == 2\n", "f"))
    raised = run_program(solution, GUARDED, Checks("assert f(1) == 2\n", "f"))
    missing = run_program("def g():\n    pass\n", GUARDED, Checks("assert f(1) == 2\n", "f"))
    broken = run_program("def f(:\n", GUARDED, Checks("assert f(1) == 2\n", "f"))
    badly_called = run_program("def f(x, y):\n    return x\n", GUARDED,
                               Checks("assert f(1) == 1\n", "f"))
    assert (wrong.category, wrong.line) == ("wrong_answer", 5)  # as in solution + "\n\n" + tests
    assert (raised.category, raised.exception, raised.line) == ("attribute_error",
                                                                "AttributeError", 2)
    assert (badly_called.category, badly_called.line) == ("type_error", 5)  # the call's line
    assert (missing.category, missing.exception) == ("name_error", "NameError")
    assert (broken.category, broken.line) == ("syntax_error", 1)


# --- what a program can read, and what of it is kept -------------------------------------

@pytest.fixture
def root_only_file():
    """A 0600 file of root in a directory anyone may enter: only the file's mode stops a
    reader."""
    directory = Path(tempfile.mkdtemp(prefix="pycodesmall-secret-"))
    directory.chmod(0o755)
    secret = directory / "secret"
    secret.write_text("TOPSECRET-0600\n")
    secret.chmod(0o600)
    yield secret
    shutil.rmtree(directory)


@AS_ROOT
@BOTH
@pytest.mark.parametrize("target", ["shadow", "root_only_file"])
def test_root_only_files_cannot_be_read(limits, target, root_only_file):
    path = Path("/etc/shadow") if target == "shadow" else root_only_file
    if not path.exists():
        pytest.skip(f"no {path}")
    first_line = path.read_text().splitlines()[0]
    program = f"data = open({str(path)!r}).read()\nprint(data)\nraise ValueError(data)\n"
    for outcome in (run_program(program, limits),
                    run_program(f"def f():\n    {program.replace(chr(10), chr(10) + '    ')}",
                                limits, Checks("f()\n", "f"))):
        assert (outcome.category, outcome.exception) == ("other", "PermissionError"), outcome
        assert first_line not in outcome.message + outcome.output_tail


def test_what_is_kept_of_messages_and_output_is_capped():
    flood = "print('x' * 100000)\nraise ValueError('y' * 100000)\n"
    bare = run_program(flood, GUARDED)
    judged = run_program("def f():\n    " + flood.replace("\n", "\n    "), GUARDED,
                         Checks("f()\n", "f"))
    for outcome in (bare, judged):
        assert outcome.exception == "ValueError"
        assert len(outcome.message) == MESSAGE_CHARS
        assert len(outcome.output_tail) <= 1000


# --- nothing outlives a sample ---------------------------------------------------------

def processes_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().strip() == name:
                found.append(int(entry))
        except OSError:
            pass
    return found


@AS_ROOT
@BOTH
def test_a_detached_grandchild_does_not_outlive_the_sample(limits):
    name = f"pcs-{random.randrange(10**8)}"
    program = ESCAPE_GUARD + textwrap.dedent(f"""\
        import time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(15, b"{name}", 0, 0, 0)  # PR_SET_NAME
                open("started", "w").close()
                time.sleep(30)
            os._exit(0)
        for _ in range(300):
            if os.path.exists("started"):
                break
            time.sleep(0.01)
        print("started" if os.path.exists("started") else "not started")
    """)
    outcome = run_program(program, limits)
    survivors = processes_named(name)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert outcome.passed and outcome.output_tail.strip() == "started", outcome
    assert survivors == []


def host_segments(keys) -> list[int]:
    """Ids of System V shared memory segments with these keys in our IPC namespace."""
    rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return [int(row.split()[1]) for row in rows if int(row.split()[0]) in keys]


@AS_ROOT
@BOTH
def test_system_v_shared_memory_does_not_outlive_the_sample(limits):
    keys = [random.randrange(1, 2**31) for _ in range(3)]
    program = ESCAPE_GUARD + textwrap.dedent(f"""\
        libc = ctypes.CDLL(None, use_errno=True)
        for key in {keys}:
            assert libc.shmget(key, 64 << 20, 0o1600) >= 0, ctypes.get_errno()  # IPC_CREAT | 0600
    """)
    outcome = run_program(program, limits)
    left = host_segments(keys)
    for segment in left:
        ctypes.CDLL(None).shmctl(segment, 0, None)  # IPC_RMID
    assert outcome.passed, outcome
    assert left == []


# --- the isolation record says what is in force --------------------------------------------

def test_a_judged_result_says_the_judge_decided():
    outcome = run_program("def f():\n    return 1\n", UNGUARDED, Checks("assert f() == 1\n", "f"))
    assert outcome.passed
    assert outcome.isolation["verdict"] == "separate judge process"


@AS_ROOT
def test_without_a_user_to_drop_to_the_record_says_root(monkeypatch):
    monkeypatch.setattr(sandbox_module, "_unprivileged_ids", lambda: None)
    outcome = run_program("pass", UNGUARDED)
    assert outcome.isolation["user"] == "uid 0 with no capabilities"


@pytest.fixture(scope="module")
def runner_module():
    spec = importlib.util.spec_from_file_location("sandbox_runner_under_test",
                                                  sandbox_module.RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_missing_mechanism_is_named_not_claimed(runner_module):
    class NoNamespaces:
        def unshare(self, flags):
            return -1

    none = {name: False for name in ("network", "ipc", "mount")}
    assert runner_module.enter_namespaces(NoNamespaces()) == none
    assert runner_module.enter_namespaces(None) == none
    record = runner_module.isolation_record(none, False, False, "shared", {}, "uid 1000 with "
                                            "capabilities 0 (bounding set 1ff)", True)
    assert record["processes"].startswith("process group only")
    assert "outlive" in record["processes"]
    assert record["network"] == "shared"
    assert record["ipc"].startswith("shared")


def test_the_guard_is_only_a_courtesy_layer():
    """Why every attack above also runs with the guard on: ESCAPE_GUARD gets around it."""
    program = ESCAPE_GUARD + "pid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\n"
    assert run_program(program, GUARDED).passed
    assert run_program("import os\nos.fork()\n", GUARDED).exception == "PermissionError"
