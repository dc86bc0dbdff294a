from pathlib import Path

import pytest
from click.testing import CliRunner

from pycodesmall.errors import ConfigError
from pycodesmall.training.corpus.cli import data
from pycodesmall.training.corpus.config import load_config
from pycodesmall.training.provenance import dict_hash

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path, text):
    path = tmp_path / "corpus.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", sorted((REPO / "training" / "configs").glob("corpus*.toml")),
                         ids=lambda p: p.name)
def test_committed_configs_load_and_name_their_command(path):
    load_config(path)
    assert f"pycodesmall-train data build --config training/configs/{path.name}" in path.read_text()


def test_unknown_keys_are_named(tmp_path):
    path = write(tmp_path, 'outptu_dir = "x"\n[filters]\nmax_bytes = 10\nmax_byte = 3\n')
    with pytest.raises(ConfigError, match="outptu_dir"):
        load_config(path)
    path = write(tmp_path, "[filters]\nmax_bytes = 10\nmax_byte = 3\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) filters\.max_byte"):
        load_config(path)
    path = write(tmp_path, '[[sources.local]]\npath = "."\nlicense = "MIT"\n')
    with pytest.raises(ConfigError, match=r"unknown key\(s\) sources\.local\[0\]\.license"):
        load_config(path)


def test_wrong_types_and_values_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"filters\.max_bytes must be an integer"):
        load_config(write(tmp_path, '[filters]\nmax_bytes = "big"\n'))
    with pytest.raises(ConfigError, match=r"filters\.drop_unparsable must be true or false"):
        load_config(write(tmp_path, "[filters]\ndrop_unparsable = 1\n"))
    with pytest.raises(ConfigError, match="sum to less than 1"):
        load_config(write(tmp_path, "[split]\nvalidation = 0.6\ntest = 0.5\n"))
    with pytest.raises(ConfigError, match="path"):
        load_config(write(tmp_path, '[[sources.local]]\nlicence = "MIT"\n'))


def test_defaults_fill_in_and_the_hash_follows_the_settings(tmp_path):
    a = load_config(write(tmp_path, "[dedup]\nnear_threshold = 0.85\n"))
    b = load_config(write(tmp_path, "[dedup]\nnear_threshold = 0.9\n"))
    assert a.filters.max_bytes == 1_000_000
    assert dict_hash(a.to_dict()) == dict_hash(load_config(write(tmp_path, "")).to_dict())
    assert dict_hash(a.to_dict()) != dict_hash(b.to_dict())


def test_cli_reports_bad_config_without_traceback(tmp_path):
    path = write(tmp_path, "bogus = 1\n")
    result = CliRunner().invoke(data, ["build", "--config", str(path)])
    assert result.exit_code == 1
    assert "unknown key(s) bogus" in result.output
    assert "Traceback" not in result.output
