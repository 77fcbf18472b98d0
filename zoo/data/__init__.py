"""Data sources for recipes: `KIND:ARG` specs, builtin / tfds / local files.

    from zoo.data import load_image_dataset, load_text_dataset
    train, test = load_image_dataset("builtin:digits")
    train, test = load_text_dataset("tsv:reviews.tsv")
"""

from zoo.data.images import ImageDataset, load_image_dataset
from zoo.data.sources import DataError, parse_spec
from zoo.data.text import TextDataset, load_text_dataset

__all__ = [
    "DataError",
    "ImageDataset",
    "TextDataset",
    "load_image_dataset",
    "load_text_dataset",
    "parse_spec",
]
