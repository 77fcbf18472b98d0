"""CausalLM.from_checkpoint on tiny Hugging Face gpt2 / llama / mistral / qwen2 checkpoints, against transformers.

The checkpoints and their references (`reference/decoder/<name>/`) were
written by transformers on PyTorch with `tools/make_decoder_references.py`:
logits for fixed ids (one row right-padded) and greedy continuations of
`generate(do_sample=False)`. Options vary on purpose: tied / untied, GQA
4/2 and 4/1, biases, rope_theta 1e4 / 5e5 / 1e6, rope_scaling llama3 and
linear, a sharded and a bfloat16 save, old and new config layouts.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest

from zoo.models import CausalLM
from zoo.tokenizers.characters import CharacterPreprocessor

REFERENCE = pathlib.Path(__file__).parent / "reference" / "decoder"
NAMES = sorted(path.name for path in REFERENCE.iterdir() if (path / "config.json").is_file())
SEQUENCE_LENGTH = 32  # shorter than every checkpoint's max_position_embeddings: a small cache


@pytest.fixture(scope="module")
def loaded():
    return {name: CausalLM.from_checkpoint(REFERENCE / name, sequence_length=SEQUENCE_LENGTH) for name in NAMES}


def reference(name):
    return dict(np.load(REFERENCE / name / "reference.npz"))


def copy_checkpoint(name, tmp_path):
    return pathlib.Path(shutil.copytree(REFERENCE / name, tmp_path / name))


def edit_config(directory, **changes):
    path = directory / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps({key: value for key, value in config.items() if value is not ...}))
    return directory


def test_every_model_type_and_option_has_a_checkpoint():
    types = {json.loads((REFERENCE / name / "config.json").read_text())["model_type"] for name in NAMES}
    assert types == {"gpt2", "llama", "mistral", "qwen2"}
    assert (REFERENCE / "mistral_gqa_sharded" / "model.safetensors.index.json").is_file()
    header = (REFERENCE / "llama_bias_linear_bf16" / "model.safetensors").read_bytes()
    length = int.from_bytes(header[:8], "little")
    dtypes = {entry["dtype"] for key, entry in json.loads(header[8 : 8 + length]).items() if key != "__metadata__"}
    assert dtypes == {"BF16"}
    llama3 = json.loads((REFERENCE / "llama_gqa_llama3" / "config.json").read_text())
    assert llama3["rope_scaling"]["rope_type"] == "llama3" and "rope_parameters" not in llama3  # the older layout
    assert "rope_parameters" in json.loads((REFERENCE / "qwen2_tied" / "config.json").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_logits_match_transformers(loaded, name):
    ref = reference(name)
    logits = np.asarray(loaded[name]({"token_ids": ref["token_ids"], "padding_mask": ref["padding_mask"]}))
    real = ref["padding_mask"].astype(bool)  # padded positions' logits are not defined alike
    error = np.abs(logits - ref["logits"])[real].max()
    print(f"{name}: max |logit error| {error:.2e}")
    assert error < 1e-4


@pytest.mark.parametrize("name", NAMES)
def test_greedy_continuation_matches_transformers_generate(loaded, name):
    ref = reference(name)
    prompt = ref["prompt"]
    assert ref["margin"] > 1e-3  # no near tie: a token-for-token comparison means something
    generated = loaded[name].generate_ids(prompt, np.ones_like(prompt), max_length=ref["generated"].shape[1])
    np.testing.assert_array_equal(np.asarray(generated), ref["generated"])


def test_special_ids_come_from_the_checkpoint(loaded):
    model = loaded["qwen2_tied"]
    assert (model.bos_token_id, model.end_token_id, model.pad_token_id) == (1, 2, 2)  # no pad_token_id: EOS
    assert model.backbone.tie_word_embeddings and model.lm_head is None
    assert not loaded["llama_gqa_llama3"].backbone.tie_word_embeddings


def test_rope_scaling_is_loaded_and_serialized(loaded, tmp_path):
    model = loaded["llama_gqa_llama3"]
    assert model.backbone.rope_scaling["rope_type"] == "llama3" and model.backbone.rope_theta == 500000.0
    ref = reference("llama_gqa_llama3")
    inputs = {"token_ids": ref["token_ids"][:1], "padding_mask": ref["padding_mask"][:1]}
    model.save(tmp_path / "model.keras")
    import keras

    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(np.asarray(restored(inputs)), np.asarray(model(inputs)), atol=1e-6)
    # The reference tells the scaling apart: the same weights without it are far off.
    plain = edit_config(copy_checkpoint("llama_gqa_llama3", tmp_path), rope_scaling=...)
    unscaled = CausalLM.from_checkpoint(plain, sequence_length=SEQUENCE_LENGTH)
    assert np.abs(np.asarray(unscaled(inputs)) - ref["logits"][:1]).max() > 1e-2


def test_a_tokenizer_needs_no_more_ids_than_embedding_rows():
    directory = REFERENCE / "qwen2_tied"
    smaller = CharacterPreprocessor(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + list("abc"), sequence_length=16)
    model = CausalLM.from_checkpoint(directory, sequence_length=16, preprocessor=smaller)
    assert model.preprocessor is smaller and model.vocabulary_size == 320
    larger = CharacterPreprocessor(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [chr(0x4E00 + i) for i in range(400)], 16)
    with pytest.raises(ValueError, match="has 404 token ids but the model's embedding has 320 rows"):
        CausalLM.from_checkpoint(directory, sequence_length=16, preprocessor=larger)


def one_line_error(error_type, match, function):
    with pytest.raises(error_type, match=match) as error:
        function()
    assert "\n" not in str(error.value)


def test_missing_files_are_one_line_errors_naming_them(tmp_path):
    directory = copy_checkpoint("qwen2_tied", tmp_path)
    (directory / "model.safetensors").unlink()
    one_line_error(
        FileNotFoundError,
        r"has no model.safetensors or model.safetensors.index.json",
        lambda: CausalLM.from_checkpoint(directory),
    )
    (directory / "config.json").unlink()
    one_line_error(FileNotFoundError, r"config.json' does not exist", lambda: CausalLM.from_checkpoint(directory))
    one_line_error(FileNotFoundError, "does not exist", lambda: CausalLM.from_checkpoint(tmp_path / "nowhere"))
    sharded = copy_checkpoint("mistral_gqa_sharded", tmp_path)
    (sharded / "model-00003-of-00004.safetensors").unlink()
    one_line_error(FileNotFoundError, r"shard .*model-00003-of-00004", lambda: CausalLM.from_checkpoint(sharded))


def test_truncated_safetensors_names_the_file(tmp_path):
    directory = copy_checkpoint("gpt2_tied", tmp_path)
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    one_line_error(
        ValueError, r"cannot read .*model.safetensors.*truncated", lambda: CausalLM.from_checkpoint(directory)
    )


@pytest.mark.parametrize(
    "name,changes,match",
    [
        ("qwen2_tied", {"model_type": "gemma"}, r"unsupported model_type='gemma'; .* gpt2, llama, mistral, qwen2"),
        ("mistral_gqa_sharded", {"sliding_window": 16}, r"unsupported sliding_window=16; .*sequence_length <= 16"),
        (
            "qwen2_tied",
            {"rope_parameters": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 1e6}},
            r"unsupported rope_parameters rope_type='yarn'; zoo implements default, linear, llama3",
        ),
        ("llama_gqa_llama3", {"rope_scaling": {"type": "dynamic", "factor": 2.0}}, r"rope_scaling rope_type='dynamic'"),
        ("qwen2_tied", {"hidden_act": "gelu"}, r"unsupported hidden_act='gelu'"),
        ("qwen2_tied", {"head_dim": 16}, r"unsupported head_dim=16"),
        ("gpt2_tied", {"scale_attn_by_inverse_layer_idx": True}, r"unsupported scale_attn_by_inverse_layer_idx=True"),
        ("gpt2_tied", {"activation_function": "quick_gelu"}, r"unsupported activation_function='quick_gelu'"),
    ],
)
def test_unsupported_options_name_the_key(tmp_path, name, changes, match):
    directory = edit_config(copy_checkpoint(name, tmp_path), **changes)
    one_line_error(ValueError, match, lambda: CausalLM.from_checkpoint(directory))


def test_sliding_window_covering_the_sequence_loads(tmp_path):
    directory = edit_config(copy_checkpoint("mistral_gqa_sharded", tmp_path), sliding_window=16)
    assert CausalLM.from_checkpoint(directory, sequence_length=16).sequence_length == 16
    one_line_error(
        ValueError,
        r"sequence_length must be an integer in \[2, 64\]",
        lambda: CausalLM.from_checkpoint(directory, sequence_length=65),
    )


def rewrite_tensors(directory, edit):
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(directory / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory


def test_misshapen_missing_and_unknown_tensors_are_named(tmp_path):
    name = "model.layers.1.self_attn.k_proj.weight"

    def misshapen(tensors):
        tensors[name] = tensors[name][:-1]

    directory = rewrite_tensors(copy_checkpoint("qwen2_tied", tmp_path / "a"), misshapen)
    one_line_error(
        ValueError,
        r"'layers.1.self_attn.k_proj.weight' has shape \(15, 32\); .* \(16, 32\)",
        lambda: CausalLM.from_checkpoint(directory),
    )
    directory = rewrite_tensors(copy_checkpoint("qwen2_tied", tmp_path / "b"), lambda t: t.pop(name))
    one_line_error(
        ValueError, r"lacks 1 tensors .*layers.1.self_attn.k_proj.weight", lambda: CausalLM.from_checkpoint(directory)
    )
    directory = rewrite_tensors(
        copy_checkpoint("qwen2_tied", tmp_path / "c"), lambda t: t.update({"model.layers.0.extra.weight": t[name]})
    )
    one_line_error(
        ValueError, r"does not have: \['layers.0.extra.weight'\]", lambda: CausalLM.from_checkpoint(directory)
    )


def test_buffers_are_named_unused_and_a_tied_copy_is_checked(tmp_path):
    from zoo.checkpoints.decoder import load_decoder

    def add_buffers(tensors):
        tensors["transformer.h.0.attn.bias"] = np.tril(np.ones((1, 1, 64, 64), "float32"))
        tensors["transformer.h.0.attn.masked_bias"] = np.array(-1e4, "float32")
        tensors["lm_head.weight"] = tensors["transformer.wte.weight"]

    directory = rewrite_tensors(copy_checkpoint("gpt2_tied", tmp_path), add_buffers)
    checkpoint = load_decoder(directory)
    assert sorted(checkpoint.unused_tensors()) == ["h.0.attn.bias", "h.0.attn.masked_bias", "lm_head.weight"]
    rewrite_tensors(directory, lambda t: t.update({"lm_head.weight": t["transformer.wte.weight"] + 1}))
    one_line_error(ValueError, "lm_head.weight differs from the token table", lambda: load_decoder(directory))


def test_backbone_rope_scaling_needs_rotary_positions():
    from zoo.models import TransformerDecoderBackbone

    scaling = {"rope_type": "linear", "factor": 2.0}
    with pytest.raises(ValueError, match="rope_scaling needs position_encoding='rotary'"):
        TransformerDecoderBackbone.from_preset("tiny", rope_scaling=scaling)
    backbone = TransformerDecoderBackbone.from_preset("tiny_llama", rope_scaling=scaling)
    assert backbone.get_config()["rope_scaling"] == scaling
    assert all(layer.self_attention._rotary.rope_scaling == scaling for layer in backbone.decoder_layers)
