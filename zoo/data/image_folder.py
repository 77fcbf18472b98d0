"""Reading `imagefolder:DIR`: one sub-folder of JPEG/PNG/BMP/GIF images per class.

    DIR/cat/001.jpg  DIR/cat/002.png  DIR/dog/a.jpeg ...
    DIR/train/cat/...  DIR/test/cat/...   (optional: a split of its own)

Images of any size are decoded with TensorFlow and resized (antialiased,
aspect ratio not kept) to one size; they become RGB unless every image is
grayscale. Files with other extensions (and hidden files) are ignored; an
image that does not decode is an error naming the file.
"""

import pathlib

import numpy as np

from zoo.data.sources import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def _class_folders(root):
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))


def _image_files(folder):
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")
    )


def _decode(path):
    """uint8 `(H, W, C)` with C in {1, 3} (alpha dropped), or a DataError naming `path`."""
    import tensorflow as tf

    try:
        image = tf.io.decode_image(path.read_bytes(), expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"cannot decode image {path}: {reason[:200]}") from None
    if image.dtype != np.uint8:  # 16-bit PNG
        image = (image.astype(np.float32) * (255.0 / np.iinfo(image.dtype).max)).round().astype(np.uint8)
    if image.shape[-1] in (2, 4):  # gray + alpha, RGBA
        image = image[..., :-1]
    return image


def _to_channels(image, channels):
    """`image` (H, W, 1 or 3) as `channels` channels: gray repeated to RGB, RGB to luma (BT.601)."""
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image, 3, axis=-1)
    return np.round(image @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]


def _files_by_class(root):
    folders = _class_folders(root)
    if not folders:
        raise DataError(f"image folder {root} has no class sub-folders; expected DIR/CLASS_NAME/IMAGE.jpg|png")
    files = {folder.name: _image_files(folder) for folder in folders}
    empty = [name for name, paths in files.items() if not paths]
    if empty:
        raise DataError(
            f"image folder {root}: class folder(s) {', '.join(map(repr, empty))} hold no "
            f"{'/'.join(IMAGE_EXTENSIONS)} files"
        )
    return files


def _resize(images, size):
    import tensorflow as tf

    resized = []
    for image in images:
        if image.shape[:2] != tuple(size):
            image = tf.image.resize(image, size, antialias=True).numpy()
            image = np.clip(np.round(image), 0, 255).astype(np.uint8)
        resized.append(image)
    return resized


def read_image_folder(root, class_names=None, image_size=(32, 32), channels=None):
    """Images and labels from one class-per-folder tree.

    Args:
        root: the folder.
        class_names: expected class order (a split's test folder must use
            the train folder's classes); default the sorted folder names.
        image_size: `(height, width)` every image is resized to.
        channels: 1 or 3; default 1 when every image is grayscale, else 3.

    Returns:
        `(images uint8 (N, H, W, C), labels int64 (N,), class_names)`.

    Raises:
        DataError: no class folders, an empty class, an unknown class, or an
            image that does not decode (naming the file).
    """
    root = pathlib.Path(root)
    files = _files_by_class(root)
    if class_names is None:
        class_names = sorted(files)
    unknown = sorted(set(files) - set(class_names))
    if unknown:
        raise DataError(
            f"image folder {root} has class folder(s) {', '.join(map(repr, unknown))} "
            f"that the training folder lacks; expected a subset of {class_names}"
        )
    images, labels = [], []
    for name, paths in files.items():
        for path in paths:
            images.append(_decode(path))
            labels.append(class_names.index(name))
    if channels is None:
        channels = 1 if all(image.shape[-1] == 1 for image in images) else 3
    images = [_to_channels(image, channels) for image in images]
    images = np.stack(_resize(images, tuple(image_size)))
    return images, np.array(labels, np.int64), list(class_names)


def load_image_folder(path_arg, image_size=(32, 32)):
    """`(data, test)` for `imagefolder:DIR`; `test` is None without train/ and test/ sub-folders."""
    root = pathlib.Path(path_arg).expanduser()
    if not root.is_dir():
        raise DataError(
            f"image folder {root} does not exist or is not a folder; expected "
            "DIR/CLASS_NAME/IMAGE.jpg|png (optionally DIR/train/... and DIR/test/...)"
        )
    name = root.resolve().name
    if (root / "train").is_dir() and (root / "test").is_dir():
        images, labels, class_names = read_image_folder(root / "train", image_size=image_size)
        channels = images.shape[-1]
        test = read_image_folder(root / "test", class_names, image_size, channels)
        return (images, labels, class_names, name), (*test, name)
    return (*read_image_folder(root, image_size=image_size), name), None


def read_image_file(path, image_size, channels):
    """One image file as uint8 `(H, W, channels)`, resized to `image_size`.

    Raises:
        DataError: the file is missing or does not decode (naming it).
    """
    path = pathlib.Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"image file {path} does not exist")
    return _resize([_to_channels(_decode(path), channels)], tuple(image_size))[0]
