"""What the encoder task models (`TextClassifier`, `TextEmbedder`, `QuestionAnswerer`) share.

Each is a `zoo.models.TransformerEncoderBackbone` plus a head. Before
backbones (issue 20) they took the encoder's sizes as flat constructor
arguments, which old `.keras` files, `from_preset` and
`zoo.checkpoints.BertCheckpoint.model_config` still pass:
`encoder_backbone` turns them into the backbone. The backbone's layer
names (`embedding`, `segment_embedding`, `embedding_norm`, `encoder_0`,
..., `final_norm`) are those of the earlier stack, so one weight mapping
(`zoo.checkpoints.BertCheckpoint.assign`) loads a BERT-family checkpoint
into any of the three, and old files load their weights unchanged.
"""

import numpy as np

from zoo.models.backbones import TransformerEncoderBackbone
from zoo.models.presets import get_preset
from zoo.models.task import RANK_ARGUMENTS, checked_texts, preset_config, upgrade_rank_arguments


def flat_encoder_arguments(**defaults):
    """The flat encoder arguments of an earlier encoder task model, with its `defaults`.

    Returns:
        `{name: default}` for `vocabulary_size`, `sequence_length` (no
        default), `hidden_dim`, `num_layers`, `num_heads`,
        `intermediate_dim`, `dropout`, `activation`, `normalize_first`,
        `layer_norm_epsilon` and `low_rank`.
    """
    arguments = {
        "vocabulary_size": None,
        "sequence_length": None,
        "hidden_dim": None,
        "num_layers": None,
        "num_heads": None,
        "intermediate_dim": None,
        "dropout": 0.0,
        "activation": "gelu",
        "normalize_first": False,
        "layer_norm_epsilon": 1e-5,
        "low_rank": None,
    }
    unknown = sorted(set(defaults) - set(arguments))
    if unknown:
        raise ValueError(f"unknown encoder arguments {unknown}; expected some of {sorted(arguments)}")
    return {**arguments, **defaults}


def encoder_backbone(model_class, backbone, flat, preprocessor, *, num_segments=0, fixed_input_length=False):
    """The `TransformerEncoderBackbone` of an encoder task: `backbone`, or the one `flat` describes.

    Args:
        model_class: the task class; its `flat_arguments` are the defaults
            of the flat arguments.
        backbone: a `TransformerEncoderBackbone`, or `None` with `flat`.
        flat: the flat arguments of earlier versions (see `flat_arguments`;
            `projection_rank`, `ffn_rank`, `layer_ranks`, `embedding_rank`
            are folded into `low_rank`), or `{}` with a `backbone`.
        preprocessor: a `TextPreprocessor` or `None`; its vocabulary and
            sequence length must be the backbone's.
        num_segments: int, the segment table of the backbone built from
            `flat` (2 for `QuestionAnswerer`, as before backbones).
        fixed_input_length: bool, whether the backbone built from `flat` has
            inputs `(B, sequence_length)` (the earlier `TextClassifier` and
            `QuestionAnswerer` graphs) rather than `(B, T)`.

    Returns:
        The backbone. The one built from `flat` is what the earlier stack
        was: learned positions, an embedding LayerNorm, biases everywhere,
        and a final LayerNorm exactly when `normalize_first` (pre-LN).

    Raises:
        ValueError: both or neither of `backbone` and `flat`, an unknown or
            missing flat argument, another kind of backbone, or a
            preprocessor that does not match.
    """
    name = model_class.__name__

    def build(flat):
        values = {**model_class.flat_arguments, **upgrade_rank_arguments(flat)}
        unknown = sorted(set(values) - set(model_class.flat_arguments))
        if unknown:
            raise ValueError(
                f"unknown {name} arguments {unknown}; expected some of {sorted(model_class.flat_arguments)}"
            )
        missing = [key for key, value in values.items() if value is None and key != "low_rank"]
        if missing:
            raise ValueError(f"{name} needs {missing} (or a backbone)")
        return TransformerEncoderBackbone(
            use_final_norm=values["normalize_first"],
            num_segments=num_segments,
            fixed_input_length=fixed_input_length,
            **values,
        )

    backbone = model_class.checked_backbone(backbone, flat, build)
    if preprocessor is not None:
        check_preprocessor(preprocessor, backbone.vocabulary_size, backbone.sequence_length)
    return backbone


def backbone_property(name):
    """A read-only property of a task that reads its backbone's attribute `name`."""
    return property(lambda self: getattr(self.backbone, name), doc=f"The backbone's `{name}`.")


def check_preprocessor(preprocessor, vocabulary_size, sequence_length):
    """A clear error when `preprocessor` does not produce what the model takes."""
    if preprocessor.vocabulary_size != vocabulary_size or preprocessor.sequence_length != sequence_length:
        raise ValueError(
            "the preprocessor does not match the model: vocabulary_size "
            f"{preprocessor.vocabulary_size} vs {vocabulary_size}, sequence_length "
            f"{preprocessor.sequence_length} vs {sequence_length}"
        )


def preprocess_texts(model, texts, verb):
    """Raw strings -> model inputs via `model.preprocessor`, with clear errors for what cannot be used."""
    if model.preprocessor is None:
        raise ValueError(
            f"this {type(model).__name__} has no preprocessor, so it takes token_ids and padding_mask, "
            "not strings; build it with from_preset(..., vocabulary=...)"
        )
    # Any string array or tensor is flattened first (predict routes them here); checked_texts does the rest.
    texts = [texts] if isinstance(texts, (str, bytes)) else list(np.asarray(texts, dtype=object).reshape(-1))
    return model.preprocessor(checked_texts(texts, verb))


def is_text_input(inputs):
    """Whether `inputs` is text (a string, a list with strings, a string array) rather than token ids."""
    if isinstance(inputs, str):
        return True
    if isinstance(inputs, (list, tuple)):  # any string: a text batch (bad items are reported later)
        return any(isinstance(item, (str, bytes)) for item in inputs)
    dtype = getattr(inputs, "dtype", None)
    return dtype is not None and (str(dtype) in ("<dtype: 'string'>", "string") or np.dtype(dtype).kind in "OUS")


def is_empty_batch(texts):
    """Whether `texts` is an empty list, tuple or array (routed to `preprocess_texts` for its clear error)."""
    return isinstance(texts, (list, tuple, np.ndarray)) and np.size(np.asarray(texts, dtype=object)) == 0


def preset_with_preprocessor(model_class, family, name, vocabulary, preprocessor, overrides):
    """Preset `name` with `overrides`, plus a `TextPreprocessor` built from `vocabulary` when given.

    Returns `(config, preprocessor)`; `config["vocabulary_size"]` follows
    the preprocessor's.
    """
    from zoo.tokenizers import TextPreprocessor

    if getattr(model_class, "flat_arguments", None) is None:  # a model without a backbone
        config = preset_config(model_class, family, name, overrides)
    else:  # the preset and the overrides may hold the backbone's flat arguments
        allowed = set(model_class.config_arguments()) | set(model_class.flat_arguments)
        unknown = sorted(set(overrides) - allowed - set(RANK_ARGUMENTS))
        if unknown:
            raise ValueError(f"unknown {model_class.__name__} arguments {unknown}; expected some of {sorted(allowed)}")
        config = {**get_preset(family, name), **overrides}
    if preprocessor is None and vocabulary is not None:
        preprocessor = TextPreprocessor(vocabulary, config["sequence_length"])
    if preprocessor is not None:
        config.setdefault("vocabulary_size", preprocessor.vocabulary_size)
    if "vocabulary_size" not in config:
        raise ValueError(f"{model_class.__name__}.from_preset needs vocabulary=, preprocessor= or vocabulary_size=")
    return config, preprocessor
