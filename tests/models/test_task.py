"""Rank options shared by every task model (`zoo.models.task.block_rank_arguments`)."""

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
from zoo.models.task import block_rank_arguments

BUILDERS = {
    "text_classifier": lambda **kw: TextClassifier.from_preset("tiny", vocabulary_size=30, **kw),
    "question_answerer": lambda **kw: QuestionAnswerer.from_preset("tiny", vocabulary_size=30, **kw),
    "text_embedder": lambda **kw: TextEmbedder.from_preset("tiny", vocabulary_size=30, **kw),
    "causal_lm": lambda **kw: CausalLM.from_preset("tiny", vocabulary_size=30, **kw),
    "seq2seq": lambda **kw: Seq2SeqLM.from_preset("tiny", source_vocabulary_size=30, target_vocabulary_size=25, **kw),
    "image_classifier": lambda **kw: ImageClassifier.from_preset("tiny", **kw),
}
FIRST_BLOCK = {"causal_lm": "decoder_0"}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_ranks_build_low_rank_projections_at_their_paths_and_round_trip(name):
    block = FIRST_BLOCK.get(name, "encoder_0")
    layer_ranks = {f"{block}/self_attention/key": None, f"{block}/feedforward/output": 2}
    model = BUILDERS[name](projection_rank=3, ffn_rank={"intermediate": 4}, layer_ranks=layer_ranks)
    shapes = {w.path: tuple(w.shape) for w in model.weights}
    assert shapes[f"{block}/self_attention/query/u_kernel"] == (16, 3)
    assert shapes[f"{block}/self_attention/key/kernel"] == (16, 2, 8)
    assert shapes[f"{block}/self_attention/attention_output/v_kernel"] == (3, 16)
    assert shapes[f"{block}/feedforward/intermediate/u_kernel"] == (16, 4)
    assert shapes[f"{block}/feedforward/output/u_kernel"] == (32, 2)
    if name == "seq2seq":
        assert shapes["decoder_0/cross_attention/value/u_kernel"] == (16, 3)
    config = model.get_config()
    assert (config["projection_rank"], config["ffn_rank"], config["layer_ranks"]) == (3, {"intermediate": 4}, layer_ranks)
    clone = type(model).from_config(config)
    assert {w.path: tuple(w.shape) for w in clone.weights} == shapes


def test_dense_defaults_keep_todays_weights():
    model = BUILDERS["seq2seq"]()
    assert not any("u_kernel" in w.path for w in model.weights)
    assert {"encoder_0/self_attention/query/kernel", "decoder_embedding/token_embedding/embeddings"} <= {
        w.path for w in model.weights
    }


def test_rotary_causal_lm_with_factorized_embedding_generates_the_same_with_and_without_cache():
    model = CausalLM.from_preset("tiny_rotary", vocabulary_size=30, projection_rank=3, ffn_rank=4, embedding_rank=6)
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(to_numpy(weight) + rng.normal(scale=0.3, size=weight.shape).astype("float32"))
    prompts = np.array([[2, 5, 6, 7], [2, 9, 0, 0]], "int32")
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], "int32")
    cached = model.generate_ids(prompts, mask, max_length=10, use_cache=True)
    uncached = model.generate_ids(prompts, mask, max_length=10, use_cache=False)
    np.testing.assert_array_equal(to_numpy(cached), to_numpy(uncached))
    assert {"embedding/token_embedding/embeddings", "embedding/token_projection/kernel"} <= {w.path for w in model.weights}


def test_seq2seq_with_embedding_rank_round_trips(tmp_path):
    model = BUILDERS["seq2seq"](embedding_rank=4, projection_rank=2)
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    inputs = {
        "encoder_token_ids": np.full((1, 5), 7, "int32"), "encoder_padding_mask": np.ones((1, 5), "int32"),
        "decoder_token_ids": np.full((1, 4), 3, "int32"), "decoder_padding_mask": np.ones((1, 4), "int32"),
    }
    np.testing.assert_allclose(to_numpy(loaded(inputs)), to_numpy(model(inputs)), atol=1e-6)
    assert loaded.get_config()["embedding_rank"] == 4


def test_block_rank_arguments_split_paths_by_block():
    ranks = block_rank_arguments(2, None, {"encoder_1/feedforward/output": 3}, ["encoder_0", "encoder_1"])
    assert ranks["encoder_0"] == {"projection_rank": 2, "ffn_rank": None, "layer_ranks": None}
    assert ranks["encoder_1"]["layer_ranks"] == {"feedforward/output": 3}


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"layer_ranks": {"encoder_7/self_attention/query": 2}}, "unknown layer_ranks path 'encoder_7/self_attention/query'"),
        ({"layer_ranks": {"encoder_0/query": 2}}, "unknown layer_ranks path 'encoder_0/query'"),
        ({"layer_ranks": {"encoder_0/self_attention/qkv": 2}}, "unknown layer_ranks keys \\['self_attention/qkv'\\]"),
        ({"layer_ranks": [("encoder_0/self_attention/query", 2)]}, "layer_ranks must be None or a dict"),
        ({"projection_rank": -1}, "projection_rank must be None, a positive integer"),
        ({"ffn_rank": {"gate": 2}}, "only swiglu has a gate"),
        ({"embedding_rank": 0}, "embedding_rank must be None or a positive integer"),
    ],
)
def test_bad_rank_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BUILDERS["text_classifier"](**kwargs)
