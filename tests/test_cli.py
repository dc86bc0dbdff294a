import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pycodesmall.cli import main


def test_complete_prints_prompt_and_completion(tiny_model_dir):
    result = CliRunner().invoke(main, ["complete", "def add(a, b):\n", "-m", str(tiny_model_dir),
                                       "--max-new-tokens", "8", "--device", "cpu", "--no-validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("def add(a, b):\n")


def test_complete_reads_a_file(tiny_model_dir, tmp_path):
    source = tmp_path / "x.py"
    source.write_text("import os\n")
    result = CliRunner().invoke(main, ["complete", "--file", str(source), "-m", str(tiny_model_dir),
                                       "--max-new-tokens", "4", "--only-completion", "-n", "2",
                                       "-t", "0.8", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "completion 2" in result.stderr


def test_errors_are_one_line_messages_not_tracebacks():
    result = CliRunner().invoke(main, ["complete", "x = 1", "-m", "no-such-model"])
    assert result.exit_code == 1
    assert "unknown model 'no-such-model'" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["complete"])
    assert result.exit_code == 2 and "give either PROMPT or --file" in result.output


def test_models_lists_the_default_model():
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0 and "pycodesmall-tiny" in result.output


def test_download_offline_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    result = CliRunner().invoke(main, ["download", "someone/model"])
    assert result.exit_code == 1 and "HF_HUB_OFFLINE" in result.output


@pytest.mark.parametrize("args, message", [
    (["-t", "nan"], "nan is not a finite number"),
    (["-t", "inf"], "inf is not a finite number"),
    (["--top-p", "nan", "-t", "1"], "nan is not a finite number"),
    (["--seed", str(2**64), "-t", "1"], "--seed"),
    (["--seed", "-1", "-t", "1"], "--seed"),
    (["--max-lines", "0"], "--max-lines"),
    (["--max-lines", "-1"], "--max-lines"),
])
def test_bad_options_are_usage_errors_before_any_model_loads(args, message, monkeypatch):
    from pycodesmall import api

    monkeypatch.setattr(api, "load", lambda *a, **k: pytest.fail("a model was loaded"))
    result = CliRunner().invoke(main, ["complete", "x = 1", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_too_many_completions_is_a_one_line_error(tiny_model_dir, monkeypatch):
    from pycodesmall import api

    monkeypatch.setattr(api, "available_memory", lambda device: 1 << 30)
    result = CliRunner().invoke(main, ["complete", "x = 1", "-m", str(tiny_model_dir), "-n", "200000",
                                       "-t", "1", "--device", "cpu"])
    assert result.exit_code == 1 and "200000 sequences" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    source = tmp_path / "latin1.py"
    source.write_bytes("s = 'café'\n".encode("latin-1"))
    result = CliRunner().invoke(main, ["complete", "--file", str(source)])
    assert result.exit_code == 2, result.output
    assert "is not UTF-8" in result.output and "line 1" in result.output
    assert "Traceback" not in result.output


def test_invalid_utf8_in_the_arguments_is_a_clear_error():
    # What Python makes of the argument bytes b"x = '\xff'" on a UTF-8 system (surrogateescape).
    result = CliRunner().invoke(main, ["complete", "x = '\udcff'\n"])
    assert result.exit_code == 2 and "PROMPT is not valid UTF-8" in result.output
    result = CliRunner().invoke(main, ["complete", "x = 1", "--suffix", "\udcff"])
    assert result.exit_code == 2 and "--suffix is not valid UTF-8" in result.output


def test_invalid_utf8_argv_through_the_real_command():
    script = Path(sys.executable).with_name("pycodesmall")
    done = subprocess.run([str(script), "complete", b"x = '\xff'\n"], capture_output=True, timeout=120,
                          env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert done.returncode == 2, done.stderr
    assert b"PROMPT is not valid UTF-8" in done.stderr and b"Traceback" not in done.stderr
