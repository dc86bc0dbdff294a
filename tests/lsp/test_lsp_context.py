import ast

import pycodesmall
from pycodesmall import Completion
from pycodesmall.api import encode_request

from pycodesmall.lsp_server.candidates import rank_candidates
from pycodesmall.lsp_server import context
from pycodesmall.lsp_server.completer import prompt_for
from pycodesmall.lsp_server.context import IMPORT_SHARE, build_prompt
from pycodesmall.lsp_server.settings import Settings

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


def test_the_lines_before_the_cursor_come_before_a_long_import_block():
    imports = "".join(f"from package_{i}.module import name_{i}\n" for i in range(60))
    source = imports + "\n\ndef main():\n" + BODY + "    result = "
    prompt = build_prompt(source, len(source), 1200, 100)
    assert len(prompt.prefix) <= 1200 and prompt.prefix.startswith("from package_0")
    assert prompt.prefix.endswith("    step_199 = compute(199)\n    result = ")
    kept_imports = [line for line in prompt.prefix.split("\n") if line.startswith("from")]
    assert kept_imports and sum(len(line) + 1 for line in kept_imports) <= 1200 * IMPORT_SHARE
    assert "def main():" in prompt.prefix


def test_a_signature_over_several_lines_keeps_its_def_line():
    source = ("class Worker:\n    def run(\n        self,\n        x: int,  # (not closed\n"
              "    ) -> int:\n" + BODY.replace("    ", "        ") + "        result = ")
    prompt = build_prompt(source, len(source), 600, 100)
    assert prompt.prefix.startswith("class Worker:\n    def run(\n        self,\n        x: int,")
    ast.parse(prompt.prefix + "0")


def test_the_prompt_fills_most_of_the_models_token_budget(monkeypatch):
    model = pycodesmall.load(device="cpu")
    settings = Settings()
    checked = []
    monkeypatch.setattr(context, "check_context", lambda *whole: checked.append(whole) or whole)
    prompt = prompt_for(model, SOURCE, len(SOURCE), settings)
    budget = model.context_length - settings.max_new_tokens
    tokens = len(encode_request(model.tokenizer, prompt.prefix, prompt.suffix, 10**6).ids)
    assert prompt.cut and 0.85 * budget <= tokens <= budget
    # The window is cut twice (estimated, then measured); the validation context is built once.
    assert checked == [] and prompt.check == (SOURCE, "") and len(checked) == 1


def test_suggestions_are_checked_around_the_cursor_in_the_document_not_in_the_window():
    # The window starts inside the docstring: there `"""` closes it and looks valid.
    function = 'def f():\n    """' + "    Example: total(1, 2)\n" * 40 + '    """\n    '
    source = "".join(f"def g_{i}(x):\n    return x + {i}\n\n\n" for i in range(400)) + function
    prompt = build_prompt(source, len(source), 600, 100)
    assert '"""' not in prompt.prefix[:-10]
    assert prompt.check == (function, "")
    completion = Completion('"""', None, 1, -1.0, "stop", raw_text='"""')
    assert rank_candidates(prompt.prefix, prompt.suffix, [completion])
    assert rank_candidates(*prompt.check, [completion]) == []


def test_the_text_of_a_docstring_at_column_0_is_neither_code_nor_a_dedent():
    other = "".join(f"        step_{i} = compute({i})\n" for i in range(400))
    run = "".join(f"        part_{i} = compute({i})\n" for i in range(30))
    docstring = '        """Run it.\n\nimport this_is_prose\nclass NotAClass:\n        """\n'
    prefix = ("import os\n\n\nclass Worker:\n    def other(self):\n" + other + "\n"
              "    def run(self):\n" + docstring + run + "        result = ")
    suffix = "\n" + docstring.replace("Run it.", "Stop.") + "        return result\n\n    def next(self):\n"
    prompt = build_prompt(prefix + suffix, len(prefix), 600, 100)
    assert prompt.prefix.split("\n")[:3] == ["import os", "class Worker:", "    def run(self):"]
    ast.parse(prompt.prefix + "0")
    check_prefix, check_suffix = prompt.check
    assert len(prefix) > context.CHECK_CHARS
    assert check_prefix == "import os\nclass Worker:\n" + prefix[prefix.index("    def run"):]
    assert check_suffix == suffix[:suffix.index("    def next")]
