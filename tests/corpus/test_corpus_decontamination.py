import gzip
import json
import sysconfig
from pathlib import Path

import pytest

from pycodesmall.training.corpus.config import DecontaminationConfig
from pycodesmall.training.corpus.decontamination import ContaminationIndex, load_benchmarks

CONFIG = DecontaminationConfig()
STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="module")
def index():
    return ContaminationIndex.from_config(CONFIG)


def humaneval(i):
    with gzip.open(CONFIG.humaneval, "rt") as f:
        return [json.loads(line) for line in f][i]


def test_all_benchmark_files_and_splits_are_indexed():
    tasks = load_benchmarks(CONFIG)
    assert len([t for t in tasks if t.startswith("HumanEval/")]) == 164
    mbpp = {int(t.split("/")[1]) for t in tasks if t.startswith("mbpp/")}
    # prompt split 1-10, test 11-510, validation 511-600, train 601-974
    assert {1, 10, 11, 510, 511, 600, 601, 974} <= mbpp and len(mbpp) == 974


def test_planted_solution_is_found_whatever_the_formatting(index):
    task = humaneval(12)
    source = "import os\n\n" + task["prompt"] + task["canonical_solution"] + "\nprint(1)\n"
    found = index.match(source)
    assert found is not None and "HumanEval/12" in found.tasks
    reformatted = source.replace("    ", "\t").replace("(", "( ").replace("\n", "\r\n")
    assert index.match(reformatted) is not None


def test_mbpp_solution_is_found(index):
    with open(CONFIG.mbpp) as f:
        task = next(json.loads(line) for line in f if json.loads(line)["task_id"] == 620)
    found = index.match("# helpers\n" + task["code"])
    assert found is not None and "mbpp/620" in found.tasks


def test_idioms_and_literal_lists_are_not_contamination(index):
    idioms = '''
if __name__ == "__main__":
    import doctest
    doctest.testmod()

class Point:
    def __init__(self, a, b):
        self.a = a
        self.b = b

DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
LETTERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
NAMES = {'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5}
'''
    assert index.match(idioms) is None


@pytest.mark.parametrize("package", ["json", "collections", "functools.py", "inspect.py",
                                     "doctest.py", "unittest", "email", "textwrap.py"])
def test_ordinary_stdlib_code_is_not_dropped(index, package):
    path = STDLIB / package
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    flagged = [f.name for f in files if index.match(f.read_text(encoding="utf-8"))]
    assert flagged == []
