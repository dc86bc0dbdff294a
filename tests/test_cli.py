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
