"""zoo: a Keras 3 / TensorFlow model zoo of Transformers.

    from zoo import layers, models

Importing `zoo` registers every zoo class with Keras, so
`keras.saving.load_model("model.keras")` works after `import zoo`. It has
no other effect: it starts no TensorFlow devices (so
`tf.config.set_visible_devices` and friends still work afterwards), sets no
environment variable and leaves stderr alone. Programs that want
TensorFlow's native start-up lines hidden call
`zoo.quiet.start_tensorflow_quietly()` where their TensorFlow work starts
(the recipes do).
"""

__version__ = "0.1.0"

from zoo import layers, models  # noqa: E402,F401  (registers the Keras serializables)
from zoo.training import schedules  # noqa: E402,F401  (learning-rate schedules in saved optimizers)
