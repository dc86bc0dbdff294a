"""The study runner on a tiny model and corpus: points, branches, skipping and resuming."""

import json
import shutil

import pytest
from click.testing import CliRunner
from training_fixtures import TEST_CONFIG

from pycodesmall.errors import ConfigError
from pycodesmall.training import train as train_module
from pycodesmall.training.study import cli as study_cli
from pycodesmall.training.study.plan import load_plan
from pycodesmall.training.study.points import experiment_points
from pycodesmall.training.study import runner
from pycodesmall.training.study.runner import families, point_path, run_plan
from pycodesmall.training.train import train as real_train

PLAN = """
[study]
results = "{tmp}/results"
runs = "{tmp}/runs"

[axes.lr]
key = "optimizer.lr"
values = [3e-3, 3e-2]

[axes.width.w32]
"model.hidden_size" = 32
"model.num_attention_heads" = 2

[experiment.tune]
base = "{base}"
axes = ["width", "lr"]
tokens = [2560]
overrides = {{ "data.shards" = "{shards}", "data.tokenizer" = "{tokenizer}", "train.grad_accum" = 1, "checkpoint.interval" = 2 }}
[experiment.tune.evaluation]
reference = false
test_files = 1
test_split = "{corpus}/test.jsonl.gz"

[experiment.sweep]
base = "{base}"
axes = ["width", "lr"]
choose = {{ lr = "tune" }}
tokens = [2560, 5120]
overrides = {{ "data.shards" = "{shards}", "data.tokenizer" = "{tokenizer}", "train.grad_accum" = 1, "checkpoint.interval" = 2 }}
[experiment.sweep.evaluation]
reference = false
test_files = 1
test_split = "{corpus}/test.jsonl.gz"
"""


def write_plan(tmp_path, corpus_dir, tokenizer_dir, shards_dir):
    path = tmp_path / "plan.toml"
    path.write_text(PLAN.format(tmp=tmp_path, base=TEST_CONFIG, shards=shards_dir,
                                tokenizer=tokenizer_dir, corpus=corpus_dir))
    return load_plan(path)


class CountingTrain:
    """The real `train`, counting its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, config, **kwargs):
        self.calls.append((config.output.dir, kwargs))
        return real_train(config, **kwargs)


def run_killed_at_step(plan, experiment: str, at_step: int, monkeypatch) -> None:
    """Run `experiment` of `plan` until training reaches step `at_step`, killed there as by Ctrl+C."""
    real_step = train_module.train_step

    def killed(model, optimizer, batches, step, *args):
        if step == at_step:
            raise KeyboardInterrupt
        return real_step(model, optimizer, batches, step, *args)
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "train_step", killed)
        with pytest.raises(KeyboardInterrupt):
            run_plan(plan, only=experiment, echo=lambda line: None)


@pytest.fixture
def plan(tmp_path, corpus_dir, tokenizer_dir, shards_dir):
    return write_plan(tmp_path, corpus_dir, tokenizer_dir, shards_dir)


def test_budgets_become_a_main_run_and_cooldown_branches(plan):
    [family] = families(plan, plan.experiments["sweep"], lambda e, axis, labels: 3e-3)
    short, long = family.points
    assert family.tokens_per_step == 4 * 64  # batch 4 x block 64, grad_accum 1
    assert (short.steps, long.steps) == (10, 20)
    assert (short.decay_start, long.decay_start) == (8, 16)  # the last 20% of each budget cools down
    assert short.config.schedule.warmup_steps == long.config.schedule.warmup_steps == 1
    assert short.branch_step == 8 and short.config.train.init_from.endswith(f"{long.run_hash}/step_000008.pt")
    assert long.final and long.branch_step is None and not short.final
    assert family.trained_tokens() == (20 + 2) * 256
    assert short.labels == {"width": "w32", "lr": 3e-3, "budget": "B1", "tokens": 2560.0}


def test_runs_every_point_then_skips_them(plan):
    counting = CountingTrain()
    written = run_plan(plan, train=counting, echo=lambda line: None)
    assert len(written) == 2 + 2  # tune: one point per lr; sweep: two budgets of the chosen lr
    tune = experiment_points(plan.results, "tune")
    best = min(tune, key=lambda r: r["eval"]["test_bpb"]["value"])
    sweep = experiment_points(plan.results, "sweep")
    assert {r["labels"]["lr"] for r in sweep} == {best["labels"]["lr"]}
    by_budget = {r["labels"]["budget"]: r for r in sweep}
    short, long = by_budget["B1"], by_budget["B2"]
    assert short["branch_step"] == 8 and short["run"] == long["point"] == long["run"]
    assert (short["tokens"], long["tokens"]) == (2560, 5120)
    assert long["flops"] == pytest.approx(5120 * long["flops_per_token"]["total"])
    assert long["parameters"]["total"] == long["parameters"]["non_embedding"] + long["parameters"]["embedding"]
    assert short["config"]["schedule"]["decay_start"] == 8 and long["config"]["train"]["max_steps"] == 20
    test = short["eval"]["test_bpb"]
    assert 0 < test["value"] and test["files"] == 1 and len(test["file_bits"]) == len(test["file_bytes"]) == 1
    assert test["file_bits"][0] / test["file_bytes"][0] == pytest.approx(test["value"])
    assert short["wall_time_s"] > 0 and long["final"] and not short["final"]
    # Validation every 10 steps, at a pause and at the end; a branch's curve is the main run's to
    # its branch step, then its own.
    assert [step for step, _ in short["val_curve"]] == [8, 10]
    assert [step for step, _ in long["val_curve"]] == [8, 10, 20]
    assert short["val_curve"][0] == long["val_curve"][0] and short["val_curve"][1] != long["val_curve"][1]
    assert long["val_curve"][-1][1] == pytest.approx(long["val_bpb_approx"])
    # The sweep's main run paused at the branch's decay start, went on after the branch.
    sweep_main = [kw for d, kw in counting.calls if d.endswith(long["point"])]
    assert [kw["pause_at"] for kw in sweep_main] == [8, None]
    assert [kw["resume"] for kw in sweep_main] == [False, True]

    again = CountingTrain()
    assert run_plan(plan, train=again, echo=lambda line: None) == []
    assert again.calls == []


def test_a_validation_curve_is_the_main_runs_to_the_branch_step_then_the_branchs(plan):
    [family] = families(plan, plan.experiments["sweep"], lambda e, axis, labels: 3e-3)
    short, long = family.points  # a branch at step 8 of 10, and the main run itself (20 steps)

    def write(run_dir, records, tail=""):
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + tail)
    write(family.main.run_dir, [{"event": "start"}, {"step": 5, "loss": 4.0}, {"step": 5, "val_bpb_approx": 3.0},
                                {"step": 8, "val_bpb_approx": 2.5}, {"event": "pause", "step": 8},
                                {"step": 10, "val_bpb_approx": 2.2}, {"step": 15, "val_bpb_approx": float("nan")},
                                {"step": 20, "val_bpb_approx": 1.9}], tail='{"step": 2')  # cut by a kill
    write(short.run_dir, [{"event": "start"}, {"step": 8, "val_bpb_approx": 9.9}, {"step": 10, "val_bpb_approx": 2.0}])
    assert runner._validation_curve(family, short) == [[5, 3.0], [8, 2.5], [10, 2.0]]
    assert runner._validation_curve(family, long) == [[5, 3.0], [8, 2.5], [10, 2.2], [20, 1.9]]  # no NaN


def test_a_killed_run_resumes_and_ends_as_an_uninterrupted_one(plan, tmp_path, monkeypatch,
                                                               corpus_dir, tokenizer_dir, shards_dir):
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = write_plan(clean_dir, corpus_dir, tokenizer_dir, shards_dir)
    run_plan(clean, only="tune", echo=lambda line: None)

    run_killed_at_step(plan, "tune", 5, monkeypatch)
    assert experiment_points(plan.results, "tune") == []
    run_plan(plan, only="tune", echo=lambda line: None)

    def bpb(p):
        return sorted((r["labels"]["lr"], r["eval"]["test_bpb"]["value"]) for r in experiment_points(p.results, "tune"))
    assert bpb(plan) == bpb(clean)


def test_a_chosen_axis_waits_for_its_source(plan):
    lines = []
    written = run_plan(plan, only="sweep", train=CountingTrain(), echo=lines.append)
    assert written == [] and "waits" in lines[0] and "tune" in lines[0]


def test_dry_run_prints_every_run_without_training(plan):
    result = CliRunner().invoke(study_cli.study, ["run", str(plan.path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "tune: 2 models, 2 points" in result.output
    assert "sweep: 1 models, 2 points" in result.output and "pending" in result.output
    assert not plan.runs.exists()


def test_plan_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[experiment.x]\nbase = "b.toml"\ncompute = [1e12]\ntokens = [5]\n')
    with pytest.raises(ConfigError, match="exactly one of compute"):
        load_plan(bad)
    bad.write_text('[experiment.x]\nbase = "b.toml"\naxes = ["size"]\ntokens = [5]\n')
    with pytest.raises(ConfigError, match="unknown axes size"):
        load_plan(bad)
    bad.write_text('[experiment.x]\nbase = "b.toml"\ntokens = [5]\nchoose = { lr = "y" }\n')
    with pytest.raises(ConfigError, match="choose"):
        load_plan(bad)


def test_point_files_are_named_by_run_hash(plan):
    [family] = families(plan, plan.experiments["sweep"], lambda e, axis, labels: 3e-2)
    paths = {point_path(plan, p).name for p in family.points}
    assert len(paths) == 2 and all(len(name) == len("0123456789abcdef.json") for name in paths)
    other = families(plan, plan.experiments["sweep"], lambda e, axis, labels: 3e-3)[0]
    assert not paths & {point_path(plan, p).name for p in other.points}
    json.dumps([p.labels for p in family.points])  # labels are plain JSON


def test_dry_run_hours_at_an_assumed_rate(plan):
    from pycodesmall.training.study.dry_run import dry_run
    assumed = plan.path.with_name("assumed.toml")
    assumed.write_text(plan.path.read_text().replace(
        '[study]\n', '[study]\nassumed_flops_per_second = 1e6\nassumed_device = "a slow one"\n', 1))
    text, totals = dry_run(load_plan(assumed))
    assert totals["hours"] == pytest.approx(totals["flops"] / 1e6 / 3600)
    assert "assumed 1e+06 model FLOP/s (a slow one; not measured)" in text


def test_dry_run_hours_at_the_rate_measured_for_each_model(plan, tmp_path):
    from pycodesmall.training.study.dry_run import MeasuredPlanThroughput, dry_run
    [family] = families(plan, plan.experiments["sweep"], lambda e, axis, labels: 3e-3)
    measured = tmp_path / "measured.json"
    measured.write_text(json.dumps({"families": [{"device_name": "a test device", "model_flops_per_s": 2e6,
                                                  "flops_per_token": family.flops_per_token.to_dict()}]}))
    text, totals = dry_run(plan, only="sweep", throughput=MeasuredPlanThroughput(measured))
    assert totals["hours"] == pytest.approx(family.trained_tokens() * family.flops_per_token.total / 2e6 / 3600)
    assert "measured on a test device" in text


def test_how_a_run_executes_does_not_rename_it(plan):
    from pycodesmall.training.study.runner import run_hash
    [family] = families(plan, plan.experiments["sweep"], lambda e, axis, labels: 3e-3)
    config = family.main.config
    config.train.compile, config.eval.interval, config.checkpoint.interval = True, 7, 3
    assert run_hash(config) == family.main.run_hash
    config.train.precision = "bf16"
    assert run_hash(config) != family.main.run_hash


def test_a_diverged_run_is_a_point_of_its_own_and_never_chosen(plan):
    from pycodesmall.training.train import DivergedError

    def train(config, **kwargs):
        if config.optimizer.lr == 3e-3:
            raise DivergedError("training diverged: the loss became non-finite at step 3")
        return real_train(config, **kwargs)
    lines = []
    run_plan(plan, train=train, echo=lines.append)
    tune = {r["labels"]["lr"]: r for r in experiment_points(plan.results, "tune")}
    assert "diverged" in tune[3e-3] and tune[3e-3]["eval"]["test_bpb"]["value"] is None
    assert {r["labels"]["lr"] for r in experiment_points(plan.results, "sweep")} == {3e-2}
    assert any("diverged" in line for line in lines)


def test_a_kill_between_the_two_saves_of_a_pause_loses_nothing(plan):
    run_plan(plan, only="tune", echo=lambda line: None)
    [family] = families(plan, plan.experiments["sweep"])
    main = family.main
    real_train(main.config, pause_at=8)
    (main.run_dir / "step_000008.pt").unlink()  # killed after checkpoint.pt, before the kept copy
    counting = CountingTrain()
    assert len(run_plan(plan, only="sweep", train=counting, echo=lambda line: None)) == 2
    assert [kw.get("pause_at") for d, kw in counting.calls if d == str(main.run_dir)] == [None]
    assert not (main.run_dir / "step_000008.pt").exists()  # dropped once the branch was measured


def test_the_progress_count_reaches_its_total_after_a_kill_in_a_cooldown(plan, monkeypatch):
    run_plan(plan, only="tune", echo=lambda line: None)
    run_killed_at_step(plan, "sweep", 9, monkeypatch)  # the main run pauses at 8; step 9 is the B1 branch's
    lines = []
    run_plan(plan, only="sweep", echo=lines.append)
    counts = [line.split("]")[0].lstrip("[") for line in lines if line.startswith("[")]
    assert counts == ["1/2", "2/2"]  # the branch's cooldown, then the main run to its end


INCLUDING = """
[study]
results = "{results}"
runs = "{tmp}/runs"
include = ["{plan}"]

[axes.seed]
key = "train.seed"
values = [1, 2]

[experiment.seeds]
base = "{base}"
axes = ["width", "seed", "lr"]
choose = {{ lr = "tune" }}
only = {{ seed = [2] }}
tokens = [2560]
overrides = {{ "data.shards" = "{shards}", "data.tokenizer" = "{tokenizer}", "train.grad_accum" = 1 }}
[experiment.seeds.evaluation]
reference = false
test_files = 1
test_split = "{corpus}/test.jsonl.gz"
"""


def write_including_plan(plan, corpus_dir, tokenizer_dir, shards_dir, results=None):
    path = plan.path.with_name("including.toml")
    path.write_text(INCLUDING.format(tmp=plan.path.parent, results=results or plan.results, plan=plan.path,
                                     base=TEST_CONFIG, shards=shards_dir, tokenizer=tokenizer_dir,
                                     corpus=corpus_dir))
    return path


def test_an_included_plan_lends_its_axes_and_choices_and_runs_nothing(plan, corpus_dir, tokenizer_dir,
                                                                       shards_dir):
    including = load_plan(write_including_plan(plan, corpus_dir, tokenizer_dir, shards_dir))
    assert list(including.experiments) == ["seeds"]
    assert [labels["seed"] for labels in including.experiments["seeds"].grid()] == [2]
    run_plan(plan, only="tune", echo=lambda line: None)
    counting = CountingTrain()
    written = run_plan(including, train=counting, echo=lambda line: None)
    [point] = [json.loads(p.read_text()) for p in written]
    tune = experiment_points(plan.results, "tune")
    best = min(tune, key=lambda r: r["eval"]["test_bpb"]["value"])
    assert point["labels"]["lr"] == best["labels"]["lr"]  # chosen by width alone: tune has no seed
    assert point["labels"]["seed"] == 2 and point["config"]["train"]["seed"] == 2
    assert len(counting.calls) == 1


def test_include_and_only_errors_name_the_key(plan, corpus_dir, tokenizer_dir, shards_dir, tmp_path):
    elsewhere = write_including_plan(plan, corpus_dir, tokenizer_dir, shards_dir, results=tmp_path / "other")
    with pytest.raises(ConfigError, match="keeps its results or runs elsewhere"):
        load_plan(elsewhere)
    path = write_including_plan(plan, corpus_dir, tokenizer_dir, shards_dir)
    path.write_text(path.read_text().replace("seed = [2]", "seed = [3]"))
    with pytest.raises(ConfigError, match=r"only.seed must be a non-empty list of the axis's choices \(1, 2\)"):
        load_plan(path)


AGAIN = """
[study]
results = "{results}"
runs = "{tmp}/runs"
include = ["{plan}"]

[experiment.again]
base = "{base}"
axes = ["width", "lr"]
tokens = [2560]
overrides = {{ "data.shards" = "{shards}", "data.tokenizer" = "{tokenizer}", "train.grad_accum" = 1, "checkpoint.interval" = 2 }}
[experiment.again.evaluation]
reference = false
test_files = 1
seed = {seed}
test_split = "{corpus}/test.jsonl.gz"
"""


@pytest.mark.parametrize("seed", [0, 1])
def test_a_run_measured_the_same_way_elsewhere_is_not_trained_again(plan, corpus_dir, tokenizer_dir, shards_dir,
                                                                    seed):
    """`again` lists tune's runs; measured as tune measured them (test files drawn with seed 0) they
    are copied."""
    path = plan.path.with_name("again.toml")
    path.write_text(AGAIN.format(tmp=plan.path.parent, results=plan.results, plan=plan.path, base=TEST_CONFIG,
                                 shards=shards_dir, tokenizer=tokenizer_dir, corpus=corpus_dir,
                                 seed=seed))
    run_plan(plan, only="tune", echo=lambda line: None)
    shutil.rmtree(plan.runs)  # a new machine: the results are committed, the runs are gone
    counting = CountingTrain()
    written = run_plan(load_plan(path), train=counting, echo=lambda line: None)
    tune = {r["point"]: r for r in experiment_points(plan.results, "tune")}
    again = [json.loads(p.read_text()) for p in written]
    assert sorted(r["point"] for r in again) == sorted(tune)  # the same configs, so the same runs
    if seed == 0:
        assert counting.calls == []
        for record in again:
            assert record["experiment"] == "again" and record["measured_under"] == "tune"
            assert record["eval"] == tune[record["point"]]["eval"]
    else:  # measured another way: trained and measured for this experiment
        assert len(counting.calls) == 2
        assert all("measured_under" not in r and r["experiment"] == "again" for r in again)
