"""Image classification data: the `ImageDataset` container and its loaders.

    train, test = load_image_dataset("builtin:digits")
    train.images.shape  # (1437, 8, 8, 1), uint8 0..255
    train, test = load_image_dataset("idx:../shared/data/mnist")
    train, test = load_image_dataset("tfds:mnist")  # online, or prepared

Sources with their own train/test split keep it; the others are split
stratified by label, deterministically for a seed.
"""

import dataclasses
import pathlib

import numpy as np

from zoo.data import idx
from zoo.data.image_folder import load_image_folder
from zoo.data.labelled import LabelledExamples, check_array, named, stratified_split
from zoo.data.sources import DataError, describe_kinds, load_tfds, parse_spec

IMAGE_KINDS = ("builtin", "tfds", "idx", "imagefolder")


@dataclasses.dataclass
class ImageDataset(LabelledExamples):
    """Labelled images held in memory.

    Args:
        images: uint8 array (N, H, W, C), pixel values 0..255.
        labels: int64 array (N,), each an index into `class_names`.
        class_names: one name per class.
        name: what the data is, e.g. `"digits/train"`.

    Raises:
        DataError: an array has the wrong dtype or shape, the counts differ,
            or a label is outside `[0, len(class_names))`.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list
    name: str

    def __post_init__(self):
        check_array(self.name, "images", self.images, np.uint8, rank=4)
        self._check_labels(len(self.images), "images")

    @property
    def image_size(self):
        """`(H, W)` of every image."""
        return tuple(self.images.shape[1:3])

    @property
    def num_channels(self):
        return self.images.shape[3]

    def subset(self, indices):
        """A new dataset of the examples at `indices` (ints or a bool mask)."""
        indices = np.asarray(indices)
        return ImageDataset(self.images[indices], self.labels[indices], self.class_names, self.name)


# ---------------------------------------------------------------- loaders
# Each loader returns `(data, test)`: the whole data set and `test=None` when
# the source has no split of its own, else its train and test sets.


def _load_digits():
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    images = images[..., np.newaxis]  # (N, 8, 8, 1)
    labels = digits.target.astype(np.int64)
    class_names = [str(name) for name in digits.target_names]
    return ImageDataset(images, labels, class_names, "digits"), None


# Where Debian's `dataset-fashion-mnist` package puts the IDX files.
FASHION_MNIST_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def _load_fashion_mnist():
    """Zalando's Fashion-MNIST (60,000 + 10,000 28x28 grayscale), from Debian."""
    if not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file():
        raise DataError(
            f"Fashion-MNIST is not installed (no IDX files in {FASHION_MNIST_DIR}); "
            "install it with `apt-get install dataset-fashion-mnist` "
            "(Debian/Ubuntu), or pass --data idx:DIR with the four IDX files"
        )
    train, test = _load_idx(FASHION_MNIST_DIR)
    if test is None or train.num_classes != len(FASHION_MNIST_CLASSES):
        raise DataError(
            f"{FASHION_MNIST_DIR} does not hold the Fashion-MNIST train and t10k "
            "IDX pairs with 10 classes; reinstall dataset-fashion-mnist"
        )
    return (
        ImageDataset(train.images, train.labels, FASHION_MNIST_CLASSES, "fashion_mnist"),
        ImageDataset(test.images, test.labels, FASHION_MNIST_CLASSES, "fashion_mnist"),
    )


# Builtin image data sets: NAME -> loader. Register more here.
BUILTIN_IMAGE_DATASETS = {
    "digits": _load_digits,
    "fashion_mnist": _load_fashion_mnist,
}


def _load_builtin(name):
    """Runs the loader registered for `builtin:NAME`."""
    if name.replace("-", "_") not in BUILTIN_IMAGE_DATASETS:
        known = ", ".join(sorted(BUILTIN_IMAGE_DATASETS))
        raise DataError(f"unknown builtin image data set {name!r}; expected one of: {known}")
    return BUILTIN_IMAGE_DATASETS[name.replace("-", "_")]()


def _idx_role(prefix):
    """`"train"`, `"test"` or None, from an IDX file prefix like `t10k-`."""
    prefix = prefix.lower()
    if "train" in prefix:
        return "train"
    if "t10k" in prefix or "test" in prefix:
        return "test"
    return None


def _images_from_labels(name, images, labels, label_values):
    """An ImageDataset whose raw label values are mapped to class indices."""
    class_indices = np.searchsorted(label_values, labels).astype(np.int64)
    class_names = [str(value) for value in label_values]
    return ImageDataset(images, class_indices, class_names, name)


def _load_idx(path_arg):
    """Loads `idx:PATH`: a directory of IDX pairs or one images file."""
    path = pathlib.Path(path_arg).expanduser()
    if not path.exists():
        raise DataError(
            f"IDX path {path} does not exist; expected a directory of IDX files or an *-images-idx3-ubyte[.gz] file"
        )
    if path.is_dir():
        pairs = idx.find_idx_pairs(path)
        name = path.resolve().name
    else:
        pairs = {"": (path, idx.labels_path_for(path))}
        name = path.name.split("images")[0].rstrip("-._") or path.parent.name
    roles = {_idx_role(prefix): pair for prefix, pair in pairs.items()}
    if len(pairs) > 1 and not {"train", "test"} <= roles.keys():
        prefixes = ", ".join(repr(prefix) for prefix in pairs)
        raise DataError(
            f"IDX directory {path} has several file pairs ({prefixes}) but "
            "not one train and one test (t10k) pair; expected one pair, or "
            "train-* and t10k-* pairs"
        )
    if len(pairs) > 1:
        parts = [idx.read_idx_pair(*roles["train"]), idx.read_idx_pair(*roles["test"])]
    else:
        parts = [idx.read_idx_pair(*next(iter(pairs.values())))]
    label_values = np.unique(np.concatenate([labels for _, labels in parts]))
    datasets = [_images_from_labels(name, images, labels, label_values) for images, labels in parts]
    return datasets[0], (datasets[1] if len(datasets) > 1 else None)


def _tfds_split_to_images(name, dataset, info):
    """An ImageDataset from one tfds split (a `tf.data.Dataset` of dicts)."""
    import tensorflow_datasets as tfds

    image_key, label_key = info.supervised_keys or ("image", "label")
    if image_key not in info.features or label_key not in info.features:
        raise DataError(f"tfds:{name} has features {sorted(info.features)}; expected an image and a label feature")
    if None in tuple(info.features[image_key].shape):
        raise DataError(
            f"tfds:{name} has images of varying size {info.features[image_key].shape}; expected fixed-size images"
        )
    batches = list(tfds.as_numpy(dataset.batch(4096)))
    if not batches:
        raise DataError(f"tfds:{name} has an empty split; expected examples")
    images = np.concatenate([batch[image_key] for batch in batches])
    labels = np.concatenate([batch[label_key] for batch in batches])
    if images.dtype != np.uint8 or images.ndim != 4:
        raise DataError(
            f"tfds:{name} images have dtype={images.dtype}, shape={images.shape}; expected uint8 images (N, H, W, C)"
        )
    class_names = list(info.features[label_key].names)
    return ImageDataset(images, labels.astype(np.int64), class_names, name)


def _load_tfds_images(name):
    """Loads tfds `train` (and `test`, where the data set has one)."""
    train_split, info = load_tfds(name, split="train")
    train = _tfds_split_to_images(name, train_split, info)
    if "test" not in info.splits:
        return train, None
    test_split, _ = load_tfds(name, split="test")
    return train, _tfds_split_to_images(name, test_split, info)


def _load_imagefolder(arg, image_size):
    data, test = load_image_folder(arg, image_size=image_size)
    datasets = [ImageDataset(*parts) if parts else None for parts in (data, test)]
    return datasets[0], datasets[1]


def load_image_dataset(spec, *, test_fraction=0.2, seed=0, image_size=(32, 32)):
    """Loads an image classification data set as `(train, test)`.

    Args:
        spec: `builtin:NAME` (see `BUILTIN_IMAGE_DATASETS`: `digits`,
            `fashion_mnist`), `idx:PATH` (a directory of MNIST IDX files or one
            images file), `imagefolder:DIR` (a folder of images per class, see
            `zoo.data.image_folder`) or `tfds:NAME`.
        test_fraction: share of examples held out for test when the source
            has no test split of its own.
        seed: seed of that stratified split.
        image_size: `(height, width)` (or one int) that `imagefolder:` images
            are resized to; the other sources keep their own size.

    Returns:
        `(train, test)` ImageDatasets sharing class names, named
        `NAME/train` and `NAME/test`.

    Raises:
        DataError: the spec is unknown or not an image source, or the data
            is missing or malformed.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1); received test_fraction={test_fraction!r}")
    kind, arg = parse_spec(spec)
    if kind == "builtin":
        data, test = _load_builtin(arg)
    elif kind == "idx":
        data, test = _load_idx(arg)
    elif kind == "tfds":
        data, test = _load_tfds_images(arg)
    elif kind == "imagefolder":
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        data, test = _load_imagefolder(arg, size)
    else:
        raise DataError(
            f"data source kind {kind!r} in {spec!r} is not supported for "
            f"images yet; expected one of {describe_kinds(IMAGE_KINDS)}"
        )
    if test is None:
        return stratified_split(data, test_fraction=test_fraction, seed=seed)
    return named(data, f"{data.name}/train"), named(test, f"{test.name}/test")
