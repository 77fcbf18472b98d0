"""zoo: a Keras 3 / TensorFlow model zoo of Transformers.

    from zoo import layers, models

Importing `zoo` registers every zoo class with Keras, so
`keras.saving.load_model("model.keras")` works after `import zoo`.
"""

import os

__version__ = "0.1.0"

if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    from zoo.quiet import native_stderr_captured

    # TensorFlow's shared libraries print start-up notices (oneDNN, "no CUDA
    # drivers") to fd 2 before its logging is configured, ignoring
    # TF_CPP_MIN_LOG_LEVEL. Import it and start its devices once here with
    # those lines captured (ZOO_DEBUG=1 shows them).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_captured():
        import tensorflow

        tensorflow.config.list_physical_devices()  # device start-up logs "failed call to cuInit" without a GPU

from zoo import layers, models  # noqa: E402,F401
from zoo.training import schedules  # noqa: E402,F401  (learning-rate schedules in saved optimizers)
