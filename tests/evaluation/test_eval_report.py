"""Result files carry their provenance; the report renders them and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pycodesmall.training.evaluation.config import EvalConfig
from pycodesmall.training.evaluation.report import render_report, report_command
from pycodesmall.training.evaluation.results import (TaskResult, build_result,
                                                     default_output_dir, read_results,
                                                     result_filename, run_record, write_result)
from pycodesmall.training.evaluation.tasks import functional
from pycodesmall.training.provenance import dict_hash


def humaneval_result(model="tiny/model"):
    summary = {"problems": 2, "samples_per_problem": 10,
               "pass@1": 0.25, "pass@1_ci95": [0.1, 0.4],
               "pass@10": 0.5, "pass@10_ci95": [0.0, 1.0],
               "categories": {"passed": 0.25, "indentation_error": 0.0, "syntax_error": 0.05,
                              "name_error": 0.1, "type_error": 0.0, "import_error": 0.0,
                              "attribute_error": 0.0, "wrong_answer": 0.6, "timeout": 0.0,
                              "other": 0.0},
               "code": functional.summarise_code([
                   {"compile": "valid", "lines": 4, "imports": ["os"], "unresolved_imports": [],
                    "pep8_violations": 2, "idioms": dict.fromkeys(
                        ["comprehensions", "generator_expressions", "decorators",
                         "context_managers", "f_strings", "generator_functions"], 1)},
                   {"compile": "tab_error", "lines": 3}], cut_by_length=[False, True]),
               "isolation": []}
    return build_result(TaskResult("humaneval", summary, [{"task_id": "HumanEval/0"}]),
                        run_record(EvalConfig(n=10, temperature=0.8, workers=3)), model, "indent-1024", 12.5)


def test_result_records_provenance():
    result = humaneval_result()
    assert result["config"]["n"] == 10
    assert result["config_sha256"] == dict_hash(EvalConfig(n=10, temperature=0.8).settings())
    assert result["run"]["workers"] == 3
    assert result["git_commit"] is None or len(result["git_commit"].split("-")[0]) == 40
    assert result["hardware"]["cpu_count"] >= 1 and result["started_at"]
    assert (result["model"], result["tokenizer"], result["wall_time_s"]) == (
        "tiny/model", "indent-1024", 12.5)


def test_results_round_trip_through_files(tmp_path):
    path = write_result(humaneval_result(), tmp_path / "out")
    assert path.name == result_filename("humaneval") == "eval_humaneval.json"
    (tmp_path / "out" / "unrelated.json").write_text(json.dumps({"not": "a result"}))
    assert read_results([tmp_path]) == [json.loads(path.read_text())]


def test_report_renders_tables_from_results():
    text = render_report([humaneval_result()])
    assert "| tiny/model | humaneval | 2 | 10 | 25.0 [10.0, 40.0] | 50.0 [0.0, 100.0] | – |" in text
    assert ("| tiny/model | humaneval | 25.0 | 0.0 | 5.0 | 10.0 | 0.0 | 0.0 | 0.0 | 60.0 | 0.0 "
            "| 0.0 |") in text
    # 2 samples: one compiles, one TabError cut at the token cap; 2 PEP 8 violations over 4 lines.
    assert ("| tiny/model | humaneval | 2 | 50.0 | 50.0 | 100.0 | 50.0 | 0.0 | 50.0 | 100.0 | 0.500 "
            "| 1.00 |") in text
    assert "## Line completion" not in text  # no such results, no such table


def test_report_command_writes_markdown(tmp_path):
    write_result(humaneval_result(), tmp_path)
    output = tmp_path / "report.md"
    outcome = CliRunner().invoke(report_command, [str(tmp_path), "--output", str(output)])
    assert outcome.exit_code == 0, outcome.output
    assert output.read_text().startswith("# Evaluation results")


def test_results_go_next_to_the_release_record_by_default():
    assert default_output_dir("pycodesmall-tiny") == Path("results/models/pycodesmall-tiny")
    assert default_output_dir("/tmp/runs/tiny/") == Path("results/models/tiny")


def test_model_cards_can_list_the_headline_numbers():
    from pycodesmall.training.model_card import _evaluation_section

    section = "\n".join(_evaluation_section([humaneval_result()]))
    assert "| humaneval | pass@1 | 0.25 |" in section
