from click.testing import CliRunner

from pycodesmall.lsp_server.cli import main
from pycodesmall.lsp_server.doctor import run_check
from pycodesmall.lsp_server.settings import Settings


def test_check_loads_the_model_completes_and_prints_timings(lsp_model_dir):
    lines = []
    assert run_check(Settings(model=str(lsp_model_dir), device="cpu"), lines.append) == 0
    report = "\n".join(lines)
    assert "loaded in" in report and "first completion:" in report and "second completion:" in report
    assert "CodeModel(" in report


def test_check_says_why_a_model_does_not_load(tmp_path):
    lines = []
    assert run_check(Settings(model=str(tmp_path)), lines.append) == 1
    assert lines[-1].startswith("FAILED to load the model:") and "config.json" in lines[-1]


def test_a_bad_tcp_address_is_refused_with_an_example():
    result = CliRunner().invoke(main, ["--tcp", "localhost"])
    assert result.exit_code == 2 and "HOST:PORT" in result.output
