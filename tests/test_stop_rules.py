import random

import pytest

from pycodesmall.runtime import StopRules


def cut(rules, text):
    position = rules.cut(text)
    return text if position is None else text[:position]


@pytest.mark.parametrize("line_prefix, text, expected", [
    ("", "    r = 1\n\n    return r\n\n\ndef check(x):\n", "    r = 1\n\n    return r"),
    ("    ", "if a:\n        b\n    c\nd = 1", "if a:\n        b\n    c"),
    ("def f():", "\n    return 1\nx = 2", "\n    return 1"),
    ("", "\tx = 1\n        y = 2\nz", "\tx = 1\n        y = 2"),  # a tab is 8 columns
    ("", "    x = 1\n    y", "    x = 1\n    y"),  # not over yet
])
def test_block_end(line_prefix, text, expected):
    assert cut(StopRules(line_prefix=line_prefix, block_end=True), text) == expected


@pytest.mark.parametrize("line_prefix, text, lines, expected", [
    ("    x = ", "1\n    y = 2\n", 1, "1"),
    ("def f():", "\n    a = 1\n    b = 2\n    c", 2, "\n    a = 1\n    b = 2"),
    ("", "a\n\n\nb\nc\n", 2, "a\n\n\nb"),  # blank lines do not count
])
def test_max_lines(line_prefix, text, lines, expected):
    assert cut(StopRules(line_prefix=line_prefix, max_lines=lines), text) == expected


def test_earliest_rule_wins():
    rules = StopRules(block_end=True, stop_strings=("#",))
    assert cut(rules, "    a = 1  # note\nb") == "    a = 1  "


# --- a cursor at column 0: the module never ends, the first block the completion opens does

@pytest.mark.parametrize("line_prefix, text, expected", [
    ("", "def f():\n    return 1\nx = 2", "def f():\n    return 1"),
    ("", "def f():\n    return 1\n\n\nx = 2\n", "def f():\n    return 1"),  # blank lines dropped
    ("x = 1", "\ndef f():\n    pass\ny = 2", "\ndef f():\n    pass"),  # cursor mid-line
    ("", "if a:\n    b\nelse:\n    c\nd", "if a:\n    b\nelse:\n    c"),
    ("", "if a:\n    b\nelif c:\n    d\nelse:\n    e\nf()", "if a:\n    b\nelif c:\n    d\nelse:\n    e"),
    ("", "try:\n    a\nexcept E:\n    b\nelse:\n    c\nfinally:\n    d\ne = 1",
     "try:\n    a\nexcept E:\n    b\nelse:\n    c\nfinally:\n    d"),
    ("", "for x in y:\n    a\nelse:\n    b\nfor z in w:\n    c", "for x in y:\n    a\nelse:\n    b"),
    # words that only begin like a continuing keyword end the block
    ("", "def f():\n    return 1\nelse_value = 2", "def f():\n    return 1"),
    ("", "def f():\n    return 1\nexit()", "def f():\n    return 1"),
    ("", "def f():\n    return 1\nfinally_ = 3", "def f():\n    return 1"),
    ("", "def f():\n    return 1\nfor x in y:\n    pass", "def f():\n    return 1"),
    ("", "@dec\ndef f():\n    pass\n@dec\ndef g():\n    pass", "@dec\ndef f():\n    pass"),
    ("", "class A:\n    def f(self):\n        pass\n\n    def g(self):\n        pass\n\nclass B:\n",
     "class A:\n    def f(self):\n        pass\n\n    def g(self):\n        pass"),
    ("", "if a:\n    if b:\n        c\n    else:\n        d\ne = 1",
     "if a:\n    if b:\n        c\n    else:\n        d"),  # an inner else does not end it
])
def test_block_end_from_a_column_0_cursor(line_prefix, text, expected):
    assert cut(StopRules(line_prefix=line_prefix, block_end=True), text) == expected


@pytest.mark.parametrize("line_prefix, text", [
    ("", "x = 1\ny = 2\nprint(x)\n"),
    ("", "import os\nimport sys\n\nfrom a import b\n"),
    ("x = 1", "\ny = 2\nz = 3"),
    ("", "@dec\ndef f():\n"),  # a block opened but not written yet
    ("", "def f():\n    return 1\nelse:\n    pass\n"),  # the same statement goes on
    ("", "def f():\n    return 1\n\nel"),  # not decided yet: `el` may become `elif`
])
def test_top_level_statements_without_a_block_end_do_not_stop(line_prefix, text):
    assert StopRules(line_prefix=line_prefix, block_end=True).cut(text) is None


# --- a cursor on a blank line (HumanEval prompts end with "\n"): the completion's leading
# whitespace sets the block

@pytest.mark.parametrize("line_prefix, text, expected", [
    ("", "    r = 1\n    return r\n\ndef check(c):\n    pass\n", "    r = 1\n    return r"),
    ("", "        return 1\n    return 2\n", "        return 1"),
    ("", "\tx = 1\n\ty = 2\nz = 3", "\tx = 1\n\ty = 2"),
    ("    ", "  x = 1\n      y = 2\n    z = 3\n", "  x = 1\n      y = 2"),  # prefix + completion
    ("    ", "return 1\nprint(f())", "return 1"),  # the prefix alone sets it
    ("", "    return 1\n  \n\t\n\nif __name__ == '__main__':\n", "    return 1"),  # blank tails go
])
def test_block_end_from_a_blank_cursor_line(line_prefix, text, expected):
    assert cut(StopRules(line_prefix=line_prefix, block_end=True), text) == expected


# --- lines inside brackets or strings, and after a backslash, are not statements

@pytest.mark.parametrize("line_prefix, text, expected", [
    ("    ", "x = foo(\na,\n)\n    y = 1\nz", "x = foo(\na,\n)\n    y = 1"),
    ("    ", "d = {\n'k': [\n1]}\n    e = 2\nf", "d = {\n'k': [\n1]}\n    e = 2"),
    ("    x = foo(", "a,\nb)\n    y\nz", "a,\nb)\n    y"),  # the bracket opened before the cursor
    ("    ", 's = """\nat column 0\n"""\n    t = 1\nu', 's = """\nat column 0\n"""\n    t = 1'),
    ("    ", "s = '''a ' '' b\nc'''\n    t\nu", "s = '''a ' '' b\nc'''\n    t"),  # quotes inside
    ("    ", "x = 1 + \\\n2\n    y\nz", "x = 1 + \\\n2\n    y"),
    ("    ", "s = 'a\\\nb'\n    t\nu", "s = 'a\\\nb'\n    t"),  # backslash-newline in a string
    # the same before a CRLF line break
    ("    ", "x = 1 + \\\r\n2\r\n    y\r\nz", "x = 1 + \\\r\n2\r\n    y"),
    ("    ", "s = 'a\\\r\nb'\r\n    t\r\nu", "s = 'a\\\r\nb'\r\n    t"),
    # brackets in comments and strings do not open anything; closed strings end
    ("    ", "x = 1  # (\ny", "x = 1  # ("),
    ("    ", "s = '('\ny", "s = '('"),
    ("    ", "s = \"it\\\"s [\"\ny", "s = \"it\\\"s [\""),
    ("    ", "s = ''\n(y)", "s = ''"),
    ("    ", "s = 'unterminated (\ny", "s = 'unterminated ("),  # a line break ends it
    ("    ", 's = """a "b" ""c"""\ny', 's = """a "b" ""c"""'),
])
def test_continuation_lines_are_not_statements(line_prefix, text, expected):
    assert cut(StopRules(line_prefix=line_prefix, block_end=True), text) == expected


# --- stop strings across the prompt boundary

@pytest.mark.parametrize("line_prefix, stop, text, expected", [
    ("", "\ndef ", "def g():\n    pass\n", 0),  # the prompt's line break begins the match
    ("", "\ndef ", "x = 1\ndef g():", 5),
    ("de", "\ndef ", "f g():", 0),  # begins at the line break before the prefix
    ("    ", "\n    return", "return x", 0),
    ("print(", "(x)", "x)", 0),
    ("def h():", "\ndef ", "\n    pass\n", None),  # wholly in the prompt: no match
    ("y = 1; def ", "def ", "g(): pass", None),
    ("x = 'ab", "ab", "c'", None),
    ("x = 'ab", "abc", "c'", 0),
])
def test_stop_strings_match_across_the_prompt_boundary(line_prefix, stop, text, expected):
    rules = StopRules(line_prefix=line_prefix, stop_strings=(stop,))
    assert rules.cut(text) == expected
    assert _fed_in_pieces(rules, text, random.Random(0)) == expected


# --- fed in pieces, the rules cut where they cut the whole text

def _fed_in_pieces(rules, text, rng, largest=6):
    watch, start = rules.watch(), 0
    while start < len(text):
        size = rng.randint(1, largest)
        position = watch.feed(text[start:start + size])
        if position is not None:
            return position
        start += size
    return None


_TEXTS = [
    "    r = 1\n\n    return r\n\n\ndef check(x):\n    assert x\n",
    "def f():\n    return 1\nx = 2\ndef g():\n    pass\n",
    "if a:\n    b\nelse:\n    c\nelif_x = 1\nd\n",
    "x = foo(\na,\n)\n    y = '''\nz\n''' + \\\nw  # (\n  print('(')\nq\n",
    "def g():\n    '''doc\nstring'''\n    return \"\\\"\"\n\nprint(g())\nassert g()\n",
    "\tx = 1\n        y = 2\n\n  z = [\n1]\nw\n",
    "s = 'é日本🐍'\r\n    t = \"\\\\\"\r\n\r\nu = 1\r\n",
    "a\n\n\nb\nc\nd\ne\nf\ng\n",
    "abcdef\n    abcd\nabc",
    "    a\n\nxyz\n    a\n\nxy",
]

_RULES = [
    StopRules(block_end=True),
    StopRules(line_prefix="    ", block_end=True),
    StopRules(line_prefix="x = ", block_end=True, max_lines=3),
    StopRules(max_lines=2),
    StopRules(stop_strings=("\ndef ", "\nprint", "\nassert", "\nif")),
    StopRules(line_prefix="de", block_end=True, stop_strings=("\ndef ",)),
    StopRules(stop_strings=("abcdef", "cd", "e")),  # a longer match that begins earlier
    StopRules(block_end=True, stop_strings=("a\n\nxy", "\n\n\n")),
    StopRules(line_prefix="    ", block_end=True, max_lines=4, stop_strings=("(", "\nw")),
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("rules", _RULES)
def test_pieces_of_any_size_cut_where_the_whole_text_is_cut(rules, seed):
    rng = random.Random(seed)
    for text in _TEXTS:
        whole = rules.cut(text)
        assert _fed_in_pieces(rules, text, random.Random(rng.random()), largest=1) == whole, text
        for _ in range(8):
            assert _fed_in_pieces(rules, text, random.Random(rng.random())) == whole, text


@pytest.mark.parametrize("rules, text, expected", [
    # "cd" is complete at "d", before "abcdef" is: the completion is over there.
    (StopRules(stop_strings=("abcdef", "cd")), "abcdef", 2),
    # The block ends at "x" (cut after "a"); the stop string would end only at "y".
    (StopRules(block_end=True, stop_strings=("a\n\nxy",)), "    a\n\nxyz", 5),
    # Both fire at "x": the earlier cut wins.
    (StopRules(block_end=True, stop_strings=("\n\nx",)), "    a\n\n\nx", 5),
])
def test_the_rule_that_fires_first_wins_whatever_the_pieces(rules, text, expected):
    assert rules.cut(text) == expected
    for size in range(1, len(text) + 1):
        watch = rules.watch()
        found = (watch.feed(text[i:i + size]) for i in range(0, len(text), size))
        assert next(p for p in found if p is not None) == expected, size


@pytest.mark.parametrize("rules, text, rule", [
    (StopRules(block_end=True), "    a\nb", "block_end"),
    (StopRules(block_end=True), "if a:\n    b\nx = 1", "block_end"),  # back at column 0
    (StopRules(max_lines=1), "a\nb", "max_lines"),
    (StopRules(stop_strings=("b",)), "a\nb", "stop_string"),
    (StopRules(max_lines=1, stop_strings=("\n",)), "a\nb", "max_lines"),  # the same cut
])
def test_the_watch_names_the_rule_that_cut(rules, text, rule):
    watch = rules.watch()
    assert watch.rule is None
    assert watch.feed(text) is not None and watch.rule == rule


def test_a_comment_line_does_not_end_a_block():
    rules = StopRules(line_prefix="    ", block_end=True)
    assert rules.cut("x = 1\n# note\n    y = 2\n") is None
    assert cut(StopRules(block_end=True), "def f():\n    a = 1\n# note\n    return a\nb = 2") == (
        "def f():\n    a = 1\n# note\n    return a")
