"""Write tiny random Hugging Face decoder checkpoints and transformers' outputs on them, for zoo's tests.

Run once (not in CI) with PyTorch + transformers, e.g. the scratch venv:

    /tmp/refvenv/bin/python tools/make_decoder_references.py

For each variant it writes `tests/checkpoints/reference/decoder/<name>/`
(`save_pretrained(safe_serialization=True)`: config.json,
generation_config.json, model.safetensors or shards + index) and
`reference.npz`, computed by transformers from the checkpoint as reloaded
from disk (float32):

- `token_ids`, `padding_mask` `(2, 12)`: row 1 is right-padded (its last 4
  positions masked); `logits` `(2, 12, V)`.
- `prompt` `(2, 5)` and `generated` `(2, 5 + NEW_TOKENS)`: greedy
  `generate(do_sample=False)` with EOS switched off, so it never stops
  early; `margin`: the smallest top-1 minus top-2 logit over those steps
  (a near tie would make a 1e-4 parity test meaningless).

Options are varied on purpose: tied and untied heads, GQA ratios 4/2 and
4/1, biases (Qwen2 q/k/v only; a Llama with `attention_bias` and
`mlp_bias`), rope_theta 1e4 / 5e5 / 1e6, rope_scaling llama3 and linear, a
sharded save and a bfloat16 save. Two configs are rewritten in the older
layout of most published checkpoints (`rope_theta` + `rope_scaling`
instead of transformers 5's `rope_parameters`) and reloaded, so both
layouts are read.
"""

import json
import pathlib
import shutil

import numpy as np
import torch
import transformers

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "checkpoints" / "reference" / "decoder"
NEW_TOKENS = 8
SMALL = dict(num_hidden_layers=2, vocab_size=320, max_position_embeddings=64, bos_token_id=1, eos_token_id=2)
LLAMA3_SCALING = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}

VARIANTS = {
    "gpt2_tied": dict(
        config=transformers.GPT2Config(
            vocab_size=320, n_positions=64, n_embd=32, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2
        ),
        model=transformers.GPT2LMHeadModel,
    ),
    # head_dim 16: with rope_theta 5e5 the llama3 rule keeps, interpolates and divides frequencies.
    "llama_gqa_llama3": dict(
        config=transformers.LlamaConfig(
            hidden_size=64,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=96,
            rope_parameters={"rope_theta": 500000.0, **LLAMA3_SCALING},
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            **{**SMALL, "max_position_embeddings": 128},
        ),
        model=transformers.LlamaForCausalLM,
        legacy_config=True,
    ),
    "llama_bias_linear_bf16": dict(
        config=transformers.LlamaConfig(
            hidden_size=32,
            num_attention_heads=4,
            num_key_value_heads=4,
            intermediate_size=64,
            attention_bias=True,
            mlp_bias=True,
            rope_parameters={"rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0},
            **SMALL,
        ),
        model=transformers.LlamaForCausalLM,
        dtype=torch.bfloat16,
    ),
    "mistral_gqa_sharded": dict(
        config=transformers.MistralConfig(
            hidden_size=32,
            num_attention_heads=4,
            num_key_value_heads=1,
            intermediate_size=64,
            sliding_window=None,
            **SMALL,
        ),
        model=transformers.MistralForCausalLM,
        max_shard_size="40KB",
        legacy_config=True,
    ),
    "qwen2_tied": dict(
        config=transformers.Qwen2Config(
            hidden_size=32,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=64,
            rope_parameters={"rope_theta": 1000000.0, "rope_type": "default"},
            tie_word_embeddings=True,
            **SMALL,
        ),
        model=transformers.Qwen2ForCausalLM,
    ),
}


def randomize(model, seed):
    """Every parameter random (norm scales near 1, biases nonzero): peaked logits, all weights tested."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if "norm" in name or name.split(".")[-2].startswith("ln_"):
                parameter.copy_(1.0 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            elif parameter.ndim == 1:
                parameter.copy_(0.1 * noise)
            else:
                parameter.copy_(0.15 * noise)


def to_legacy_config(directory):
    """Rewrite config.json as transformers 4 wrote it: `rope_theta` and `rope_scaling` keys."""
    path = directory / "config.json"
    config = json.loads(path.read_text())
    parameters = config.pop("rope_parameters")
    config["rope_theta"] = parameters.pop("rope_theta")
    if parameters.get("rope_type", "default") != "default":
        config["rope_scaling"] = parameters
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def references(model, vocabulary_size, seed):
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(3, vocabulary_size, size=(2, 12))
    padding_mask = np.ones((2, 12), "int64")
    padding_mask[1, 8:] = 0
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(token_ids), attention_mask=torch.tensor(padding_mask)).logits.numpy()
    prompt = rng.integers(3, vocabulary_size, size=(2, 5))
    model.generation_config.eos_token_id = None  # never stop early: NEW_TOKENS new tokens, all compared
    with torch.no_grad():
        output = model.generate(
            torch.tensor(prompt),
            attention_mask=torch.ones(prompt.shape, dtype=torch.long),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            pad_token_id=0,
            output_logits=True,
            return_dict_in_generate=True,
        )
    step_logits = torch.stack(output.logits, 1).numpy()  # (B, NEW_TOKENS, V)
    top2 = np.sort(step_logits, axis=-1)[..., -2:]
    return {
        "token_ids": token_ids.astype("int32"),
        "padding_mask": padding_mask.astype("int32"),
        "logits": logits.astype("float32"),
        "prompt": prompt.astype("int32"),
        "generated": output.sequences.numpy().astype("int32"),
        "margin": np.float32((top2[..., 1] - top2[..., 0]).min()),
    }


def main():
    torch.manual_seed(0)
    for seed, (name, variant) in enumerate(VARIANTS.items()):
        directory = OUT / name
        shutil.rmtree(directory, ignore_errors=True)
        model = variant["model"](variant["config"]).eval()
        randomize(model, seed)
        dtype = variant.get("dtype")
        save_kwargs = {"max_shard_size": variant["max_shard_size"]} if "max_shard_size" in variant else {}
        (model.to(dtype) if dtype is not None else model).save_pretrained(
            directory, safe_serialization=True, **save_kwargs
        )
        if variant.get("legacy_config"):
            to_legacy_config(directory)
        reloaded = variant["model"].from_pretrained(directory, dtype=torch.float32).eval()
        arrays = references(reloaded, variant["config"].vocab_size, seed)
        np.savez_compressed(directory / "reference.npz", **arrays)
        files = sorted(path.name for path in directory.iterdir())
        size = sum(path.stat().st_size for path in directory.iterdir())
        print(f"{name}: {files} {size / 1024:.0f} KB, greedy margin {arrays['margin']:.4f}")


if __name__ == "__main__":
    main()
