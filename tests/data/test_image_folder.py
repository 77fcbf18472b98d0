"""imagefolder:DIR — class-per-folder JPEG/PNG images of any size, resized."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.data import DataError, load_image_dataset


def write_image(path, array, kind="png"):
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = tf.io.encode_png(array) if kind == "png" else tf.io.encode_jpeg(array, quality=100)
    path.write_bytes(encoded.numpy())


def solid(height, width, value, channels=3):
    return np.full((height, width, channels), value, np.uint8)


def make_folder(root, per_class=5):
    # "bright" images are white, "dark" ones black; sizes and formats vary.
    for index in range(per_class):
        write_image(root / "bright" / f"{index}.png", solid(20 + index, 30, 250))
        write_image(root / "dark" / f"{index}.jpg", solid(40, 10 + index, 5), kind="jpeg")
    (root / "bright" / "notes.txt").write_text("not an image")  # ignored
    return root


def test_folder_images_are_resized_labelled_and_split(tmp_path):
    root = make_folder(tmp_path / "shapes")
    train, test = load_image_dataset(f"imagefolder:{root}", test_fraction=0.4, image_size=16)
    assert train.class_names == ["bright", "dark"]
    assert (len(train), len(test)) == (6, 4)
    assert train.images.shape[1:] == (16, 16, 3) and train.images.dtype == np.uint8
    for dataset in (train, test):
        for image, label in zip(dataset.images, dataset.labels):
            expected = 250 if dataset.class_names[label] == "bright" else 5
            assert abs(int(np.median(image)) - expected) <= 2


def test_grayscale_folders_stay_one_channel(tmp_path):
    for index in range(3):
        write_image(tmp_path / "a" / f"{index}.png", solid(9, 9, 10 * index, channels=1))
        write_image(tmp_path / "b" / f"{index}.png", solid(9, 9, 200, channels=1))
    train, test = load_image_dataset(f"imagefolder:{tmp_path}", test_fraction=0.34, image_size=(9, 9))
    assert train.num_channels == 1
    # Same size: pixels unchanged.
    assert set(np.unique(np.concatenate([train.images, test.images]))) == {0, 10, 20, 200}


def test_mixed_gray_and_rgb_become_rgb(tmp_path):
    write_image(tmp_path / "a" / "0.png", solid(8, 8, 100, channels=1))
    write_image(tmp_path / "a" / "1.png", solid(8, 8, 100, channels=3))
    write_image(tmp_path / "b" / "0.png", solid(8, 8, 7, channels=1))
    write_image(tmp_path / "b" / "1.png", np.dstack([solid(8, 8, 7, 1)] * 3))
    train, test = load_image_dataset(f"imagefolder:{tmp_path}", test_fraction=0.5, image_size=8)
    assert train.num_channels == 3
    np.testing.assert_array_equal(train.images[..., 0], train.images[..., 2])


def test_train_and_test_subfolders_keep_their_split(tmp_path):
    make_folder(tmp_path / "train", per_class=3)
    make_folder(tmp_path / "test", per_class=2)
    train, test = load_image_dataset(f"imagefolder:{tmp_path}", image_size=8)
    assert (len(train), len(test)) == (6, 4)
    assert test.class_names == train.class_names == ["bright", "dark"]


def test_corrupt_image_is_named(tmp_path):
    root = make_folder(tmp_path / "data")
    bad = root / "dark" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(DataError, match=r"cannot decode image .*broken\.jpg"):
        load_image_dataset(f"imagefolder:{root}")


@pytest.mark.parametrize(
    "layout,message",
    [
        ("missing", "does not exist"),
        ("no_classes", "no class sub-folders"),
        ("empty_class", r"class folder\(s\) 'empty' hold no"),
    ],
)
def test_bad_folders_get_clear_errors(tmp_path, layout, message):
    root = tmp_path / "data"
    if layout != "missing":
        root.mkdir()
        write_image(root / "loose.png", solid(4, 4, 1))
    if layout == "empty_class":
        write_image(root / "full" / "0.png", solid(4, 4, 1))
        (root / "empty").mkdir()
    with pytest.raises(DataError, match=message):
        load_image_dataset(f"imagefolder:{root}")


def test_test_folder_with_unknown_class_is_an_error(tmp_path):
    make_folder(tmp_path / "train", per_class=2)
    make_folder(tmp_path / "test", per_class=1)
    write_image(tmp_path / "test" / "other" / "0.png", solid(4, 4, 1))
    with pytest.raises(DataError, match="'other'"):
        load_image_dataset(f"imagefolder:{tmp_path}")
