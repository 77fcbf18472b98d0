"""Random image augmentation for training batches, by name.

    augment = image_augmentation(("crop", "flip"), image_size=(28, 28), seed=0)
    batches = image_batches(train, 128, shuffle=True, augment=augment)

Each name adds one Keras preprocessing layer; every image of a batch gets its
own random transform. Augmentation only ever touches training batches:
evaluation, `classify` and the exports see the images as they are.
"""

import keras

AUGMENTATIONS = ("translate", "crop", "flip", "rotation")
NONE = "none"


def _translation(image_size, seed):
    shift = max(1.0 / min(image_size), 0.07)  # at least one pixel (8x8 digits); ~2 px at 28x28
    return keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed, name="translate")


def _crop(image_size, seed):
    # A random crop of 85-100% of each side, resized back (zoom in), at a
    # random place: what "random resized crop" does for ViTs, kept mild for
    # small images.
    return keras.Sequential(
        [
            keras.layers.RandomZoom((-0.15, 0.0), fill_mode="constant", seed=seed),
            keras.layers.RandomTranslation(0.07, 0.07, fill_mode="constant", seed=seed + 1),
        ],
        name="crop",
    )


def _flip(image_size, seed):
    # Left-right only: up-down flips change what most photos show.
    return keras.layers.RandomFlip("horizontal", seed=seed, name="flip")


def _rotation(image_size, seed):
    return keras.layers.RandomRotation(10.0 / 360.0, fill_mode="constant", seed=seed, name="rotation")


_BUILDERS = {"translate": _translation, "crop": _crop, "flip": _flip, "rotation": _rotation}


def check_augmentation_names(names):
    """Raises a ValueError naming any entry of `names` that is not known."""
    names = tuple(names)
    unknown = [name for name in names if name not in _BUILDERS and name != NONE]
    if unknown:
        raise ValueError(
            f"unknown augmentation {', '.join(map(repr, unknown))}; expected a "
            f"comma-separated subset of {', '.join(AUGMENTATIONS)}, or {NONE!r}"
        )
    if NONE in names and len(names) > 1:
        raise ValueError(f"augmentation {NONE!r} cannot be combined with others; received {','.join(names)}")
    return names


def image_augmentation(names, image_size, seed=0):
    """A callable `float images (B, H, W, C) -> augmented images`, or None.

    Args:
        names: subset of `AUGMENTATIONS`, applied in that order: `translate`
            (shift up to 7% of each side), `crop` (zoom in to 85-100% and
            shift), `flip` (left-right; wrong for digits and text), `rotation`
            (up to +-10 degrees). `()` or `("none",)` gives None.
        image_size: `(height, width)`.
        seed: base seed; each layer gets its own.

    Raises:
        ValueError: an unknown name.
    """
    names = check_augmentation_names(names)
    chosen = [name for name in AUGMENTATIONS if name in names]
    if not chosen:
        return None
    layers = [_BUILDERS[name](tuple(image_size), seed + 10 * index) for index, name in enumerate(chosen)]
    pipeline = keras.Sequential(layers, name="augmentation")

    def augment(images):
        return pipeline(images, training=True)

    return augment
