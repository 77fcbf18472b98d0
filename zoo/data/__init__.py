"""Data sources for recipes: `KIND:ARG` specs, builtin / tfds / local files.

    from zoo.data import load_image_dataset
    train, test = load_image_dataset("builtin:digits")
"""

from zoo.data.images import ImageDataset, load_image_dataset
from zoo.data.sources import DataError, parse_spec

__all__ = ["DataError", "ImageDataset", "load_image_dataset", "parse_spec"]
