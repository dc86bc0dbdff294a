"""The wheel installs everything under the `pycodesmall` namespace and misses no package."""

import sys
from fnmatch import fnmatch
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NAMESPACES = {"pycodesmall": "pycodesmall", "training": "pycodesmall.training",
              "lsp_server": "pycodesmall.lsp_server"}


def test_every_package_in_the_tree_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for folder, namespace in NAMESPACES.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((namespace, *relative)))
    assert found == listed


def test_no_generic_top_level_modules_are_installed():
    import pycodesmall.training
    import pycodesmall.lsp_server
    assert pycodesmall.training.__name__ == "pycodesmall.training"
    for generic in ("training", "lsp_server"):
        assert not any((Path(p) / generic / "__init__.py").exists()
                       for p in sys.path if "site-packages" in p)


def test_the_demo_page_is_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["pycodesmall.lsp_server"]
    files = [f.relative_to(ROOT / "lsp_server").as_posix()
             for f in (ROOT / "lsp_server" / "demo_page").iterdir()]
    assert {"demo_page/index.html", "demo_page/demo.js", "demo_page/demo.css"} <= set(files)
    assert all(any(fnmatch(f, pattern) for pattern in patterns) for f in files)
