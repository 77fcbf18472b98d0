"""Write a tiny random Hugging Face ViTForImageClassification checkpoint and its logits (issue 21, ViT part).

Run once with the scratch venv (torch + transformers; never a zoo dependency):

    /tmp/refvenv/bin/python tools/make_vit_reference.py

Writes tests/checkpoints/reference/vit/tiny/: config.json, model.safetensors,
preprocessor_config.json (ImageNet mean/std, not ViT's 0.5), and
reference.npz with `images` (uint8, (4, 32, 32, 3): two random, two MNIST-like
digits drawn as strokes, replicated to 3 channels before saving) and `logits`
from transformers' own ViTImageProcessor + model.
"""

import pathlib

import numpy as np
import torch
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "checkpoints" / "reference" / "vit" / "tiny"
LABELS = ["cat", "dog", "bird", "fish"]


def fixed_images():
    """Four uint8 images at the checkpoint's size (32), so the processor's resize is the identity."""
    rng = np.random.default_rng(0)
    random = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    digits = np.zeros((2, 32, 32), np.uint8)
    digits[0, 6:26, 14:18] = 255  # a "1"
    digits[1, 6:10, 8:24] = digits[1, 22:26, 8:24] = 230  # a "2"-ish pair of bars
    digits[1, 10:22, 20:24] = 200
    digits = np.repeat(digits[..., None], 3, axis=-1)
    return np.concatenate([random, digits], axis=0)


def main():
    torch.manual_seed(0)
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        qkv_bias=True,
        id2label=dict(enumerate(LABELS)),
        label2id={name: index for index, name in enumerate(LABELS)},
    )
    model = ViTForImageClassification(config).eval()
    with torch.no_grad():  # larger-than-default random weights so the logits are not all near zero
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    processor = ViTImageProcessor(
        do_resize=True,
        size={"height": 32, "width": 32},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    )
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    processor.save_pretrained(OUT)
    images = fixed_images()
    pixel_values = processor(images=list(images), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        logits = model(pixel_values=pixel_values).logits.numpy()
    np.savez(OUT / "reference.npz", images=images, logits=logits.astype(np.float32))
    print("wrote", OUT, "logits", logits.shape, "argmax", logits.argmax(-1).tolist())


if __name__ == "__main__":
    main()
