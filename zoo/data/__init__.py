"""Data sources for recipes: `KIND:ARG` specs, builtin / tfds / local files.

from zoo.data import load_image_dataset, load_pair_dataset, load_text_dataset
train, test = load_image_dataset("builtin:digits")
train, test = load_text_dataset("tsv:reviews.tsv")
train, test = load_pair_dataset("builtin:gettext-es")  # English -> Spanish
"""

from zoo.data.debian import read_debian_descriptions
from zoo.data.gettext_catalogs import read_gettext_pairs
from zoo.data.images import ImageDataset, load_image_dataset
from zoo.data.pairs import PairDataset, load_pair_dataset
from zoo.data.sources import DataError, parse_spec
from zoo.data.text import TextDataset, load_text_dataset

__all__ = [
    "DataError",
    "ImageDataset",
    "PairDataset",
    "TextDataset",
    "load_image_dataset",
    "load_pair_dataset",
    "load_text_dataset",
    "parse_spec",
    "read_debian_descriptions",
    "read_gettext_pairs",
]
