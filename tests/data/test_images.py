"""Tests for zoo.data.images: ImageDataset and load_image_dataset."""

import gzip
import struct
from unittest import mock

import numpy as np
import pytest

from zoo.data import DataError, ImageDataset, load_image_dataset, sources

# MNIST test set (t10k) examples per digit, from the published data set.
MNIST_T10K_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_idx(path, array, magic):
    """Writes `array` (uint8) as an IDX file; gzip when `path` ends in .gz."""
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def write_idx_pair(directory, prefix, images, labels, suffix=""):
    """Writes PREFIXimages-idx3-ubyte and PREFIXlabels-idx1-ubyte files."""
    images_path = write_idx(directory / f"{prefix}images-idx3-ubyte{suffix}", images, 0x803)
    labels_path = write_idx(directory / f"{prefix}labels-idx1-ubyte{suffix}", labels, 0x801)
    return images_path, labels_path


def random_images(count, seed, height=4, width=5):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, height, width), dtype=np.uint8)
    labels = (np.arange(count) % 3).astype(np.uint8)  # classes 0, 1, 2
    return images, labels


def tiny_dataset(count=6, num_classes=3):
    images = np.arange(count * 2 * 2, dtype=np.uint8).reshape(count, 2, 2, 1)
    labels = np.arange(count, dtype=np.int64) % num_classes
    return ImageDataset(images, labels, [f"c{i}" for i in range(num_classes)], "tiny")


# ---------------------------------------------------------------- ImageDataset


def test_image_dataset_properties():
    dataset = ImageDataset(np.zeros((5, 3, 4, 2), np.uint8), np.zeros(5, np.int64), ["a", "b"], "x")
    assert dataset.image_size == (3, 4)
    assert dataset.num_channels == 2
    assert dataset.num_classes == 2
    assert len(dataset) == 5


def test_subset_and_take_select_examples():
    dataset = tiny_dataset()
    part = dataset.subset([4, 1])
    np.testing.assert_array_equal(part.labels, [1, 1])
    np.testing.assert_array_equal(part.images, dataset.images[[4, 1]])
    assert part.class_names == dataset.class_names
    assert len(dataset.take(2)) == 2 and len(dataset.take(100)) == 6
    np.testing.assert_array_equal(dataset.take(3).labels, [0, 1, 2])
    with pytest.raises(DataError, match="n=-1"):
        dataset.take(-1)


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (np.zeros((2, 2, 2, 1), np.float32), np.zeros(2, np.int64), "images have dtype=float32"),
        (np.zeros((2, 2, 2), np.uint8), np.zeros(2, np.int64), r"shape=\(2, 2, 2\)"),
        (np.zeros((2, 2, 2, 1), np.uint8), np.zeros(2, np.int32), "labels have dtype=int32"),
        (np.zeros((2, 2, 2, 1), np.uint8), np.zeros(3, np.int64), "2 images but 3 labels"),
        (np.zeros((2, 2, 2, 1), np.uint8), np.array([0, 2]), "label 2; expected labels in \\[0, 2\\)"),
        (np.zeros((2, 2, 2, 1), np.uint8), np.array([-1, 0]), "label -1"),
        ([[0]], np.zeros(1, np.int64), "must be a numpy array; received list"),
    ],
)
def test_image_dataset_rejects_bad_arrays(images, labels, message):
    with pytest.raises(DataError, match=message):
        ImageDataset(images, labels, ["a", "b"], "bad")


# ------------------------------------------------------------------- builtin


def test_digits_shapes_range_and_counts():
    train, test = load_image_dataset("builtin:digits")
    assert len(train) + len(test) == 1797
    assert (len(train), len(test)) == (1437, 360)  # test: ceil(0.2 * 1797)
    for part in (train, test):
        assert part.images.dtype == np.uint8 and part.labels.dtype == np.int64
        assert part.images.shape[1:] == (8, 8, 1)
        assert part.class_names == [str(d) for d in range(10)]
    pixels = np.concatenate([train.images.ravel(), test.images.ravel()])
    assert pixels.min() == 0 and pixels.max() == 255
    # 17 gray levels 0..16 scaled by 255/16.
    assert set(np.unique(pixels)) <= {round(v * 255 / 16) for v in range(17)}
    assert (train.name, test.name) == ("digits/train", "digits/test")


def test_digits_split_is_stratified():
    from sklearn.datasets import load_digits

    train, test = load_image_dataset("builtin:digits", test_fraction=0.25)
    all_counts = np.bincount(load_digits().target, minlength=10)
    np.testing.assert_array_equal(
        np.bincount(train.labels, minlength=10) + np.bincount(test.labels, minlength=10),
        all_counts,
    )
    assert np.all(np.abs(np.bincount(test.labels, minlength=10) - 0.25 * all_counts) <= 1)


def test_digits_split_is_deterministic_by_seed():
    first_train, first_test = load_image_dataset("builtin:digits", seed=3)
    again_train, again_test = load_image_dataset("builtin:digits", seed=3)
    other_train, _ = load_image_dataset("builtin:digits", seed=4)
    np.testing.assert_array_equal(first_train.images, again_train.images)
    np.testing.assert_array_equal(first_test.labels, again_test.labels)
    assert not np.array_equal(first_train.images, other_train.images)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_test_fraction_out_of_range_raises(fraction):
    with pytest.raises(DataError, match=f"test_fraction={fraction}"):
        load_image_dataset("builtin:digits", test_fraction=fraction)


def test_unknown_builtin_lists_known_names():
    with pytest.raises(DataError, match="unknown builtin image data set 'nope'; expected one of: digits"):
        load_image_dataset("builtin:nope")


def test_unknown_kind_raises():
    with pytest.raises(DataError, match="unknown data source 'foo:bar'"):
        load_image_dataset("foo:bar")


def test_non_image_kind_raises():
    with pytest.raises(DataError, match="'tsv' in 'tsv:x.tsv' is not supported for images yet"):
        load_image_dataset("tsv:x.tsv")


# ----------------------------------------------------------------------- IDX


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_train_and_t10k_pairs_round_trip(tmp_path, suffix):
    train_images, train_labels = random_images(12, seed=0)
    test_images, test_labels = random_images(6, seed=1)
    write_idx_pair(tmp_path, "train-", train_images, train_labels, suffix)
    write_idx_pair(tmp_path, "t10k-", test_images, test_labels, suffix)

    train, test = load_image_dataset(f"idx:{tmp_path}")

    np.testing.assert_array_equal(train.images[..., 0], train_images)
    np.testing.assert_array_equal(train.labels, train_labels)
    np.testing.assert_array_equal(test.images[..., 0], test_images)
    np.testing.assert_array_equal(test.labels, test_labels)
    assert train.images.shape == (12, 4, 5, 1) and train.labels.dtype == np.int64
    assert train.class_names == ["0", "1", "2"]
    assert train.name == f"{tmp_path.name}/train"


def test_idx_single_pair_is_split_stratified(tmp_path):
    images, labels = random_images(30, seed=2)
    write_idx_pair(tmp_path, "train-", images, labels, ".gz")
    # A prefix with only one of its two files is ignored.
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, 0x801)

    train, test = load_image_dataset(f"idx:{tmp_path}", test_fraction=0.2, seed=0)

    assert (len(train), len(test)) == (24, 6)
    np.testing.assert_array_equal(np.bincount(test.labels), [2, 2, 2])


def test_idx_single_images_file_finds_labels_beside_it(tmp_path):
    images, labels = random_images(30, seed=3)
    images_path, _ = write_idx_pair(tmp_path, "train-", images, labels)
    train, test = load_image_dataset(f"idx:{images_path}")
    assert len(train) + len(test) == 30
    assert train.name == "train/train"


def test_idx_label_values_become_class_names(tmp_path):
    images, _ = random_images(8, seed=4)
    labels = np.array([3, 7] * 4, np.uint8)
    write_idx_pair(tmp_path, "x-", images, labels)
    train, test = load_image_dataset(f"idx:{tmp_path}", test_fraction=0.5)
    assert train.class_names == ["3", "7"]
    np.testing.assert_array_equal(np.sort(np.concatenate([train.labels, test.labels])), [0] * 4 + [1] * 4)


def test_idx_plain_file_wins_over_gz(tmp_path):
    images, labels = random_images(9, seed=5)
    write_idx_pair(tmp_path, "a-", images, labels)
    (tmp_path / "a-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    train, test = load_image_dataset(f"idx:{tmp_path}", test_fraction=1 / 3)
    assert len(train) + len(test) == 9


def test_idx_bad_magic_names_file(tmp_path):
    images, labels = random_images(6, seed=0)
    write_idx(tmp_path / "train-images-idx3-ubyte", images, 0x801)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels, 0x801)
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte has bad magic number 0x00000801; expected 0x00000803"
    ):
        load_image_dataset(f"idx:{tmp_path}")


def test_idx_truncated_data_names_file(tmp_path):
    images, labels = random_images(6, seed=0)
    images_path, _ = write_idx_pair(tmp_path, "train-", images, labels)
    images_path.write_bytes(images_path.read_bytes()[:-7])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte holds 129 bytes but its header \(6, 4, 5\) says 136"):
        load_image_dataset(f"idx:{tmp_path}")


def test_idx_truncated_gzip_names_file(tmp_path):
    images, labels = random_images(6, seed=0)
    images_path, _ = write_idx_pair(tmp_path, "train-", images, labels, ".gz")
    images_path.write_bytes(images_path.read_bytes()[:-20])
    with pytest.raises(DataError, match="cannot read IDX file .*train-images-idx3-ubyte.gz"):
        load_image_dataset(f"idx:{tmp_path}")


def test_idx_count_mismatch_names_both_files(tmp_path):
    images, labels = random_images(6, seed=0)
    write_idx_pair(tmp_path, "train-", images, labels[:5])
    with pytest.raises(DataError, match=r"images-idx3-ubyte and .*labels-idx1-ubyte hold 6 images but 5 labels"):
        load_image_dataset(f"idx:{tmp_path}")


def test_idx_missing_path_raises(tmp_path):
    with pytest.raises(DataError, match=f"IDX path {tmp_path / 'absent'} does not exist"):
        load_image_dataset(f"idx:{tmp_path / 'absent'}")


def test_idx_directory_without_pair_raises(tmp_path):
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8), 0x801)
    with pytest.raises(DataError, match="no IDX images/labels pair .*found: train-labels-idx1-ubyte"):
        load_image_dataset(f"idx:{tmp_path}")


def test_idx_images_file_without_labels_raises(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 2, 2), np.uint8), 0x803)
    with pytest.raises(DataError, match="has no labels file beside it"):
        load_image_dataset(f"idx:{path}")


def test_idx_ambiguous_pairs_raise(tmp_path):
    images, labels = random_images(6, seed=0)
    write_idx_pair(tmp_path, "a-", images, labels)
    write_idx_pair(tmp_path, "b-", images, labels)
    with pytest.raises(DataError, match="several file pairs \\('a-', 'b-'\\)"):
        load_image_dataset(f"idx:{tmp_path}")


def test_shared_mnist_t10k_loads(shared_data):
    mnist = shared_data / "mnist"
    assert (mnist / "train-labels-idx1-ubyte.gz").exists()  # lone file, no images
    train, test = load_image_dataset(f"idx:{mnist}")
    assert (len(train), len(test)) == (8000, 2000)
    assert train.image_size == (28, 28) and train.num_channels == 1
    assert train.num_classes == 10 and train.class_names == [str(d) for d in range(10)]
    labels = np.concatenate([train.labels, test.labels])
    np.testing.assert_array_equal(np.bincount(labels), MNIST_T10K_CLASS_COUNTS)
    assert train.images.max() == 255 and train.images.min() == 0


# ---------------------------------------------------------------------- tfds


def test_tfds_images_convert_from_mocked_catalog():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=100), mock.patch.object(sources, "network_reachable", return_value=True):
        train, test = load_image_dataset("tfds:mnist")
    assert len(train) + len(test) == 100
    assert train.images.shape[1:] == (28, 28, 1) and train.images.dtype == np.uint8
    assert train.class_names == [str(d) for d in range(10)]
    assert train.name == "mnist/train"


# ------------------------------------------------------------- fashion_mnist

from zoo.data import images as images_module  # noqa: E402


def test_fashion_mnist_missing_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(images_module, "FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(DataError, match=r"apt-get install dataset-fashion-mnist"):
        load_image_dataset("builtin:fashion_mnist")


def test_fashion_mnist_reads_the_debian_layout_with_class_names(tmp_path, monkeypatch):
    images, labels = random_images(20, seed=3, height=28, width=28)
    labels = (np.arange(20) % 10).astype(np.uint8)
    write_idx_pair(tmp_path, "train-", images, labels, suffix=".gz")
    write_idx_pair(tmp_path, "t10k-", images[:10], labels[:10], suffix=".gz")
    monkeypatch.setattr(images_module, "FASHION_MNIST_DIR", tmp_path)
    train, test = load_image_dataset("builtin:fashion-mnist")  # dash or underscore
    assert (len(train), len(test)) == (20, 10)
    assert train.class_names[0] == "T-shirt/top" and train.class_names[9] == "Ankle boot"
    np.testing.assert_array_equal(train.images[..., 0], images)
    assert train.name == "fashion_mnist/train" and test.name == "fashion_mnist/test"


def test_installed_fashion_mnist_has_the_published_counts():
    if not (images_module.FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    train, test = load_image_dataset("builtin:fashion_mnist")
    assert (len(train), len(test)) == (60000, 10000)
    assert train.image_size == (28, 28) and train.num_channels == 1
    # Fashion-MNIST is balanced: 6,000 / 1,000 images per class.
    np.testing.assert_array_equal(np.bincount(train.labels), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels), [1000] * 10)
