"""Atomic file and directory writes.

A reader (or a process restarted after a crash) must never find a
half-written artifact at its final path. Every writer here works on a
temporary path *beside* the destination (same directory, hence the same
filesystem), flushes it to disk, and then moves it into place with a rename,
which POSIX makes atomic for files.

    atomic_write_text(path, text)
    atomic_write_json(path, obj)
    with atomic_file("model.keras") as tmp:      # tmp ends in "model.keras"
        model.save(tmp)
    with atomic_directory("saved_model") as tmp:
        tf.saved_model.save(module, tmp)

If the body of a context manager raises, the temporary path is removed and
whatever was at the destination before is left untouched.
"""

import contextlib
import json
import os
import pathlib
import shutil
import uuid


def _temp_sibling(path, kind):
    """A fresh, unused path in `path`'s directory whose name ends in `path.name`.

    Keeping the whole original name as the ending keeps every suffix
    (`.weights.h5`, `.tar.gz`), so writers that check the extension accept it.
    """
    return path.with_name(f".{kind}-{uuid.uuid4().hex[:12]}-{path.name}")


def _fsync_file(path):
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(path):
    """Persist a directory's entries (a rename is durable only after this)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Some platforms cannot open directories; best effort.
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(root):
    """fsync every file and directory under `root` (and `root` itself)."""
    for directory, _, files in os.walk(root):
        for name in files:
            file_path = os.path.join(directory, name)
            if not os.path.islink(file_path):
                _fsync_file(file_path)
        _fsync_directory(directory)


def _remove(path):
    """Remove a file or directory tree if it exists; never raises."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def atomic_write_text(path, text, encoding="utf-8"):
    """Write `text` to `path` atomically (temp file, fsync, `os.replace`)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; received {type(text).__name__}")
    with atomic_file(path) as temp_path:
        with open(temp_path, "w", encoding=encoding) as handle:
            handle.write(text)


def atomic_write_json(path, obj, indent=2):
    """Serialize `obj` as JSON and write it to `path` atomically.

    The object is serialized before anything touches the disk, so an object
    that is not JSON-serializable raises `TypeError` and leaves `path` as it was.
    """
    text = json.dumps(obj, indent=indent) + "\n"
    atomic_write_text(path, text)


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary path beside `path`; move it into place on success.

    The temporary name ends with `path`'s full name (so `.keras`, `.h5` and
    `.weights.h5` writers accept it) and does not exist when yielded. On a
    clean exit the written file is fsynced and `os.replace`d onto `path`. If
    the body raises, the temporary file is deleted and `path` is untouched.

    Yields:
        A `pathlib.Path` to write to.
    """
    path = pathlib.Path(path)
    temp_path = _temp_sibling(path, "tmp")
    try:
        yield temp_path
        if not temp_path.is_file():
            raise FileNotFoundError(
                f"atomic_file({str(path)!r}): the body wrote no file at the temporary path {str(temp_path)!r}"
            )
        _fsync_file(temp_path)
        os.replace(temp_path, path)
    except BaseException:
        _remove(temp_path)
        raise
    _fsync_directory(path.parent)


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a fresh temporary directory beside `path`; swap it in on success.

    On a clean exit every file in the temporary directory is fsynced, then:
    if `path` exists it is renamed away, the new directory is renamed to
    `path`, and the old one is deleted. A half-written directory therefore
    never sits at `path`; a crash between the two renames leaves `path`
    absent and the old copy at a hidden `.old-*` sibling. If the body raises,
    the temporary directory is deleted and any existing `path` is untouched.

    Yields:
        A `pathlib.Path` to an empty, existing directory.
    """
    path = pathlib.Path(path)
    temp_dir = _temp_sibling(path, "tmp")
    temp_dir.mkdir()
    try:
        yield temp_dir
        _fsync_tree(temp_dir)
        old_dir = _swap_in(temp_dir, path)
    except BaseException:
        _remove(temp_dir)
        raise
    _fsync_directory(path.parent)
    if old_dir is not None:
        _remove(old_dir)


def _swap_in(new_dir, path):
    """Rename `new_dir` to `path`, moving any existing `path` aside first.

    Returns the moved-aside old path (for the caller to delete), or None.
    If the second rename fails, the old directory is put back.
    """
    if not (path.exists() or path.is_symlink()):
        os.rename(new_dir, path)
        return None
    old_dir = _temp_sibling(path, "old")
    os.rename(path, old_dir)
    try:
        os.rename(new_dir, path)
    except BaseException:
        os.rename(old_dir, path)
        raise
    return old_dir
