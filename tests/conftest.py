"""Shared test fixtures.

`shared_data` points at ../shared/data (reference data sets kept beside the
repository, never inside it); tests that need it skip cleanly when absent.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """Path of ../shared/data; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed_everything():
    import keras

    keras.utils.set_random_seed(1234)
    yield


import sys  # noqa: E402  (the environment variables above come first)

# Shared assertion helpers live in tests/helpers.py (`from helpers import ...`).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
