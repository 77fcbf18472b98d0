"""`low_rank`, the one low-rank option of every task model, and the rank arguments it replaced."""

import keras
import numpy as np
import pytest

from helpers import to_numpy
from zoo.models import (
    CausalLM,
    ImageClassifier,
    QuestionAnswerer,
    Seq2SeqLM,
    TextClassifier,
    TextEmbedder,
)
from zoo.models.presets import get_preset
from zoo.models.task import legacy_low_rank, low_rank_arguments

BUILDERS = {
    "text_classifier": lambda **kw: TextClassifier.from_preset("tiny", vocabulary_size=30, **kw),
    "question_answerer": lambda **kw: QuestionAnswerer.from_preset("tiny", vocabulary_size=30, **kw),
    "text_embedder": lambda **kw: TextEmbedder.from_preset("tiny", vocabulary_size=30, **kw),
    "causal_lm": lambda **kw: CausalLM.from_preset("tiny", vocabulary_size=30, **kw),
    "seq2seq": lambda **kw: Seq2SeqLM.from_preset("tiny", source_vocabulary_size=30, target_vocabulary_size=25, **kw),
    "image_classifier": lambda **kw: ImageClassifier.from_preset("tiny", **kw),
}
FIRST_BLOCK = {"causal_lm": "decoder_0"}
# The sizes BUILDERS give, as flat arguments of a config saved before backbones.
FLAT_SIZES = {
    "seq2seq": {"source_vocabulary_size": 30, "target_vocabulary_size": 25},
    "text_classifier": {"vocabulary_size": 30, "num_classes": 2},  # num_classes is not in presets
}


def expected_shapes(name, block):
    shapes = {
        f"{block}/self_attention/query/u_kernel": (16, 3),
        f"{block}/self_attention/key/kernel": (16, 2, 8),
        f"{block}/self_attention/attention_output/v_kernel": (3, 16),
        f"{block}/feedforward/intermediate/u_kernel": (16, 4),
        f"{block}/feedforward/output/u_kernel": (32, 2),
    }
    if name == "seq2seq":
        shapes["decoder_0/cross_attention/value/u_kernel"] = (16, 3)
    return shapes


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_low_rank_patterns_build_low_rank_projections_at_their_paths_and_round_trip(name):
    block = FIRST_BLOCK.get(name, "encoder_0")
    low_rank = {
        "*attention/*": 3,  # every attention projection ...
        "*/feedforward/intermediate": 4,
        f"{block}/self_attention/key": None,  # ... except this one: the last matching pattern wins
        f"{block}/feedforward/output": 2,
    }
    model = BUILDERS[name](low_rank=low_rank)
    shapes = {w.path: tuple(w.shape) for w in model.weights}
    assert expected_shapes(name, block).items() <= shapes.items()
    config = model.get_config()
    assert model.low_rank == low_rank and not set(config) & {"projection_rank", "ffn_rank", "layer_ranks"}
    clone = type(model).from_config(config)
    assert {w.path: tuple(w.shape) for w in clone.weights} == shapes


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_old_rank_arguments_build_the_same_model_from_presets_and_old_configs(name):
    block = FIRST_BLOCK.get(name, "encoder_0")
    old = {
        "projection_rank": 3,
        "ffn_rank": {"intermediate": 4},
        "layer_ranks": {f"{block}/self_attention/key": None, f"{block}/feedforward/output": 2},
    }
    model = BUILDERS[name](**old)  # from_preset maps them to low_rank
    shapes = {w.path: tuple(w.shape) for w in model.weights}
    assert expected_shapes(name, block).items() <= shapes.items()
    old_config = {key: value for key, value in model.get_config().items() if key != "low_rank"}
    if "backbone" in old_config:  # a config saved before backbones: the flat arguments, no backbone
        sizes = FLAT_SIZES.get(name, {"vocabulary_size": 30})
        old_config = {"name": old_config["name"], **get_preset(name, "tiny"), **sizes}
    old_config.update(old)  # a config saved before low_rank existed
    assert {w.path: tuple(w.shape) for w in type(model).from_config(old_config).weights} == shapes


def test_dense_defaults_keep_todays_weights():
    model = BUILDERS["seq2seq"]()
    assert not any("u_kernel" in w.path for w in model.weights)
    assert {"encoder_0/self_attention/query/kernel", "decoder_embedding/token_embedding/embeddings"} <= {
        w.path for w in model.weights
    }


def test_rotary_causal_lm_with_factorized_embedding_generates_the_same_with_and_without_cache():
    model = CausalLM.from_preset(
        "tiny_rotary",
        vocabulary_size=30,
        low_rank={"*attention/*": 3, "*/feedforward/*": 4, "embedding/token_embedding": 6},
    )
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(to_numpy(weight) + rng.normal(scale=0.3, size=weight.shape).astype("float32"))
    prompts = np.array([[2, 5, 6, 7], [2, 9, 0, 0]], "int32")
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], "int32")
    cached = model.generate_ids(prompts, mask, max_length=10, use_cache=True)
    uncached = model.generate_ids(prompts, mask, max_length=10, use_cache=False)
    np.testing.assert_array_equal(to_numpy(cached), to_numpy(uncached))
    assert {"embedding/token_embedding/embeddings", "embedding/token_projection/kernel"} <= {
        w.path for w in model.weights
    }


def test_seq2seq_with_embedding_rank_round_trips(tmp_path):
    model = BUILDERS["seq2seq"](low_rank={"*/token_embedding": 4, "*attention/*": 2})
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    inputs = {
        "encoder_token_ids": np.full((1, 5), 7, "int32"),
        "encoder_padding_mask": np.ones((1, 5), "int32"),
        "decoder_token_ids": np.full((1, 4), 3, "int32"),
        "decoder_padding_mask": np.ones((1, 4), "int32"),
    }
    np.testing.assert_allclose(to_numpy(loaded(inputs)), to_numpy(model(inputs)), atol=1e-6)
    assert loaded.low_rank == {"*/token_embedding": 4, "*attention/*": 2}
    assert loaded.encoder_embedding.embedding_rank == loaded.decoder_embedding.embedding_rank == 4


def test_low_rank_arguments_split_paths_by_block_and_embedding():
    blocks = {
        "encoder_0": ["encoder_0/self_attention/query", "encoder_0/feedforward/output"],
        "encoder_1": ["encoder_1/self_attention/query", "encoder_1/feedforward/output"],
    }
    ranks, tables = low_rank_arguments(
        {"*/self_attention/*": 2, "encoder_1/feedforward/output": 3, "embedding/*": 5}, blocks, ["embedding"]
    )
    assert ranks["encoder_0"] == {"layer_ranks": {"self_attention/query": 2}}
    assert ranks["encoder_1"] == {"layer_ranks": {"self_attention/query": 2, "feedforward/output": 3}}
    assert tables == {"embedding": 5}
    assert low_rank_arguments(None, blocks, ["embedding"]) == (
        {"encoder_0": {"layer_ranks": None}, "encoder_1": {"layer_ranks": None}},
        {"embedding": None},
    )


def test_legacy_low_rank_maps_each_old_argument_with_layer_ranks_winning():
    assert legacy_low_rank() is None
    assert legacy_low_rank(
        projection_rank={"query": 4},
        ffn_rank=8,
        embedding_rank=6,
        layer_ranks={"decoder_0/cross_attention/query": None},
    ) == {
        "*/*attention/query": 4,
        "*/feedforward/*": 8,
        "*/token_embedding": 6,
        "decoder_0/cross_attention/query": None,
    }


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"low_rank": {"encoder_7/self_attention/query": 2}}, "pattern 'encoder_7/self_attention/query' matches no"),
        ({"low_rank": {"encoder_0/query": 2}}, "pattern 'encoder_0/query' matches no projection"),
        ({"low_rank": {"encoder_0/self_attention/qkv": 2}}, "pattern 'encoder_0/self_attention/qkv' matches no"),
        ({"low_rank": [("encoder_0/self_attention/query", 2)]}, "low_rank must be None or a dict"),
        ({"low_rank": 4}, "low_rank must be None or a dict"),
        ({"low_rank": {"*attention/*": -1}}, "low_rank\\['\\*attention/\\*'\\] must be a positive integer or None"),
        (
            {"low_rank": {"*/feedforward/gate": 2}},
            "pattern '\\*/feedforward/gate' matches no projection",
        ),  # gelu: no gate
        ({"low_rank": {"embedding/token_embedding": 0}}, "must be a positive integer or None"),
        # The old arguments keep their checks.
        ({"layer_ranks": [("encoder_0/self_attention/query", 2)]}, "layer_ranks must be None or a dict"),
        ({"layer_ranks": {"encoder_0/query": 2}}, "pattern 'encoder_0/query' matches no projection"),
        ({"projection_rank": -1}, "must be a positive integer or None"),
        ({"ffn_rank": {"gate": 2}}, "pattern '\\*/feedforward/gate' matches no projection"),
        ({"embedding_rank": 0}, "must be a positive integer or None"),
    ],
)
def test_bad_rank_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BUILDERS["text_classifier"](**kwargs)
