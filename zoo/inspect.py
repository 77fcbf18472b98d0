"""Look inside trained models: attention weights per layer and head, and pictures of them.

    maps = attention_maps(vit, images)          # one (B, heads, T, T) array per block
    rollout = attention_rollout(maps)           # (B, T, T): attention through all blocks
    plot_class_token_attention(vit, images, "attention.png")

The weights are the softmax probabilities each block's self-attention puts on
every key for every query (rows sum to 1), computed by replaying the model's
own layers with `return_attention_scores=True`; the replay's logits equal the
model's (tested), so the maps are the ones the model used.
"""

import numpy as np
from keras import ops

from zoo.models.image_classifier import ImageClassifier


def _vit_attention(model, images):
    model.validate_images(images)
    x = ops.convert_to_tensor(np.asarray(images, "float32"))
    x = model.get_layer("rescaling")(x)
    x = model.get_layer("patch_embedding")(x)
    maps = []
    for index in range(model.num_layers):
        x, scores = model.get_layer(f"encoder_{index}")(x, training=False, return_attention_scores=True)
        maps.append(ops.convert_to_numpy(scores))
    x = model.get_layer("final_norm")(x)
    pooled = x[:, 0] if model.pooling == "class_token" else ops.mean(x, axis=1)
    logits = ops.convert_to_numpy(model.get_layer("logits")(pooled))
    return maps, logits


def attention_maps(model, inputs, return_logits=False):
    """Per-block self-attention probabilities of `model` on `inputs`.

    Args:
        model: an `ImageClassifier` (ViT). Its tokens are `[CLS]` (first,
            with class-token pooling) then the patches in row-major order.
        inputs: raw-pixel images `(B, H, W, C)`.
        return_logits: also return the logits of the replayed forward pass.

    Returns:
        A list with one float32 array `(B, num_heads, T, T)` per block
        (query rows, key columns; each row sums to 1); with `return_logits`,
        `(maps, logits)`.

    Raises:
        TypeError: a model this function does not know how to replay.
        ValueError: inputs of the wrong shape or dtype.
    """
    if isinstance(model, ImageClassifier):
        maps, logits = _vit_attention(model, inputs)
    else:
        raise TypeError(
            f"attention_maps supports ImageClassifier; received {type(model).__name__}"
        )
    return (maps, logits) if return_logits else maps


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
    maps = attention_maps(model, images)
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
