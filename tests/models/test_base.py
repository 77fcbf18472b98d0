"""`zoo.models.base.Task`: every task model's config is its constructor's arguments, written once."""

import inspect

import keras
import numpy as np
import pytest

import zoo.models
from zoo.models.base import Task
from zoo.models.generative import GenerativeTask
from zoo.tokenizers import SPECIAL_TOKENS, TextPreprocessor

TASK_CLASSES = [
    zoo.models.TextClassifier,
    zoo.models.TextEmbedder,
    zoo.models.QuestionAnswerer,
    zoo.models.ImageClassifier,
    zoo.models.Seq2SeqLM,
    zoo.models.CausalLM,
    zoo.models.LSTMClassifier,
    zoo.models.CNNClassifier,
    zoo.models.CNNImageClassifier,
    zoo.models.LSTMSeq2Seq,
    zoo.models.LSTMLanguageModel,
]
VOCABULARY = list(SPECIAL_TOKENS) + "a b c d e f".split()


@pytest.mark.parametrize("model_class", TASK_CLASSES, ids=lambda c: c.__name__)
def test_every_task_model_is_a_task_with_no_config_code_of_its_own(model_class):
    assert issubclass(model_class, Task)
    # get_config / from_config come from Task alone (no mixin or subclass overrides them).
    assert model_class.get_config is Task.get_config
    assert model_class.from_config.__func__ is Task.from_config.__func__
    names = set(inspect.signature(model_class.__init__).parameters) - {"self", "kwargs"}
    assert set(model_class.config_arguments()) == names
    assert set(model_class.layer_arguments) <= names


def test_config_holds_every_constructor_argument_and_rebuilds_the_preprocessor():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=32)
    model = zoo.models.TextClassifier.from_preset(
        "tiny", preprocessor=preprocessor, num_classes=3, class_names=["x", "y", "z"], low_rank={"*attention/*": 4}
    )
    config = model.get_config()
    assert set(config) == {"name", "trainable", *model.config_arguments()}
    assert config["class_names"] == ["x", "y", "z"]
    assert config["backbone"]["config"]["low_rank"] == {"*attention/*": 4}  # the backbone holds it
    assert config["preprocessor"]["class_name"] == "TextPreprocessor"  # serialized, not the layer
    clone = zoo.models.TextClassifier.from_config(config)
    assert isinstance(clone.preprocessor, TextPreprocessor)
    assert clone.preprocessor.vocabulary == preprocessor.vocabulary
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    texts = ["a b c", "d e"]
    np.testing.assert_allclose(clone.predict(texts, verbose=0), model.predict(texts, verbose=0), atol=1e-6)


def test_an_argument_stored_under_another_attribute_round_trips():
    model = zoo.models.LSTMSeq2Seq.from_preset(
        "tiny", source_vocabulary_size=20, target_vocabulary_size=20, attention="bahdanau"
    )
    assert isinstance(model.attention, keras.layers.Layer)  # the name is taken by the layer
    config = model.get_config()
    assert config["attention"] == "bahdanau"
    assert zoo.models.LSTMSeq2Seq.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "model_class", [zoo.models.CausalLM, zoo.models.Seq2SeqLM, zoo.models.LSTMSeq2Seq], ids=lambda c: c.__name__
)
def test_generate_is_written_once_for_every_generative_model(model_class):
    assert issubclass(model_class, GenerativeTask)
    assert model_class.generate is GenerativeTask.generate


def test_encoder_decoder_generate_ignores_strip_prompt_its_output_has_no_source():
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=16)
    target = TextPreprocessor(VOCABULARY, sequence_length=17)
    model = zoo.models.Seq2SeqLM.from_preset("tiny", source_preprocessor=preprocessor, target_preprocessor=target)
    texts = ["a b c", "d"]
    assert model.generate(texts, max_length=8, strip_prompt=True) == model.generate(texts, max_length=8)
