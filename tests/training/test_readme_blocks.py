"""README.md's figures are rendered from the committed result files, and kept that way."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pycodesmall.training.readme_blocks import (
    SPEED_RESULTS,
    ReadmeBlockError,
    render_blocks,
    replace_blocks,
    speed_block,
)
from pycodesmall.training.release import card_command

ROOT = Path(__file__).resolve().parents[2]


def test_readme_blocks_equal_the_result_files():
    text = (ROOT / "README.md").read_text()
    assert replace_blocks(text, render_blocks(ROOT)) == text, (
        "README.md's generated blocks differ from the result files: "
        "run `pycodesmall-train card --readme README.md`")


def test_card_command_rewrites_the_readme_blocks(tmp_path):
    for part in ("results", "benchmarks"):
        (tmp_path / part).symlink_to(ROOT / part)
    readme = tmp_path / "README.md"
    readme.write_text("# t\n\n<!-- generated: speed -->\nold\n<!-- /generated -->\n\n"
                      "<!-- generated: released-model -->\n<!-- /generated -->\nend\n")
    result = CliRunner().invoke(card_command, ["--results", str(ROOT / "results/models"),
                                               "--cards", str(tmp_path / "cards"), "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    blocks = render_blocks(ROOT)
    assert readme.read_text() == (f"# t\n\n<!-- generated: speed -->\n{blocks['speed']}\n<!-- /generated -->\n\n"
                                  f"<!-- generated: released-model -->\n{blocks['released-model']}\n"
                                  "<!-- /generated -->\nend\n")
    assert (tmp_path / "cards" / "pycodesmall-tiny.md").is_file()


def test_replace_blocks_keeps_markers_and_replaces_what_is_between():
    text = "a\n<!-- generated: x -->\nold\nlines\n<!-- /generated -->\nb <!-- generated: y -->\n<!-- /generated --> c\n"
    assert replace_blocks(text, {"x": "new\n", "y": "Y"}) == (
        "a\n<!-- generated: x -->\nnew\n<!-- /generated -->\nb <!-- generated: y -->\nY\n<!-- /generated --> c\n")


@pytest.mark.parametrize("text, message", [
    ("<!-- generated: x -->\n<!-- /generated -->\n<!-- generated: z -->\n<!-- /generated -->",
     "unknown generated block 'z'"),
    ("<!-- generated: x -->\nold\n", "'x' has no `<!-- /generated -->`"),
    ("<!-- generated: x -->\n<!-- generated: x -->\n<!-- /generated -->", "opens inside block 'x'"),
    ("<!-- generated: x -->\n<!-- /generated -->\n<!-- /generated -->", "line 3: `<!-- /generated -->` without"),
    ("<!-- generated: x -->\n<!-- /generated -->\n" * 2, "'x' appears twice"),
    ("no markers\n", "no `<!-- generated: NAME -->` marker for block(s) x"),
])
def test_replace_blocks_rejects_markers_that_do_not_match_the_blocks(text, message):
    with pytest.raises(ReadmeBlockError, match=message.replace("(", r"\(").replace(")", r"\)")):
        replace_blocks(text, {"x": "new"})


def test_speed_block_states_int8_bits_per_byte_only_for_the_whole_file_definition(tmp_path):
    result = json.loads((ROOT / SPEED_RESULTS).read_text())
    result["quality_bits_per_byte"] = {
        "texts": "20 whole held-out files sampled (seed 0) from test.jsonl.gz",
        "runtimes": {"pycodesmall onnx fp32": 1.1, "pycodesmall onnx int8": 1.103}}
    (tmp_path / SPEED_RESULTS).parent.mkdir(parents=True)
    (tmp_path / SPEED_RESULTS).write_text(json.dumps(result))
    assert "bits per byte" not in speed_block(tmp_path)  # no recorded definition: another measure

    result["quality_bits_per_byte"]["definition"] = "pycodesmall.bits_per_byte (whole files, half-context windows)"
    (tmp_path / SPEED_RESULTS).write_text(json.dumps(result))
    assert "int8 costs 0.003 bits per byte on held-out files (1.103 vs 1.100)." in " ".join(
        speed_block(tmp_path).split())
