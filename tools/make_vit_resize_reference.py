"""transformers' logits for uint8 images of other sizes than the tiny ViT's 32x32, through its own processor.

Run once with the scratch venv (torch + transformers; never a zoo dependency),
after tools/make_vit_reference.py:

    /tmp/refvenv/bin/python tools/make_vit_resize_reference.py

Writes tests/checkpoints/reference/vit/tiny/resized.npz: for each size
`HxW` in SIZES, `images_HxW` (uint8, (2, H, W, 3): one random, one smooth
pattern) and `logits_HxW` from the checkpoint's ViTImageProcessor (resize
with PIL bilinear, which antialiases when it shrinks; rescale; normalize)
and ViTForImageClassification. Downscaled random pixels tell an
antialiased resize from a plain bilinear one.
"""

import pathlib
import warnings

import numpy as np
import torch
from transformers import ViTForImageClassification, ViTImageProcessor

DIRECTORY = pathlib.Path(__file__).resolve().parents[1] / "tests" / "checkpoints" / "reference" / "vit" / "tiny"
SIZES = ((48, 48), (20, 20), (33, 97))  # shrink, enlarge, other aspect ratio


def images_of_size(rng, height, width):
    noise = rng.integers(0, 256, size=(1, height, width, 3), dtype=np.uint8)
    rows, columns = np.mgrid[0:height, 0:width]
    wave = np.sin(columns[..., None] / 5.0 + np.arange(3)) * np.cos(rows[..., None] / 7.0)
    smooth = (127 + 120 * wave).astype(np.uint8)[None]
    return np.concatenate([noise, smooth], axis=0)


def main():
    warnings.filterwarnings("ignore")  # the PIL fallback when torchvision is absent: the same resize
    processor = ViTImageProcessor.from_pretrained(DIRECTORY)
    model = ViTForImageClassification.from_pretrained(DIRECTORY).eval()
    rng = np.random.default_rng(1)
    arrays = {}
    for height, width in SIZES:
        images = images_of_size(rng, height, width)
        pixel_values = processor(images=list(images), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            logits = model(pixel_values=pixel_values).logits.numpy()
        arrays[f"images_{height}x{width}"] = images
        arrays[f"logits_{height}x{width}"] = logits.astype(np.float32)
    np.savez(DIRECTORY / "resized.npz", **arrays)
    print("wrote", DIRECTORY / "resized.npz", sorted(arrays))


if __name__ == "__main__":
    main()
