"""The sandbox contains hostile programs, the harness goes on, and failures are classified.

Every attack runs twice: with the in-process guard (the normal setting) and without it,
which shows what the process-level layer (namespaces, read-only filesystem, limits,
unprivileged user) does on its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from pycodesmall.training.evaluation.error_classes import classify_exception
from pycodesmall.training.evaluation.sandbox import (Sandbox, SandboxLimits, run_program,
                                                     run_programs)

GUARDED = SandboxLimits(timeout_s=2.0, cpu_s=2, memory_bytes=512 * 1024**2)
UNGUARDED = SandboxLimits(timeout_s=2.0, cpu_s=2, memory_bytes=512 * 1024**2, guard=False)


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
    outcome = run_program("while True:\n    pass\n", limits)
    assert outcome.category == "timeout"
    assert outcome.duration_s < limits.timeout_s + 2


def test_cpu_limit_stops_a_loop_before_the_wall_clock():
    outcome = run_program("while True:\n    pass\n",
                          SandboxLimits(timeout_s=30.0, cpu_s=1, guard=False))
    assert outcome.category == "timeout"
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
    assert (outcome.category, outcome.exception) == ("other", "PermissionError")
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
    assert set(isolation) == {"network", "filesystem", "limits", "user", "guard"}
    assert isolation["limits"]["RLIMIT_AS"] == UNGUARDED.memory_bytes
    if os.geteuid() == 0 and sys.platform == "linux":
        assert isolation["network"] == "namespace"
        assert isolation["filesystem"] == "read-only except workdir"
        assert isolation["user"].startswith("uid")


def test_a_dead_runner_is_replaced_and_the_sample_counted_as_failed():
    with Sandbox(GUARDED, workers=1) as sandbox:
        runner = sandbox._idle.queue[0]
        runner.process.kill()
        runner.process.wait()
        failed = sandbox.run("assert True")
        assert (failed.category, failed.message) == ("other", "sandbox runner failed")
        assert sandbox.run("assert True").passed
