import ast

from pycodesmall.lsp_server.context import build_prompt

BODY = "".join(f"    step_{i} = compute({i})\n" for i in range(200))
SOURCE = ("import os\nfrom typing import (\n    Any,\n    List,\n)\n\nCONSTANT = 1\n\n\n"
          "class Worker:\n    def other(self):\n        pass\n\n    @staticmethod\n"
          "    def run(x):\n" + BODY.replace("    ", "        ") + "        result = ")


def test_a_short_file_is_the_whole_prompt():
    prompt = build_prompt(SOURCE, 10, 10_000, 10_000)
    assert (prompt.prefix, prompt.suffix, prompt.cut) == (SOURCE[:10], SOURCE[10:], False)


def test_a_long_prefix_keeps_imports_enclosing_headers_and_the_last_lines():
    prompt = build_prompt(SOURCE, len(SOURCE), 600, 100)
    assert prompt.cut and len(prompt.prefix) <= 600
    lines = prompt.prefix.split("\n")
    assert lines[:5] == ["import os", "from typing import (", "    Any,", "    List,", ")"]
    assert lines[5:8] == ["class Worker:", "    @staticmethod", "    def run(x):"]
    assert "def other" not in prompt.prefix and "CONSTANT" not in prompt.prefix
    assert prompt.prefix.endswith("        step_199 = compute(199)\n        result = ")
    ast.parse(prompt.prefix + "0")  # what the model sees still parses


def test_a_long_suffix_is_cut_at_a_line_end_and_offsets_are_clamped():
    prompt = build_prompt(SOURCE, 0, 100, 45)
    assert prompt.suffix == "import os\nfrom typing import (\n    Any,\n"
    assert build_prompt("x = 1", 99, 10, 10).prefix == "x = 1"
    assert build_prompt("x = 1", -5, 10, 10).suffix == "x = 1"
