"""Which ViT checkpoint tensor becomes which zoo weight (`ViTForImageClassification` / `ViTModel` names).

`expected_tensors` lists `Mapping(name, shape, path, convert)` as
`zoo.checkpoints.decoder_tensors` does: the checkpoint tensor `name`
(`vit.` removed) must have `shape`; `convert(tensor)` is the value of the
zoo weight at `path`.

Layouts: `nn.Linear` weights are `(out, in)`; the patch projection
`nn.Conv2d` is `(D, C, P_h, P_w)` and a Keras `Conv2D` kernel
`(P_h, P_w, C, D)`; zoo's attention kernels are `(D, H, D_head)` for
q/k/v and `(H, D_head, D)` for the output.
"""

from zoo.checkpoints.decoder_tensors import Mapping


def expected_tensors(arguments, num_classes=None):
    """The mappings of an `ImageClassifier` on a `ViTBackbone` built from `arguments` (+ the head).

    Args:
        arguments: the backbone's arguments (`vit_backbone_arguments`).
        num_classes: the checkpoint head's classes, or None for no head.

    Returns:
        A list of `Mapping(name, shape, path, convert)`, names without `vit.`.
    """
    hidden, heads, inner = arguments["hidden_dim"], arguments["num_heads"], arguments["intermediate_dim"]
    head_dim, channels = hidden // heads, arguments["num_channels"]
    (height, width), (patch_h, patch_w) = arguments["image_size"], arguments["patch_size"]
    positions = (height // patch_h) * (width // patch_w) + 1  # the class token first
    embedding = "patch_embedding"
    mappings = [
        Mapping("embeddings.cls_token", (1, 1, hidden), f"{embedding}/class_token", _same),
        Mapping(
            "embeddings.position_embeddings",
            (1, positions, hidden),
            f"{embedding}/position_embedding/embeddings",
            lambda v: v[0],
        ),
        Mapping(
            "embeddings.patch_embeddings.projection.weight",
            (hidden, channels, patch_h, patch_w),
            f"{embedding}/projection/kernel",
            lambda v: v.transpose(2, 3, 1, 0),  # (D, C, P, P) -> (P, P, C, D)
        ),
        Mapping("embeddings.patch_embeddings.projection.bias", (hidden,), f"{embedding}/projection/bias", _same),
        Mapping("layernorm.weight", (hidden,), "final_norm/gamma", _same),
        Mapping("layernorm.bias", (hidden,), "final_norm/beta", _same),
    ]
    for index in range(arguments["num_layers"]):
        name, path = f"encoder.layer.{index}", f"encoder_{index}"
        for projection in ("query", "key", "value"):
            mappings.append(
                Mapping(
                    f"{name}.attention.attention.{projection}.weight",
                    (hidden, hidden),
                    f"{path}/self_attention/{projection}/kernel",
                    lambda v: v.T.reshape(hidden, heads, head_dim),
                )
            )
            if arguments["use_attention_bias"]:
                mappings.append(
                    Mapping(
                        f"{name}.attention.attention.{projection}.bias",
                        (hidden,),
                        f"{path}/self_attention/{projection}/bias",
                        lambda v: v.reshape(heads, head_dim),
                    )
                )
        output = f"{path}/self_attention/attention_output"
        mappings += [
            Mapping(
                f"{name}.attention.output.dense.weight",
                (hidden, hidden),
                f"{output}/kernel",
                lambda v: v.T.reshape(heads, head_dim, hidden),
            ),
            Mapping(f"{name}.attention.output.dense.bias", (hidden,), f"{output}/bias", _same),
            Mapping(
                f"{name}.intermediate.dense.weight", (inner, hidden), f"{path}/feedforward/intermediate/kernel", _t
            ),
            Mapping(f"{name}.intermediate.dense.bias", (inner,), f"{path}/feedforward/intermediate/bias", _same),
            Mapping(f"{name}.output.dense.weight", (hidden, inner), f"{path}/feedforward/output/kernel", _t),
            Mapping(f"{name}.output.dense.bias", (hidden,), f"{path}/feedforward/output/bias", _same),
        ]
        for norm, zoo_norm in (("layernorm_before", "self_attention_norm"), ("layernorm_after", "feedforward_norm")):
            mappings.append(Mapping(f"{name}.{norm}.weight", (hidden,), f"{path}/{zoo_norm}/gamma", _same))
            mappings.append(Mapping(f"{name}.{norm}.bias", (hidden,), f"{path}/{zoo_norm}/beta", _same))
    if num_classes is not None:
        mappings.append(Mapping("classifier.weight", (num_classes, hidden), "logits/kernel", _t))
        mappings.append(Mapping("classifier.bias", (num_classes,), "logits/bias", _same))
    return mappings


def _same(value):
    return value


def _t(value):
    return value.T
