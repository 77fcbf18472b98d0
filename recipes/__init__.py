"""One script per task: `python -m recipes.<task> --help`."""

import os

# Quiet TensorFlow's C++ start-up logging before any recipe imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import recipes.quiet_import  # noqa: E402,F401  (imports zoo, so TensorFlow, quietly, before keras does)
