"""Look inside trained models: attention weights per layer and head, and pictures of them.

    maps = attention_maps(vit, images)            # {"encoder_0/self_attention": (B, heads, T, T), ...}
    maps = attention_maps(classifier, ["a fine film"])
    maps, tokens = translation_attention(translator, "Ein Hund läuft.")  # encoder, decoder, cross
    rollout = attention_rollout(list(maps.values()))
    plot_class_token_attention(vit, images, "attention.png")
    plot_attention_heads(maps["decoder_0/cross_attention"][0], tokens["target"], tokens["source"], "cross.png")

The weights are the softmax probabilities every attention layer puts on
each key for each query (rows sum to 1; masked keys, padding and future
positions, get 0). They are recorded during one ordinary forward pass of
the model itself: each `zoo.layers.MultiHeadAttention` is asked for its
scores while the model runs, so the maps are exactly the ones the model
used (tested against the model's outputs and an independent computation).
The recording goes through the layers' public hook,
`zoo.layers.MultiHeadAttention.record_scores`.

(This module was `zoo.inspect`, which shadowed the standard library's
`inspect`; `zoo.inspect` still re-exports it.)
"""

import contextlib

import numpy as np
from keras import ops

from zoo._keras_compat import sublayers
from zoo.layers import MultiHeadAttention
from zoo.models.image_classifier import ImageClassifier


def _attention_layers(model):
    return [layer for layer in sublayers(model) if isinstance(layer, MultiHeadAttention)]


def _relative_path(model, layer):
    prefix = model.name + "/"
    return layer.path[len(prefix) :] if layer.path.startswith(prefix) else layer.path


@contextlib.contextmanager
def recording_attention(model):
    """Within the block, every attention layer of `model` records its scores; read them afterwards.

    Yields a list that, when the block exits, holds `(path, scores)` for
    every call of every attention layer: `scores` a NumPy array
    `(B, heads, Tq, Tk)`, layers in model order (a Keras model lists its
    layers in the order they were first called), each layer's calls in call
    order. The layers compute their outputs as usual (the explicit path,
    which also returns the weights), through
    `MultiHeadAttention.record_scores`.
    """
    layers = _attention_layers(model)
    if not layers:
        raise TypeError(f"{type(model).__name__} has no zoo.layers.MultiHeadAttention layers to record")
    records = []
    with contextlib.ExitStack() as stack:
        per_layer = [(layer, stack.enter_context(layer.record_scores())) for layer in layers]
        yield records
    for layer, scores in per_layer:
        path = _relative_path(model, layer)
        records.extend((path, ops.convert_to_numpy(entry)) for entry in scores)


def _model_inputs(model, inputs):
    """Raw strings -> the model's input dict (text classifiers); images are checked."""
    if isinstance(model, ImageClassifier):
        model.validate_images(inputs)
        return np.asarray(inputs, "float32")
    if isinstance(inputs, str) or (isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], str)):
        if not hasattr(model, "preprocess"):
            raise TypeError(f"{type(model).__name__} does not take raw strings here; pass its input dict")
        return {name: np.asarray(value) for name, value in model.preprocess(inputs).items()}
    return inputs


def attention_maps(model, inputs, return_logits=False):
    """Per-layer, per-head self- and cross-attention probabilities of `model` on `inputs`.

    Args:
        model: any zoo model built from `zoo.layers.MultiHeadAttention`
            (ImageClassifier, TextClassifier, Seq2SeqLM, CausalLM, ...).
        inputs: what the model's `__call__` takes (images, an input dict),
            or raw strings for models with `preprocess` (TextClassifier).
            For translation with the model's own output as decoder input,
            use `translation_attention`.
        return_logits: also return the model's outputs from the same pass.

    Returns:
        A dict, in model order, from layer path (e.g.
        `"encoder_0/self_attention"`, `"decoder_1/cross_attention"`) to a
        float32 array `(B, heads, Tq, Tk)` whose rows sum to 1; with
        `return_logits`, `(maps, outputs)`.

    Raises:
        TypeError: the model has no zoo attention layers.
        ValueError: images of the wrong shape or dtype, empty text.
    """
    inputs = _model_inputs(model, inputs)
    with recording_attention(model) as records:
        outputs = model(inputs, training=False)
    maps = {}
    for path, scores in records:
        if path in maps:  # a layer called twice in one pass: number the calls
            path = f"{path}#{sum(key.split('#')[0] == path for key in maps)}"
        maps[path] = scores
    outputs = ops.convert_to_numpy(outputs) if not isinstance(outputs, dict) else outputs
    return (maps, outputs) if return_logits else maps


def token_strings(preprocessor, token_ids, padding_mask=None):
    """The vocabulary entries of `token_ids` (1-D), cut at the padding."""
    ids = [int(i) for i in np.asarray(token_ids)]
    if padding_mask is not None:
        ids = ids[: int(np.asarray(padding_mask).sum())]
    return [preprocessor.vocabulary[i] for i in ids]


def translation_attention(model, text, max_length=None):
    """Attention maps of a `Seq2SeqLM` translating `text`, with its own greedy output as decoder input.

    Returns:
        `(maps, tokens)`: `maps` as in `attention_maps` (encoder self-,
        decoder self- and cross-attention, batch of 1, cut to the real
        tokens), `tokens = {"source": [...], "target": [...]}` (the target
        starts with BOS and ends where generation stopped).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"translation_attention needs a non-empty string; received {text!r}")
    source = model.source_preprocessor([text])
    source_ids, source_mask = np.asarray(source["token_ids"]), np.asarray(source["padding_mask"])
    generated = np.asarray(
        model.generate({"encoder_token_ids": source_ids, "encoder_padding_mask": source_mask}, max_length=max_length)
    )
    target = generated[0]
    ends = np.flatnonzero(target == model.end_token_id)
    length = int(ends[0]) + 1 if len(ends) else int((target != model.pad_token_id).sum())
    decoder_ids = target[None, :length].astype("int32")
    inputs = {
        "encoder_token_ids": source_ids,
        "encoder_padding_mask": source_mask,
        "decoder_token_ids": decoder_ids,
        "decoder_padding_mask": np.ones_like(decoder_ids),
    }
    maps = attention_maps(model, inputs)
    source_length = int(source_mask.sum())
    cut = {}
    for path, scores in maps.items():
        query_length = source_length if path.startswith("encoder") else length
        key_length = length if "decoder" in path and "cross" not in path else source_length
        cut[path] = scores[:, :, :query_length, :key_length]
    tokens = {
        "source": token_strings(model.source_preprocessor, source_ids[0], source_mask[0]),
        "target": token_strings(model.target_preprocessor, decoder_ids[0]),
    }
    return cut, tokens


def attention_rollout(maps, residual=0.5):
    """Attention rollout (Abnar & Zuidema 2020): how much each output token draws on each input token.

    Each block's head-averaged attention is mixed with the identity (the
    residual connection, weight `residual`), rows renormalized, and the
    blocks multiplied in order.

    Args:
        maps: list of `(B, heads, T, T)` arrays from `attention_maps`.
        residual: weight of the identity in each block.

    Returns:
        `(B, T, T)`; rows sum to 1.
    """
    if not maps:
        raise ValueError("attention_rollout needs at least one block's attention maps")
    batch, _, tokens, _ = maps[0].shape
    rollout = np.broadcast_to(np.eye(tokens), (batch, tokens, tokens)).astype(np.float64)
    for scores in maps:
        mixed = (1.0 - residual) * scores.mean(axis=1) + residual * np.eye(tokens)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout.astype(np.float32)


def class_token_patch_attention(model, images):
    """`(last_block, rollout)`, each `(B, rows, cols)`: the [CLS] token's attention on each patch.

    `last_block` is the last block's [CLS] row averaged over heads; `rollout`
    is the [CLS] row of `attention_rollout`. Both renormalized over patches.
    """
    if not isinstance(model, ImageClassifier) or model.pooling != "class_token":
        raise ValueError("class-token attention needs an ImageClassifier with pooling='class_token'")
    maps = list(attention_maps(model, images).values())
    rows = model.image_size[0] // model.patch_size[0]
    cols = model.image_size[1] // model.patch_size[1]

    def patches(row):  # (B, T) -> (B, rows, cols), [CLS] column dropped
        grid = row[:, 1:].reshape(-1, rows, cols)
        return grid / grid.sum(axis=(1, 2), keepdims=True)

    return patches(maps[-1].mean(axis=1)[:, 0]), patches(attention_rollout(maps)[:, 0])


def plot_class_token_attention(model, images, path, titles=None):
    """PNG: each image beside its [CLS] attention over patches (last block, and rollout over all blocks)."""
    from zoo.training.plots import image_panel, new_figure, save_png

    images = np.asarray(images)
    last, rollout = class_token_patch_attention(model, images)
    patch_h, patch_w = model.patch_size
    figure = new_figure(6.6, 2.2 * len(images))
    for index, image in enumerate(images):
        title = titles[index] if titles is not None else f"image {index}"
        axes = figure.add_subplot(len(images), 3, 3 * index + 1)
        image_panel(axes, image, title)
        for column, (grid, name) in enumerate(((last, "last block"), (rollout, "rollout")), start=2):
            axes = figure.add_subplot(len(images), 3, 3 * index + column)
            image_panel(axes, image, f"[CLS] attention, {name}", alpha=0.45)
            heat = np.kron(grid[index], np.ones((patch_h, patch_w)))
            axes.imshow(heat, cmap="inferno", alpha=0.6, interpolation="nearest")
    save_png(figure, path)


def plot_attention_heads(scores, query_tokens, key_tokens, path, title=None):
    """PNG heatmaps of one example's attention, one panel per head (queries down, keys across).

    Args:
        scores: `(heads, Tq, Tk)` probabilities (one example of an `attention_maps` entry).
        query_tokens, key_tokens: axis labels (`Tq` and `Tk` strings), or None for positions.
        path: output `.png`.
        title: figure title.
    """
    from zoo.training.plots import new_figure, save_png

    scores = np.asarray(scores)
    if scores.ndim != 3:
        raise ValueError(f"expected scores of shape (heads, Tq, Tk); received shape {scores.shape}")
    heads, queries, keys = scores.shape
    for name, tokens, size in (("query_tokens", query_tokens, queries), ("key_tokens", key_tokens, keys)):
        if tokens is not None and len(tokens) != size:
            raise ValueError(f"{name} has {len(tokens)} labels for {size} positions")
    columns = min(heads, 4)
    rows = -(-heads // columns)
    side = min(max(2.5, 0.22 * max(queries, keys) + 1.0), 9.0)
    figure = new_figure(side * columns, side * rows + (0.4 if title else 0))
    if title:
        figure.suptitle(title, fontsize=10)
    labelled = max(queries, keys) <= 48
    for head in range(heads):
        axes = figure.add_subplot(rows, columns, head + 1)
        axes.imshow(scores[head], cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="auto")
        axes.set_title(f"head {head}", fontsize=9)
        if labelled and key_tokens is not None:
            axes.set_xticks(range(keys), key_tokens, rotation=90, fontsize=7)
        if labelled and query_tokens is not None:
            axes.set_yticks(range(queries), query_tokens, fontsize=7)
    save_png(figure, path)
