"""Each zoo task model next to its keras-hub counterpart of equal size, with one synthetic training batch.

Used by `benchmarks.task_training`. Every pair computes the same matrix
products; the small differences that remain are listed per task in `NOTES`
(and in benchmarks/README.md). Random weights, no downloads.
"""

import numpy as np

NOTES = {
    "text_classifier": ("keras-hub BertTextClassifier (BertBackbone): adds segment embeddings and a d x d tanh pooler"),
    "causal_lm": (
        "keras-hub GPT2CausalLM (GPT2Backbone): ties the output projection to the token table (zoo: own Dense)"
    ),
    "seq2seq": "keras-hub layers (TokenAndPositionEmbedding, TransformerEncoder/Decoder): no task model of this shape",
    "image_classifier": "keras-hub ViTImageClassifier (ViTBackbone), random weights",
}


def text_classifier(config):
    """BERT-style classifier: post-LN, GELU, embedding layer norm, [CLS] pooling.

    zoo TextClassifier vs BertTextClassifier.
    """
    import keras_hub

    from zoo.models import TextClassifier

    sizes = dict(
        num_layers=config["layers"],
        num_heads=config["heads"],
        hidden_dim=config["hidden"],
        intermediate_dim=config["intermediate"],
        dropout=0.0,
    )
    zoo_model = TextClassifier(
        vocabulary_size=config["vocabulary"],
        num_classes=2,
        sequence_length=config["seq_len"],
        pooling="class_token",
        activation="gelu",
        normalize_first=False,
        layer_norm_epsilon=1e-12,
        **sizes,
    )
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config["vocabulary"], max_sequence_length=config["seq_len"], **sizes
    )
    hub_model = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None, dropout=0.0)
    token_ids, padding_mask = _padded_tokens(config)
    labels = _rng(config).integers(0, 2, (config["batch_size"],))
    zoo_inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    hub_inputs = {**zoo_inputs, "segment_ids": np.zeros_like(token_ids)}
    return {"zoo": (zoo_model, zoo_inputs, labels), "keras-hub": (hub_model, hub_inputs, labels)}


def causal_lm(config):
    """Decoder-only LM: pre-LN, GELU, learned positions; zoo CausalLM vs GPT2CausalLM."""
    import keras_hub

    from zoo.models import CausalLM

    sizes = dict(
        vocabulary_size=config["vocabulary"],
        num_layers=config["layers"],
        num_heads=config["heads"],
        hidden_dim=config["hidden"],
        intermediate_dim=config["intermediate"],
        dropout=0.0,
    )
    zoo_model = CausalLM(sequence_length=config["seq_len"], **sizes)
    backbone = keras_hub.models.GPT2Backbone(max_sequence_length=config["seq_len"], **sizes)
    hub_model = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    tokens = _rng(config).integers(4, config["vocabulary"], (config["batch_size"], config["seq_len"] + 1))
    inputs = {"token_ids": tokens[:, :-1].astype("int32"), "padding_mask": np.ones_like(tokens[:, :-1], "int32")}
    return {name: (model, inputs, tokens[:, 1:]) for name, model in (("zoo", zoo_model), ("keras-hub", hub_model))}


def seq2seq(config):
    """Encoder-decoder: pre-LN, ReLU, learned positions; zoo Seq2SeqLM vs the same graph of keras-hub layers."""
    from zoo.models import Seq2SeqLM

    length = config["seq_len"]
    zoo_model = Seq2SeqLM(
        source_vocabulary_size=config["vocabulary"],
        target_vocabulary_size=config["vocabulary"],
        source_length=length,
        target_length=length,
        hidden_dim=config["hidden"],
        num_encoder_layers=config["layers"],
        num_decoder_layers=config["layers"],
        num_heads=config["heads"],
        intermediate_dim=config["intermediate"],
        dropout=0.0,
        activation="relu",
        normalize_first=True,
    )
    rng = _rng(config)
    source = rng.integers(4, config["vocabulary"], (config["batch_size"], length)).astype("int32")
    target = rng.integers(4, config["vocabulary"], (config["batch_size"], length + 1)).astype("int32")
    inputs = {
        "encoder_token_ids": source,
        "encoder_padding_mask": np.ones_like(source),
        "decoder_token_ids": target[:, :-1],
        "decoder_padding_mask": np.ones_like(target[:, :-1]),
    }
    models = {"zoo": zoo_model, "keras-hub": _keras_hub_seq2seq(config)}
    return {name: (model, inputs, target[:, 1:]) for name, model in models.items()}


def _keras_hub_seq2seq(config):
    import keras
    import keras_hub

    length, hidden = config["seq_len"], config["hidden"]
    block = dict(
        intermediate_dim=config["intermediate"],
        num_heads=config["heads"],
        dropout=0.0,
        activation="relu",
        normalize_first=True,
        layer_norm_epsilon=1e-5,
    )
    inputs = {
        name: keras.Input((length,), dtype="int32", name=name)
        for name in ("encoder_token_ids", "encoder_padding_mask", "decoder_token_ids", "decoder_padding_mask")
    }
    x = keras_hub.layers.TokenAndPositionEmbedding(config["vocabulary"], length, hidden)(inputs["encoder_token_ids"])
    for _ in range(config["layers"]):
        x = keras_hub.layers.TransformerEncoder(**block)(x, padding_mask=inputs["encoder_padding_mask"])  # (B, S, D)
    encoded = keras.layers.LayerNormalization(epsilon=1e-5)(x)
    y = keras_hub.layers.TokenAndPositionEmbedding(config["vocabulary"], length, hidden)(inputs["decoder_token_ids"])
    for _ in range(config["layers"]):
        y = keras_hub.layers.TransformerDecoder(**block)(
            y,
            encoded,
            decoder_padding_mask=inputs["decoder_padding_mask"],
            encoder_padding_mask=inputs["encoder_padding_mask"],
        )  # (B, T, D), causal self-attention + cross-attention
    logits = keras.layers.Dense(config["vocabulary"])(keras.layers.LayerNormalization(epsilon=1e-5)(y))
    return keras.Model(inputs, logits, name="keras_hub_seq2seq")


def image_classifier(config):
    """ViT: patches + [CLS], pre-LN, GELU; zoo ImageClassifier vs ViTImageClassifier."""
    import keras_hub

    from zoo.models import ImageClassifier

    size, patch = config["image_size"], config["patch_size"]
    zoo_model = ImageClassifier(
        image_size=size,
        patch_size=patch,
        num_classes=10,
        num_channels=3,
        hidden_dim=config["hidden"],
        num_layers=config["layers"],
        num_heads=config["heads"],
        intermediate_dim=config["intermediate"],
    )
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(size, size, 3),
        patch_size=patch,
        num_layers=config["layers"],
        num_heads=config["heads"],
        hidden_dim=config["hidden"],
        mlp_dim=config["intermediate"],
    )
    hub_model = keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=10, preprocessor=None)
    rng = _rng(config)
    images = rng.uniform(0, 255, (config["batch_size"], size, size, 3)).astype("float32")
    labels = rng.integers(0, 10, (config["batch_size"],))
    return {name: (model, images, labels) for name, model in (("zoo", zoo_model), ("keras-hub", hub_model))}


def tokens_per_example(task, config):
    """Positions each example runs through the blocks (source + target for seq2seq, patches + [CLS] for ViT)."""
    if task == "seq2seq":
        return 2 * config["seq_len"]
    if task == "image_classifier":
        return (config["image_size"] // config["patch_size"]) ** 2 + 1
    return config["seq_len"]


PAIRS = {
    "text_classifier": text_classifier,
    "causal_lm": causal_lm,
    "seq2seq": seq2seq,
    "image_classifier": image_classifier,
}


def _rng(config):
    return np.random.default_rng(config["seed"])


def _padded_tokens(config):
    """Token ids and padding mask `(B, T)` with the last `pad_fraction` of every row padded."""
    batch, length = config["batch_size"], config["seq_len"]
    real = max(1, length - int(round(config["pad_fraction"] * length)))
    padding_mask = np.zeros((batch, length), "int32")
    padding_mask[:, :real] = 1
    token_ids = _rng(config).integers(1, config["vocabulary"], (batch, length)).astype("int32") * padding_mask
    return token_ids, padding_mask
