"""Read Hugging Face decoder checkpoints (gpt2, llama, mistral, qwen2; safetensors, no PyTorch) into a CausalLM.

    checkpoint = load_decoder("path/to/SmolLM2-135M")   # config.json + model.safetensors (or a sharded index)
    model = CausalLM(TransformerDecoderBackbone(**checkpoint.backbone_arguments()))
    checkpoint.assign(model)

`CausalLM.from_checkpoint(path)` does exactly this. Every tensor of the
file is mapped (`zoo.checkpoints.decoder_tensors`) or named in
`unused_tensors()`; a missing or misshapen tensor is an error naming it,
and all are checked before any is assigned.
"""

import dataclasses
import pathlib

import numpy as np

from zoo.checkpoints.checks import check_tensors
from zoo.checkpoints.decoder_config import backbone_arguments, check_model_type, special_token_ids
from zoo.checkpoints.decoder_tensors import expected_tensors
from zoo.checkpoints.safetensors_files import read_checkpoint_tensors, read_json

# Tensors a checkpoint may hold that zoo's CausalLM does not use: name suffix -> why.
NOT_USED = {
    ".attn.bias": "GPT-2's constant causal-mask buffer, not a weight",
    ".attn.masked_bias": "GPT-2's constant masking value, not a weight",
    "rotary_emb.inv_freq": "the RoPE frequencies, recomputed from rope_theta / rope_scaling",
}
# Prefixes of task models' checkpoints (GPT2LMHeadModel, LlamaForCausalLM, ...), removed before mapping.
PREFIXES = {"gpt2": "transformer.", "llama": "model.", "mistral": "model.", "qwen2": "model."}
TOKEN_TABLES = {"gpt2": "wte.weight", "llama": "embed_tokens.weight", "mistral": "embed_tokens.weight"}


@dataclasses.dataclass
class DecoderCheckpoint:
    """A decoder checkpoint read into NumPy.

    Attributes:
        path: the checkpoint directory.
        hf_config: its `config.json`.
        generation_config: its `generation_config.json` (empty if absent).
        tensors: name -> float32 array, the model prefix (`model.`,
            `transformer.`) removed (`lm_head.weight` keeps its name).
        sequence_length: the longest sequence asked for at loading (None:
            the checkpoint's `max_position_embeddings`); the default of
            `backbone_arguments`.
    """

    path: pathlib.Path
    hf_config: dict
    generation_config: dict
    tensors: dict
    sequence_length: int = None

    @property
    def model_type(self):
        return self.hf_config["model_type"]

    def backbone_arguments(self, sequence_length=None):
        """`TransformerDecoderBackbone` arguments (see `zoo.checkpoints.decoder_config.backbone_arguments`)."""
        sequence_length = self.sequence_length if sequence_length is None else sequence_length
        return backbone_arguments(self.hf_config, sequence_length, str(self.path / "config.json"))

    def special_token_ids(self):
        """`(bos, eos, pad)` from generation_config.json / config.json (pad falls back to eos)."""
        return special_token_ids(self.hf_config, self.generation_config)

    def unused_tensors(self):
        """Tensors no zoo model takes, with the reason: name -> why."""
        unused = {name: why for name in self.tensors for suffix, why in NOT_USED.items() if name.endswith(suffix)}
        if "lm_head.weight" in self.tensors and self.backbone_arguments()["tie_word_embeddings"]:
            unused["lm_head.weight"] = "a copy of the token table (tie_word_embeddings)"
        return unused

    def mappings(self, sequence_length=None):
        """The checked `expected_tensors` of the model: every tensor present with its shape, none unexplained.

        Raises:
            ValueError: naming the missing, misshapen or unknown tensor.
        """
        arguments = self.backbone_arguments(sequence_length)
        mappings = expected_tensors(arguments, self.model_type, self.hf_config.get("n_positions"))
        where = str(self.path)
        unused = self.unused_tensors()
        check_tensors(mappings, self.tensors, unused, where, f"{self.model_type} CausalLM")
        if "lm_head.weight" in unused:
            table = self.tensors[TOKEN_TABLES.get(self.model_type, "embed_tokens.weight")]
            if not np.array_equal(self.tensors["lm_head.weight"], table):
                raise ValueError(
                    f"{where}: tie_word_embeddings is true but lm_head.weight differs from the token table"
                )
        return mappings

    def assign(self, model):
        """Copy the weights into `model`, a `CausalLM` whose backbone was built from `backbone_arguments()`.

        Every tensor is checked first (presence and shape, errors name the
        tensor), then all are assigned, so a failure leaves the model as it
        was. An untied `lm_head` gets a zero bias (the checkpoints have none).

        Returns:
            The checkpoint tensor names used (all except `unused_tensors()`).

        Raises:
            ValueError: a missing, misshapen or unexplained tensor, or a
                model of another architecture (naming the weight).
        """
        variables = {variable.path: variable for variable in model.weights}
        mappings = self.mappings(model.backbone.sequence_length)
        for mapping in mappings:  # check everything first; converted values are dropped (one at a time in memory)
            variable = variables.get(mapping.path)
            shape = mapping.convert(self.tensors[mapping.name]).shape
            if variable is None or tuple(variable.shape) != shape:
                found = None if variable is None else tuple(variable.shape)
                raise ValueError(
                    f"checkpoint tensor {mapping.name!r} maps to {mapping.path} {shape}, but the model has "
                    f"{found}; build it from backbone_arguments()"
                )
        left = sorted(set(variables) - {mapping.path for mapping in mappings} - {"lm_head/bias"})
        if left:
            raise ValueError(f"the model has weights the checkpoint does not fill: {left[:5]}")
        for mapping in mappings:
            variable = variables[mapping.path]
            variable.assign(np.asarray(mapping.convert(self.tensors[mapping.name]), variable.dtype))
        if "lm_head/bias" in variables:  # the checkpoints' heads have no bias
            variables["lm_head/bias"].assign(np.zeros(variables["lm_head/bias"].shape, variables["lm_head/bias"].dtype))
        return sorted({mapping.name for mapping in mappings})


def load_decoder(path, sequence_length=None):
    """Read a decoder checkpoint directory (Hugging Face layout) without PyTorch.

    The directory holds `config.json` and `model.safetensors` or a sharded
    `model.safetensors.index.json`; `generation_config.json` is read when
    present. BF16 / F16 tensors are widened to float32.

    Args:
        path: the checkpoint directory.
        sequence_length: optional int, the longest sequence the model will
            take (at most `max_position_embeddings`); options that depend on
            it (a `sliding_window`) are checked against it.

    Returns:
        A `DecoderCheckpoint` whose config and tensors have been checked.

    Raises:
        FileNotFoundError: the directory, its `config.json` or its weights
            are missing (naming what was looked for).
        ValueError: an unsupported `model_type` or option (naming the key),
            a corrupt file (naming it), or a missing / misshapen tensor.
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint directory {str(path)!r} does not exist")
    config = read_json(path / "config.json")
    check_model_type(config, str(path / "config.json"))
    backbone_arguments(
        config, sequence_length, str(path / "config.json")
    )  # refuse unsupported options before reading weights
    generation = path / "generation_config.json"
    generation_config = read_json(generation) if generation.is_file() else {}
    tensors = _strip_prefix(read_checkpoint_tensors(path), PREFIXES[config["model_type"]])
    checkpoint = DecoderCheckpoint(path, config, generation_config, tensors, sequence_length)
    checkpoint.mappings()
    return checkpoint


def _strip_prefix(tensors, prefix):
    return {name.removeprefix(prefix): value for name, value in tensors.items()}
