"""recipes.common: shared settings, the run lifecycle, learn-or-reuse tokenizers, the optimizer."""

import dataclasses
import json

import pytest

from recipes import common
from recipes.common import Run, RunConfig, TrainConfig, option
from zoo._keras_compat import learning_rate_schedule
from zoo.training import parse_config
from zoo.training.config import build_parser

TEXTS = [f"the {word} film was {mood}" for word in ("long", "short", "odd") for mood in ("good", "bad")] * 5


@dataclasses.dataclass
class ToyConfig(TrainConfig):
    data: str = option("tsv:x", "the data")
    warmup_epochs: int = 5
    epochs: int = option(3, "training epochs")
    out: str = option("saved_models/toy", "run folder")


def test_a_recipe_config_keeps_shared_flags_and_lists_its_own_first(tmp_path, capsys):
    cfg = parse_config(ToyConfig, ["--epochs", "4", "--strategy", "mirrored", "--no-smoke"])
    assert (cfg.epochs, cfg.strategy, cfg.seed, cfg.batch_size, cfg.out) == (4, "mirrored", 0, 32, "saved_models/toy")
    flags = [action.dest for action in build_parser(ToyConfig)._actions if action.dest not in ("help", "config")]
    # Its own fields, then TrainConfig's (epochs redeclared, but still a shared setting), then RunConfig's.
    assert flags == [
        "data",
        "warmup_epochs",
        "epochs",
        "batch_size",
        "learning_rate",
        "weight_decay",
        "quantize",
        "strategy",
        "seed",
        "out",
        "smoke",
        "resume",
    ]
    with pytest.raises(SystemExit):
        parse_config(ToyConfig, ["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--epochs EPOCHS training epochs (default: 3)" in help_text
    assert "--out OUT run folder (default: saved_models/toy)" in help_text
    assert "--resume, --no-resume continue the interrupted run in --out (default: False)" in help_text
    # config.json has the same order as --help.
    Run.start(dataclasses.replace(cfg, out=str(tmp_path), strategy="default"), {})
    assert list(json.loads((tmp_path / "config.json").read_text())) == flags


def test_checks_name_the_bad_value():
    with pytest.raises(ValueError, match=r"unknown --quantize values \['int4'\]; expected float32, dynamic"):
        common.check_quantize(("float32", "int4"), ("float32", "dynamic"))
    with pytest.raises(ValueError, match=r"unknown --preset 'huge' for --architecture lstm; expected one of"):
        common.check_preset("huge", ["tiny", "small"], "lstm")
    with pytest.raises(ValueError, match=r"unknown --architecture 'rnn'; expected one of \['vit', 'cnn'\]"):
        common.check_choice("architecture", "rnn", {"vit": 1, "cnn": 2})
    with pytest.raises(ValueError, match="--tokenizer must be wordpiece or sentencepiece. Received: 'bpe'"):
        common.check_tokenizer("bpe")
    assert common.quantizations(ToyConfig(quantize=("float32", "int8"))) == [None, "int8"]


def test_run_start_smoke_defaults_config_json_and_timing(tmp_path, capsys):
    cfg = ToyConfig(out=str(tmp_path / "run"), smoke=True, epochs=7)
    run = Run.start(cfg, {"epochs": 1, "batch_size": 2})
    assert "strategy default (no distribution)" in capsys.readouterr().out
    assert (run.cfg.epochs, run.cfg.batch_size) == (7, 2)  # an explicit --epochs beats --smoke
    assert json.loads((tmp_path / "run" / "config.json").read_text())["batch_size"] == 2
    assert set(run.timing()) == {"seconds"} and run.per_training_second(100) is None
    plain = Run.start(RunConfig(out=str(tmp_path / "plain")), {})
    assert plain.strategy is None and capsys.readouterr().out == ""  # no strategy field, no strategy


@pytest.mark.parametrize("tokenizer", ["wordpiece", "sentencepiece"])
def test_learn_or_reuse_learns_then_reuses_the_runs_own_vocabulary_on_resume(tmp_path, tokenizer):
    vocabulary, model = tmp_path / "vocabulary.txt", tmp_path / "tokenizer.model"
    options = dict(vocabulary_size=60, sequence_length=8)
    learned = common.learn_or_reuse(tokenizer, TEXTS, vocabulary, model, **options)
    assert vocabulary.is_file() and (model.is_file() == (tokenizer == "sentencepiece"))
    assert learned.sequence_length == 8 and list(learned.vocabulary) == vocabulary.read_text().split("\n")[:-1]
    # --resume tokenizes as before the interruption, even when the training texts now differ.
    other = ["completely different words here"] * 30
    reused = common.learn_or_reuse(tokenizer, other, vocabulary, model, resume=True, **options)
    assert list(reused.vocabulary) == list(learned.vocabulary)
    relearned = common.learn_or_reuse(tokenizer, other, vocabulary, model, **options)
    assert list(relearned.vocabulary) != list(learned.vocabulary)


def test_learn_or_reuse_characters_and_unknown_tokenizer(tmp_path):
    path = tmp_path / "characters.txt"
    preprocessor = common.learn_or_reuse("characters", ["abcab"], path, sequence_length=6)
    assert {"a", "b", "c"} <= set(preprocessor.vocabulary) and path.is_file()
    with pytest.raises(ValueError, match="Received: tokenizer='bpe'"):
        common.learn_or_reuse("bpe", TEXTS, path, sequence_length=6)


@pytest.mark.parametrize(
    "epochs, warmup_epochs, warmup_fraction, expected_warmup",
    [(4, 1, None, 10), (1, 5, None, 10), (4, 5, None, 40), (3, 1, 0.1, 3), (2, 1, 0.0, 0)],
)
def test_warmup_is_cut_to_the_run(epochs, warmup_epochs, warmup_fraction, expected_warmup):
    cfg = ToyConfig(epochs=epochs, warmup_epochs=warmup_epochs, learning_rate=2e-3, weight_decay=0.05)
    optimizer = common.warmup_cosine_adamw(cfg, 10, warmup_fraction=warmup_fraction, clipnorm=1.0)
    schedule = learning_rate_schedule(optimizer)
    assert (schedule.warmup_steps, schedule.total_steps) == (expected_warmup, epochs * 10)
    assert schedule.peak_learning_rate == 2e-3 and optimizer.weight_decay == 0.05 and optimizer.clipnorm == 1.0


def test_with_data_defaults_applies_only_to_flags_left_at_their_default(capsys):
    @dataclasses.dataclass
    class Config(RunConfig):
        architecture: str = "vit"
        data: str = "builtin:digits"
        epochs: int = 100
        batch_size: int = 64

    table = {("vit", "idx"): dict(epochs=30, batch_size=128), ("vit", "idx:special"): dict(epochs=5)}
    resolved = common.with_data_defaults(Config(data="idx:mnist", batch_size=32), table)
    assert (resolved.epochs, resolved.batch_size) == (30, 32)
    assert capsys.readouterr().out == "defaults for idx:mnist (vit): --epochs 30\n"
    assert common.with_data_defaults(Config(data="idx:special"), table).epochs == 5  # exact --data first
    assert common.with_data_defaults(Config(data="idx:mnist", smoke=True), table).epochs == 100
    assert common.with_data_defaults(Config(), table) == Config()


def test_docker_command_serves_the_saved_model_folder(tmp_path):
    command = common.docker_command(tmp_path / "saved_model" / "1", "qa")
    assert command == (
        f"docker run -p 8501:8501 -v {(tmp_path / 'saved_model').resolve()}:/models/qa "
        "-e MODEL_NAME=qa tensorflow/serving"
    )
