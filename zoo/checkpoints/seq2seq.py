"""Read Hugging Face BART and Marian (opus-mt) checkpoints (safetensors, no PyTorch) into a Seq2SeqLM.

    checkpoint = load_seq2seq("path/to/opus-mt-en-es")   # config.json + model.safetensors
    model = Seq2SeqLM(EncoderDecoderBackbone(**checkpoint.backbone_arguments()), use_logits_bias=True, ...)
    checkpoint.assign(model)

`Seq2SeqLM.from_checkpoint(path)` does exactly this, with the checkpoint's
tokenizers and generation rules. Every tensor of the file is mapped
(`zoo.checkpoints.seq2seq_tensors`) or named in `unused_tensors()`; a
missing or misshapen tensor is an error naming it, and all are checked
before any is assigned.
"""

import dataclasses
import pathlib

import numpy as np

from zoo.checkpoints.checks import check_tensors
from zoo.checkpoints.safetensors_files import read_checkpoint_tensors, read_json
from zoo.checkpoints.seq2seq_config import (
    backbone_arguments,
    check_model_type,
    generation_defaults_not_applied,
    generation_settings,
)
from zoo.checkpoints.seq2seq_tensors import expected_tensors

PREFIX = "model."
OPTIONAL = {"final_logits_bias": "transformers' buffer; zero when absent"}


@dataclasses.dataclass
class Seq2SeqCheckpoint:
    """A BART / Marian checkpoint read into NumPy.

    Attributes:
        path: the checkpoint directory.
        hf_config: its `config.json`.
        generation_config: its `generation_config.json` (empty if absent).
        tensors: name -> float32 array, the `model.` prefix removed.
        source_length, target_length: the lengths asked for at loading
            (None: `max_position_embeddings`).
        separate_tables: whether the file holds `encoder.embed_tokens` and
            `decoder.embed_tokens` that differ from `shared` (transformers
            5 unties them with `tie_word_embeddings=false`): each side then
            has its own table and `shared` is unused.
    """

    path: pathlib.Path
    hf_config: dict
    generation_config: dict
    tensors: dict
    source_length: int = None
    target_length: int = None
    separate_tables: bool = False

    @property
    def model_type(self):
        return self.hf_config["model_type"]

    def backbone_arguments(self):
        """`EncoderDecoderBackbone` arguments (see `zoo.checkpoints.seq2seq_config.backbone_arguments`)."""
        arguments = backbone_arguments(
            self.hf_config, self.source_length, self.target_length, str(self.path / "config.json")
        )
        if self.separate_tables:
            arguments["share_token_embeddings"] = False
        return arguments

    def generation_settings(self):
        """Decoder start, EOS, pad, BOS, forced BOS/EOS and suppressed ids (`seq2seq_config.generation_settings`)."""
        return generation_settings(self.hf_config, self.generation_config, str(self.path / "config.json"))

    def generation_defaults_not_applied(self):
        """The checkpoint's generation defaults (`num_beams`, ...) that `generate` takes as arguments instead."""
        return generation_defaults_not_applied(self.hf_config, self.generation_config)

    def _mappings(self):
        arguments = self.backbone_arguments()
        position_rows = self.hf_config["max_position_embeddings"] + 2
        bias_path = "final_logits_bias/bias" if arguments["tie_word_embeddings"] else "lm_head/bias"
        return expected_tensors(arguments, self.model_type, position_rows, bias_path)

    def unused_tensors(self):
        """Tensors no zoo model takes, with the reason: name -> why."""
        arguments = self.backbone_arguments()
        unused = {}
        if arguments["share_token_embeddings"]:
            for side in ("encoder", "decoder"):
                unused[f"{side}.embed_tokens.weight"] = "a copy of the shared token table"
        elif self.separate_tables:
            unused["shared.weight"] = "transformers' shared table, which neither side reads (each has embed_tokens)"
        if arguments["tie_word_embeddings"]:
            unused["lm_head.weight"] = "a copy of the decoder token table (tie_word_embeddings)"
        if self.model_type == "marian":
            for side in ("encoder", "decoder"):
                unused[f"{side}.embed_positions.weight"] = "the sinusoidal table, recomputed"
        return {name: why for name, why in unused.items() if name in self.tensors}

    def mappings(self):
        """The checked mappings: every tensor present with its shape, none unexplained, copies equal.

        Raises:
            ValueError: naming the missing, misshapen, unknown or differing tensor.
        """
        mappings = self._mappings()
        where = str(self.path)
        unused = self.unused_tensors()
        check_tensors(mappings, self.tensors, unused, where, f"{self.model_type} Seq2SeqLM", optional=OPTIONAL)
        self._check_copies(unused, where)
        return mappings

    def _check_copies(self, unused, where):
        """A tensor named unused as a copy must equal its original (else the model would differ)."""
        arguments = self.backbone_arguments()
        decoder_table = "shared.weight" if arguments["share_token_embeddings"] else "decoder.embed_tokens.weight"
        originals = {"lm_head.weight": decoder_table}
        originals.update({f"{side}.embed_tokens.weight": "shared.weight" for side in ("encoder", "decoder")})
        for name, original in originals.items():
            if name in unused and original in self.tensors:
                if not np.array_equal(self.tensors[name], self.tensors[original]):
                    raise ValueError(f"{where}: {name} differs from {original}, which config.json says it copies")

    def assign(self, model):
        """Copy the weights into `model`, a `Seq2SeqLM` built from `backbone_arguments()` (with a logits bias).

        Every tensor is checked first (presence and shape, errors name the
        tensor), then all are assigned, so a failure leaves the model as it
        was. A checkpoint without `final_logits_bias` gets a zero bias.

        Returns:
            The checkpoint tensor names used (all except `unused_tensors()`).

        Raises:
            ValueError: a missing, misshapen or unexplained tensor, or a
                model of another architecture (naming the weight).
        """
        variables = {variable.path: variable for variable in model.weights}
        mappings = self.mappings()
        for mapping in mappings:
            variable = variables.get(mapping.path)
            value = self.tensors.get(mapping.name, np.zeros(mapping.shape, np.float32))
            shape = mapping.convert(value).shape
            if variable is None or tuple(variable.shape) != shape:
                found = None if variable is None else tuple(variable.shape)
                raise ValueError(
                    f"checkpoint tensor {mapping.name!r} maps to {mapping.path} {shape}, but the model has "
                    f"{found}; build it from backbone_arguments() with use_logits_bias=True"
                )
        left = sorted(set(variables) - {mapping.path for mapping in mappings})
        if left:
            raise ValueError(f"the model has weights the checkpoint does not fill: {left[:5]}")
        for mapping in mappings:
            variable = variables[mapping.path]
            value = self.tensors.get(mapping.name, np.zeros(mapping.shape, np.float32))
            variable.assign(np.asarray(mapping.convert(value), variable.dtype))
        return sorted({mapping.name for mapping in mappings if mapping.name in self.tensors})


def load_seq2seq(path, source_length=None, target_length=None):
    """Read a BART or Marian checkpoint directory (Hugging Face layout) without PyTorch.

    The directory holds `config.json` and `model.safetensors` (or a
    sharded index); `generation_config.json` is read when present. PyTorch
    `.bin` files are refused (they need PyTorch's unpickler; convert them
    with transformers' `save_pretrained(safe_serialization=True)`).

    Args:
        path: the checkpoint directory.
        source_length, target_length: optional ints, the longest source and
            target sequences (at most `max_position_embeddings`).

    Returns:
        A `Seq2SeqCheckpoint` whose config and tensors have been checked.

    Raises:
        FileNotFoundError: the directory, its `config.json` or its weights
            are missing (naming what was looked for).
        ValueError: an unsupported `model_type` or option (naming the key),
            a `.bin`-only or corrupt file (naming it), or a missing /
            misshapen tensor.
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint directory {str(path)!r} does not exist")
    config = read_json(path / "config.json")
    source = str(path / "config.json")
    check_model_type(config, source)
    backbone_arguments(config, source_length, target_length, source)  # refuse options before reading weights
    generation = path / "generation_config.json"
    generation_config = read_json(generation) if generation.is_file() else {}
    generation_settings(config, generation_config, source)
    safetensors = list(path.glob("*.safetensors")) + list(path.glob("*.safetensors.index.json"))
    pytorch = sorted(item.name for item in path.glob("pytorch_model*.bin"))
    if pytorch and not safetensors:
        raise ValueError(
            f"{path}: only PyTorch weights ({pytorch[0]}); zoo reads safetensors without PyTorch. Convert with "
            "transformers: Model.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)"
        )
    tensors = {name.removeprefix(PREFIX): value for name, value in read_checkpoint_tensors(path).items()}
    checkpoint = Seq2SeqCheckpoint(
        path, config, generation_config, tensors, source_length, target_length, _separate_tables(tensors)
    )
    checkpoint.mappings()
    return checkpoint


def _separate_tables(tensors):
    """Whether both sides' `embed_tokens` are in the file and differ from `shared`."""
    shared = tensors.get("shared.weight")
    tables = [tensors.get(f"{side}.embed_tokens.weight") for side in ("encoder", "decoder")]
    if shared is None or any(table is None for table in tables):
        return False
    return not all(table.shape == shared.shape and np.array_equal(table, shared) for table in tables)
