"""The endpoint registry: builders found by model class (MRO), clear errors for the rest."""

import keras
import pytest

from zoo.export import registry
from zoo.export.signatures import registered_classes, saved_model_endpoint, tflite_endpoints
from zoo.models import (
    CausalLM,
    CNNClassifier,
    CNNImageClassifier,
    ImageClassifier,
    LSTMClassifier,
    LSTMSeq2Seq,
    QuestionAnswerer,
    Seq2SeqLM,
    TextClassifier,
    TextEmbedder,
)

EXPORTED = [
    CausalLM,
    CNNClassifier,
    CNNImageClassifier,
    ImageClassifier,
    LSTMClassifier,
    LSTMSeq2Seq,
    QuestionAnswerer,
    Seq2SeqLM,
    TextClassifier,
    TextEmbedder,
]


@pytest.fixture
def clean_registry(monkeypatch):
    """A registry holding what zoo registered; whatever a test adds is dropped afterwards."""
    monkeypatch.setattr(
        registry,
        "_BUILDERS",
        {kind: dict(builders) for kind, builders in registry._BUILDERS.items()},
    )


def test_every_task_model_has_both_builders():
    for kind in registry.KINDS:
        assert set(registered_classes(kind)) == set(EXPORTED), kind


def test_unknown_model_class_names_the_class_and_the_registered_ones():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(TypeError, match="no SavedModel export for Sequential") as raised:
        saved_model_endpoint(model)
    for cls in EXPORTED:
        assert cls.__name__ in str(raised.value)
    assert "keras.src.models.sequential.Sequential" in str(raised.value)
    with pytest.raises(TypeError, match="no TFLite export for Sequential"):
        tflite_endpoints(model)


def test_a_subclass_uses_its_nearest_registered_base(clean_registry):
    class Base:
        pass

    class Child(Base):
        pass

    class GrandChild(Child):
        pass

    registry.register_endpoint(Base)(lambda model: "base")
    assert registry.saved_model_endpoint(GrandChild()) == "base"
    registry.register_endpoint(Child)(lambda model: "child")
    assert registry.saved_model_endpoint(GrandChild()) == "child"
    assert registry.saved_model_endpoint(Base()) == "base"
    with pytest.raises(TypeError, match="no TFLite export for GrandChild"):
        registry.tflite_endpoints(GrandChild())


def test_registering_refuses_conflicts_and_bad_arguments(clean_registry):
    def builder(model):
        return model

    class Model:
        pass

    assert registry.register_endpoint(Model, kind="tflite")(builder) is builder
    registry.register_endpoint(Model, kind="tflite")(builder)  # the same builder again is fine
    with pytest.raises(ValueError, match="Model already has a TFLite builder"):
        registry.register_endpoint(Model, kind="tflite")(lambda model: None)
    with pytest.raises(ValueError, match="Received: kind='onnx'"):
        registry.register_endpoint(Model, kind="onnx")
    with pytest.raises(ValueError, match="needs model classes"):
        registry.register_endpoint()
    with pytest.raises(ValueError, match="needs model classes"):
        registry.register_endpoint(Model())
