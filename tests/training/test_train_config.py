import pytest

from pycodesmall.errors import ConfigError
from pycodesmall.training.train_config import incompatible_keys, load_config
from training_fixtures import REPO, TEST_CONFIG


def write(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_shipped_configs_load():
    for path in (REPO / "training" / "configs").glob("*.toml"):
        if not path.name.startswith("corpus"):
            config = load_config(path)
            assert config.model_config(8192).num_parameters() > 0


def test_tiny_config_is_the_released_size():
    config = load_config(REPO / "training" / "configs" / "tiny.toml")
    assert 2e6 <= config.model_config(8192).num_parameters() <= 6e6
    assert config.schedule.kind == "wsd" and config.objective.fim_rate == 0.5


def test_unknown_key_names_the_key(tmp_path):
    path = write(tmp_path, '[data]\nshards = "s"\ntokenizer = "t"\n[train]\nmax_step = 5\n')
    with pytest.raises(ConfigError, match=r"unknown key\(s\) train\.max_step"):
        load_config(path)


def test_unknown_section_and_model_key(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) trainer;"):
        load_config(write(tmp_path, "[trainer]\nsteps = 1\n"))
    with pytest.raises(ConfigError, match=r"model\.hidden"):
        load_config(write(tmp_path, "[model]\nhidden = 64\n"))


def test_wrong_type_and_bad_choice(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.max_steps must be an integer"):
        load_config(TEST_CONFIG, ["train.max_steps=1.5"])
    with pytest.raises(ConfigError, match=r"schedule\.kind must be one of wsd, cosine"):
        load_config(TEST_CONFIG, ["schedule.kind=linear"])


def test_overrides_parse_toml_values_and_bare_strings():
    config = load_config(TEST_CONFIG, ["train.max_steps=7", "optimizer.lr=2e-3", "data.shards=/tmp/x y",
                                       "train.compile=true", "model.hidden_size=32"])
    assert config.train.max_steps == 7 and config.optimizer.lr == 2e-3
    assert config.data.shards == "/tmp/x y" and config.train.compile is True
    assert config.model_config(512).hidden_size == 32
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(TEST_CONFIG, ["max_steps=7"])


def test_a_resume_may_change_execution_and_logging_but_not_the_schedule():
    a = load_config(TEST_CONFIG).to_dict()
    b = load_config(TEST_CONFIG, ["eval.interval=3", "output.dir=elsewhere", "train.precision=bf16",
                                  "train.compile=true", "train.device=cpu"]).to_dict()
    assert incompatible_keys(a, b) == []
    c = load_config(TEST_CONFIG, ["model.hidden_size=32", "optimizer.lr=0.5"]).to_dict()
    assert [k.split(":")[0] for k in incompatible_keys(a, c)] == ["model.hidden_size", "optimizer.lr"]
    schedule = load_config(TEST_CONFIG, ["train.max_steps=99", "schedule.decay_start=4",
                                         "schedule.min_lr_ratio=0.1"]).to_dict()
    assert [k.split(":")[0] for k in incompatible_keys(a, schedule)] == [
        "schedule.decay_start", "schedule.min_lr_ratio", "train.max_steps"]
    assert incompatible_keys(a, schedule, branch=True) == []  # a branch may change the schedule ahead
    assert [k.split(":")[0] for k in incompatible_keys(a, c, branch=True)] == ["model.hidden_size", "optimizer.lr"]


def test_precision_choices():
    assert load_config(TEST_CONFIG).train.precision == "auto"
    with pytest.raises(ConfigError, match=r"train\.precision must be one of auto, fp32, bf16"):
        load_config(TEST_CONFIG, ["train.precision=fp16"])
