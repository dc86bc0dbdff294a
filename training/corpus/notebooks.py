"""Jupyter notebooks as Python source: code cells as code, markdown cells as comments.

IPython magics (`%matplotlib inline`, `!pip install x`) are commented out, so a notebook
of valid cells becomes a file that parses. Outputs are dropped.
"""

from __future__ import annotations

import json

__all__ = ["notebook_to_python"]


def notebook_to_python(text: str) -> str:
    """Python source of an nbformat 4 notebook; ValueError for anything else."""
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError("not an nbformat 4 notebook") from None
    blocks = []
    for cell in cells:
        source = cell.get("source", "")
        lines = ("".join(source) if isinstance(source, list) else str(source)).splitlines()
        if cell.get("cell_type") == "code":
            blocks.append("\n".join(f"# {line}" if line.lstrip().startswith(("%", "!")) else line
                                    for line in lines))
        else:
            blocks.append("\n".join(f"# {line}".rstrip() for line in lines))
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"
