"""Seq2SeqLM.from_checkpoint on tiny random BART / Marian checkpoints, against transformers' own outputs.

The references (tests/checkpoints/reference/seq2seq/, written once by
tools/make_seq2seq_references.py with transformers 5.24 + torch) hold
transformers' logits, its greedy and beam-4 `generate` outputs (forced
BOS/EOS, bad_words_ids) and its tokenizers' ids of tricky strings: every
number asserted here comes from transformers, none from zoo.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest

from zoo.models import Seq2SeqLM

REFERENCE = pathlib.Path(__file__).parent / "reference" / "seq2seq"
NAMES = sorted(path.name for path in REFERENCE.iterdir() if (path / "config.json").is_file())
LENGTH = 16  # source and target length: shorter than max_position_embeddings (32), a small cache
MAX_LENGTH = 12  # tools/make_seq2seq_references.py's generate(max_length=...)


@pytest.fixture(scope="module")
def loaded():
    return {name: Seq2SeqLM.from_checkpoint(REFERENCE / name, LENGTH, LENGTH) for name in NAMES}


def reference(name):
    return dict(np.load(REFERENCE / name / "reference.npz"))


def copy_checkpoint(name, tmp_path):
    return pathlib.Path(shutil.copytree(REFERENCE / name, tmp_path / name))


def edit_json(path, **changes):
    values = json.loads(path.read_text())
    values.update(changes)
    path.write_text(json.dumps(values))


def one_line_error(error_type, match, function):
    with pytest.raises(error_type, match=match) as error:
        function()
    assert "\n" not in str(error.value)


def test_both_model_types_and_the_options_have_checkpoints():
    configs = {name: json.loads((REFERENCE / name / "config.json").read_text()) for name in NAMES}
    assert {config["model_type"] for config in configs.values()} == {"bart", "marian"}
    assert {config.get("tie_word_embeddings", True) for config in configs.values()} == {True, False}
    assert {config.get("scale_embedding", False) for config in configs.values()} == {True, False}
    assert {config.get("share_encoder_decoder_embeddings", True) for config in configs.values()} == {True, False}
    assert {config["activation_function"] for config in configs.values()} >= {"gelu", "swish"}
    for name in NAMES:
        assert sum(path.stat().st_size for path in (REFERENCE / name).iterdir()) < 1_000_000


@pytest.mark.parametrize("name", NAMES)
def test_logits_match_transformers(loaded, name):
    expected = reference(name)
    logits = loaded[name](
        {
            "encoder_token_ids": expected["source_ids"],
            "encoder_padding_mask": expected["source_mask"],
            "decoder_token_ids": expected["target_ids"],
            "decoder_padding_mask": expected["target_mask"],
        }
    )
    real = expected["target_mask"].astype(bool)  # padded decoder positions are not compared
    np.testing.assert_allclose(np.asarray(logits)[real], expected["logits"][real], atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sampler", ["greedy", "beam"])
def test_generate_matches_transformers_token_for_token(loaded, name, sampler):
    expected = reference(name)
    sources = {"encoder_token_ids": expected["generate_ids"], "encoder_padding_mask": expected["generate_mask"]}
    generated = loaded[name].generate(sources, max_length=MAX_LENGTH, sampler=sampler, num_beams=4, length_penalty=1.0)
    wanted = expected[sampler]  # transformers stops at its last EOS; zoo pads to max_length
    np.testing.assert_array_equal(generated[:, : wanted.shape[1]], wanted)
    assert (generated[:, wanted.shape[1] :] == loaded[name].pad_token_id).all()


def test_generation_rules_come_from_the_checkpoint(loaded):
    bart, marian = loaded["bart_tied"], loaded["marian_shared"]
    assert (bart.bos_token_id, bart.end_token_id, bart.pad_token_id) == (2, 2, 1)  # decoder start is </s>
    assert (bart.forced_bos_token_id, bart.forced_eos_token_id) == (0, 2)
    assert loaded["bart_untied_scaled"].forced_bos_token_id is None
    pad = json.loads((REFERENCE / "marian_shared" / "config.json").read_text())["pad_token_id"]
    assert (marian.bos_token_id, marian.end_token_id, marian.pad_token_id) == (pad, 0, pad)
    assert marian.suppressed_token_ids == [pad]


@pytest.mark.parametrize("name", NAMES)
def test_tokenizers_match_transformers_on_tricky_strings(loaded, name):
    expected = reference(name)
    texts = json.loads(str(expected["texts"]))
    model = loaded[name]
    for preprocessor, key, start in (
        (model.source_preprocessor, "source_token_ids", 0),
        (model.target_preprocessor, "target_token_ids", 1),  # a target row starts with the decoder start
    ):
        wide = type(preprocessor).from_config({**preprocessor.get_config(), "sequence_length": 80})
        packed = wide(texts)
        mismatches = []
        for text, ids, row, mask in zip(texts, expected[key], packed["token_ids"], packed["padding_mask"]):
            got = np.asarray(row)[start : int(np.sum(mask))].tolist()
            if got != [int(i) for i in ids if i >= 0]:
                mismatches.append(text)
        assert mismatches == [], f"{key}: {len(mismatches)} of {len(texts)} differ, e.g. {mismatches[:3]}"
    rows = [[int(i) for i in ids if i >= 0] for ids in expected["target_token_ids"]]
    width = max(len(row) for row in rows)
    ids = np.array([row + [model.pad_token_id] * (width - len(row)) for row in rows])
    decoded = [text.decode("utf-8") for text in np.asarray(model.target_preprocessor.detokenize(ids))]
    assert decoded == json.loads(str(expected["decoded"]))


@pytest.mark.parametrize("name", ["bart_tied", "marian_shared"])
def test_strings_in_and_out(name):
    expected = reference(name)
    width = expected["generate_ids"].shape[1]  # transformers' sources: padded and truncated to 9, EOS kept
    model = Seq2SeqLM.from_checkpoint(REFERENCE / name, width, LENGTH)
    sources = ["Tom is reading a book.", "Could not open file %s", "I am here."]  # the reference's sources
    packed = model.source_preprocessor(sources)
    np.testing.assert_array_equal(np.asarray(packed["token_ids"]), expected["generate_ids"])
    np.testing.assert_array_equal(np.asarray(packed["padding_mask"]), expected["generate_mask"])
    texts = model.generate(sources, max_length=MAX_LENGTH, sampler="beam", num_beams=4, length_penalty=1.0)
    ids = expected["beam"][:, 1:]  # transformers' beams, the decoder start dropped
    ids = np.where(np.cumsum(ids == model.end_token_id, axis=1) > 0, model.pad_token_id, ids)  # cut at EOS
    wanted = [text.decode("utf-8") for text in np.asarray(model.target_preprocessor.detokenize(ids))]
    assert texts == wanted


def test_a_loaded_model_round_trips_through_keras_files(loaded, tmp_path):
    import keras

    model = loaded["marian_shared"]
    model.save(tmp_path / "marian.keras")
    restored = keras.saving.load_model(tmp_path / "marian.keras")
    sources = ["Could not open file %s", ">>es<< Hello"]
    assert restored.generate(sources, max_length=8) == model.generate(sources, max_length=8)
    assert restored.suppressed_token_ids == model.suppressed_token_ids
    assert restored.forced_eos_token_id == model.forced_eos_token_id == 0


def test_missing_files_are_one_line_errors_naming_them(tmp_path):
    one_line_error(FileNotFoundError, "does not exist", lambda: Seq2SeqLM.from_checkpoint(tmp_path / "nowhere"))
    directory = copy_checkpoint("marian_shared", tmp_path)
    (directory / "target.spm").unlink()
    one_line_error(FileNotFoundError, r"needs target.spm", lambda: Seq2SeqLM.from_checkpoint(directory, 8, 8))
    assert Seq2SeqLM.from_checkpoint(directory, 8, 8, preprocessors=None).target_preprocessor is None
    edit_json(directory / "tokenizer_config.json", separate_vocabs=True)
    one_line_error(ValueError, r"separate_vocabs .* not supported", lambda: Seq2SeqLM.from_checkpoint(directory, 8, 8))
    (directory / "model.safetensors").rename(directory / "pytorch_model.bin")
    one_line_error(
        ValueError, r"only PyTorch weights \(pytorch_model.bin\)", lambda: Seq2SeqLM.from_checkpoint(directory)
    )
    (directory / "config.json").unlink()
    one_line_error(FileNotFoundError, r"config.json' does not exist", lambda: Seq2SeqLM.from_checkpoint(directory))


def test_truncated_safetensors_names_the_file(tmp_path):
    directory = copy_checkpoint("bart_tied", tmp_path)
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    one_line_error(
        ValueError, r"cannot read .*model.safetensors.*truncated", lambda: Seq2SeqLM.from_checkpoint(directory)
    )


@pytest.mark.parametrize(
    "name,file,changes,match",
    [
        ("bart_tied", "config.json", {"model_type": "t5"}, r"unsupported model_type='t5'; .* bart, marian"),
        ("bart_tied", "config.json", {"normalize_before": True}, r"unsupported normalize_before=True"),
        ("bart_tied", "config.json", {"add_final_layer_norm": True}, r"unsupported add_final_layer_norm=True"),
        ("marian_shared", "config.json", {"static_position_embeddings": False}, r"static_position_embeddings=False"),
        ("bart_tied", "config.json", {"activation_function": "quick_gelu"}, r"activation_function='quick_gelu'"),
        ("bart_tied", "config.json", {"decoder_attention_heads": 2}, r"decoder_attention_heads=2; .*equal"),
        ("marian_shared", "generation_config.json", {"forced_eos_token_id": [0, 1]}, r"forced_eos_token_id=\[0, 1\]"),
        ("marian_shared", "generation_config.json", {"bad_words_ids": [[3, 4]]}, r"bad_words_ids=\[3, 4\]"),
    ],
)
def test_unsupported_options_name_the_key(tmp_path, name, file, changes, match):
    directory = copy_checkpoint(name, tmp_path)
    edit_json(directory / file, **changes)
    one_line_error(ValueError, match, lambda: Seq2SeqLM.from_checkpoint(directory))


def test_lengths_beyond_the_position_table_are_refused():
    one_line_error(
        ValueError,
        r"target_length must be an integer in \[2, 32\]",
        lambda: Seq2SeqLM.from_checkpoint(REFERENCE / "bart_tied", 16, 33),
    )


def rewrite_tensors(directory, edit):
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(directory / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory


def test_misshapen_missing_unknown_and_differing_tensors_are_named(tmp_path):
    name = "model.decoder.layers.1.encoder_attn.k_proj.weight"

    def misshapen(tensors):
        tensors[name] = tensors[name][:-1]

    directory = rewrite_tensors(copy_checkpoint("bart_tied", tmp_path / "a"), misshapen)
    one_line_error(
        ValueError,
        r"'decoder.layers.1.encoder_attn.k_proj.weight' has shape \(15, 16\); .* \(16, 16\)",
        lambda: Seq2SeqLM.from_checkpoint(directory),
    )
    directory = rewrite_tensors(copy_checkpoint("bart_tied", tmp_path / "b"), lambda tensors: tensors.pop(name))
    one_line_error(ValueError, r"lacks 1 tensors .*encoder_attn.k_proj", lambda: Seq2SeqLM.from_checkpoint(directory))

    def unknown(tensors):
        tensors["model.encoder.layernorm_final.weight"] = np.ones(16, np.float32)

    directory = rewrite_tensors(copy_checkpoint("marian_shared", tmp_path / "c"), unknown)
    one_line_error(
        ValueError, r"does not have: \['encoder.layernorm_final.weight'\]", lambda: Seq2SeqLM.from_checkpoint(directory)
    )

    def untied_copy(tensors):  # a tied head whose lm_head differs from the table it claims to copy
        tensors["lm_head.weight"] = tensors["model.shared.weight"] + 1.0

    directory = rewrite_tensors(copy_checkpoint("marian_shared", tmp_path / "d"), untied_copy)
    one_line_error(
        ValueError, r"lm_head.weight differs from shared.weight", lambda: Seq2SeqLM.from_checkpoint(directory)
    )


def test_final_logits_bias_may_be_absent(tmp_path):
    directory = rewrite_tensors(copy_checkpoint("bart_tied", tmp_path), lambda t: t.pop("final_logits_bias"))
    model = Seq2SeqLM.from_checkpoint(directory, 8, 8)
    assert not np.asarray(model.get_layer("final_logits_bias").bias).any()


def test_a_tokenizer_beyond_the_embedding_is_refused(tmp_path):
    directory = copy_checkpoint("marian_shared", tmp_path)
    vocabulary = json.loads((directory / "vocab.json").read_text())
    vocabulary["<extra>"] = len(vocabulary) + 10
    (directory / "vocab.json").write_text(json.dumps(vocabulary))
    one_line_error(
        ValueError,
        r"tokenizer has ids up to 246, but the model's embedding has 236 rows",
        lambda: Seq2SeqLM.from_checkpoint(directory, 8, 8),
    )


@pytest.mark.parametrize("name", ["marian_shared", "bart_tied"])
def test_a_loaded_model_exports_a_string_in_saved_model_and_a_token_id_tflite(name, tmp_path):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops for tf.saved_model.load)

    from zoo.export import export_saved_model, export_tflite

    model = Seq2SeqLM.from_checkpoint(REFERENCE / name, 12, MAX_LENGTH)
    path, _ = export_saved_model(model, tmp_path / "saved_model")  # checked against Keras on its own samples
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    sources = ["Could not open file %s", "Tom is reading a book.", ""]
    texts = [text.decode("utf-8") for text in serve(text=tf.constant(sources))["generated_text"].numpy()]
    assert texts == model.generate(sources)
    # The app loop over encode/decode (forced EOS applied in decode) must equal Keras greedy decoding.
    _, report = export_tflite(model, tmp_path / "model_ids.tflite", variant="encode_decode_ids")
    assert report.extra["greedy_sequences_equal"] == 1.0
