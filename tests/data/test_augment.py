"""zoo.data.augment: named training augmentations; evaluation stays deterministic."""

import numpy as np
import pytest

from zoo.data import ImageDataset
from zoo.data.augment import AUGMENTATIONS, image_augmentation
from zoo.data.pipelines import image_batches

RNG = np.random.default_rng(0)
IMAGES = np.zeros((16, 28, 28, 1), np.uint8)
IMAGES[:, 8:20, 6:14] = 255  # an off-centre bright block: any transform moves it
DATA = ImageDataset(IMAGES, np.arange(16, dtype=np.int64) % 2, ["a", "b"], "blocks")


def first_batch(augment, seed=0):
    return next(iter(image_batches(DATA, 16, augment=augment, seed=seed)))[0].numpy()


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_each_augmentation_changes_training_images_per_image(name):
    augment = image_augmentation((name,), (28, 28), seed=1)
    batch = first_batch(augment)
    assert batch.shape == IMAGES.shape and batch.dtype == np.float32
    changed = [not np.allclose(image, IMAGES[0]) for image in batch]
    assert sum(changed) >= 4, f"{name} changed only {sum(changed)} of 16 images"
    # Each image gets its own random transform, not one for the whole batch
    # (a flip has only two outcomes).
    assert len({image.tobytes() for image in batch}) >= (2 if name == "flip" else 4)


def test_flip_mirrors_left_right():
    augment = image_augmentation(("flip",), (28, 28), seed=0)
    batch = first_batch(augment)
    mirrored = IMAGES[0, :, ::-1].astype(np.float32)
    for image in batch:
        assert np.array_equal(image, IMAGES[0]) or np.array_equal(image, mirrored)


def test_none_and_empty_mean_no_augmentation():
    assert image_augmentation(("none",), (28, 28)) is None
    assert image_augmentation((), (28, 28)) is None


@pytest.mark.parametrize(
    "names,message", [(("blur",), "unknown augmentation 'blur'"), (("none", "flip"), "cannot be combined")]
)
def test_bad_names_raise(names, message):
    with pytest.raises(ValueError, match=message):
        image_augmentation(names, (28, 28))


def test_evaluation_batches_are_deterministic_when_training_is_augmented():
    augment = image_augmentation(("crop", "flip", "rotation"), (28, 28), seed=0)
    training = image_batches(DATA, 16, shuffle=True, augment=augment)
    evaluation = image_batches(DATA, 16)
    first = next(iter(evaluation))[0].numpy()
    next(iter(training))  # drawing augmented batches does not touch evaluation data
    np.testing.assert_array_equal(first, IMAGES.astype(np.float32))
    np.testing.assert_array_equal(next(iter(evaluation))[0].numpy(), first)
    # Two epochs of training batches differ (fresh randomness each epoch).
    assert not np.array_equal(next(iter(training))[0].numpy(), next(iter(training))[0].numpy())
