"""zoo: a Keras 3 / TensorFlow model zoo of Transformers.

    from zoo import layers, models
"""

__version__ = "0.1.0"

from zoo import layers  # noqa: E402,F401
