import zipfile

import pytest

from pycodesmall.errors import ConfigError
from pycodesmall.training.corpus.sources.pypi import PyPI, Requirement, read_manifest


def test_manifest_pins_and_errors(tmp_path):
    path = tmp_path / "pypi.txt"
    path.write_text("# web\nrequests==2.32.3  # HTTP\n\nClick==8.1.7\n")
    assert read_manifest(path) == [Requirement("requests", "2.32.3"), Requirement("Click", "8.1.7")]
    path.write_text("requests>=2\n")
    with pytest.raises(ConfigError, match=r"pypi.txt:1: expected name==version"):
        read_manifest(path)
    path.write_text("requests==2.32.3\nRequests==2.31.0\n")
    with pytest.raises(ConfigError, match="listed more than once: requests"):
        read_manifest(path)


def test_wheel_in_cache_is_read_with_its_metadata(tmp_path):
    folder = tmp_path / "cache" / "wheel-demo-0.1"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "wheel_demo-0.1-py3-none-any.whl", "w") as whl:
        whl.writestr("wheel_demo/__init__.py", "VALUE = 1\n")
        whl.writestr("wheel_demo/data.json", "{}")
        whl.writestr("wheel_demo-0.1.dist-info/METADATA",
                     "Metadata-Version: 2.4\nName: wheel-demo\nLicense-Expression: Apache-2.0\n")
    (tmp_path / "pypi.txt").write_text("wheel-demo==0.1\n")
    source = PyPI(tmp_path / "pypi.txt", tmp_path / "cache")
    files = list(source.files())
    assert [(f.package, f.path, f.data, f.licence) for f in files] == [
        ("wheel-demo", "wheel_demo/__init__.py", b"VALUE = 1\n", "Apache-2.0")]
    assert source.provenance()[0]["archive"] == "wheel_demo-0.1-py3-none-any.whl"


def test_missing_manifest_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no PyPI manifest"):
        PyPI(tmp_path / "absent.txt", tmp_path)
