"""The error taxonomy for generated code: what kind of mistake made a sample fail.

Categories follow the exception hierarchy, most specific first: TabError is an
IndentationError, which is a SyntaxError; UnboundLocalError counts as a NameError and
ModuleNotFoundError as an ImportError. A failed `assert` in the tests is a wrong answer.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "classify_exception"]

# (category, exception class name that selects it), checked in this order against the MRO.
_RULES = (
    ("indentation_error", "IndentationError"),
    ("syntax_error", "SyntaxError"),
    ("name_error", "NameError"),
    ("type_error", "TypeError"),
    ("import_error", "ImportError"),
    ("attribute_error", "AttributeError"),
    ("wrong_answer", "AssertionError"),
)
CATEGORIES = ("passed",) + tuple(category for category, _ in _RULES) + ("timeout", "other")


def classify_exception(mro: list[str]) -> str:
    """Category of an exception given the names of its class's MRO (most derived first)."""
    for category, name in _RULES:
        if name in mro:
            return category
    return "other"
