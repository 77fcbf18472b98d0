"""The MirroredStrategy check of test_distribute.py (run as a script: logical devices are set at start-up).

    python mirrored_job.py OUT_DIR

Splits the CPU into two logical devices and trains the same zoo
TextClassifier (dropout 0, fixed seed) three ways: one device with Keras fit,
MirroredStrategy over the two devices with Keras fit, and the same with
zoo's own loop. Prints one JSON line: the loss history and final weights'
checksum of each.
"""

import json
import sys

import tensorflow as tf

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo.models import TextClassifier  # noqa: E402
from zoo.tokenizers import TextPreprocessor  # noqa: E402
from zoo.training import fit  # noqa: E402

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "good", "bad", "film", "not", "very"]
TEXTS = ["a good film", "a bad film", "not a good film", "a very good film", "very bad", "not bad"]


def train(out, strategy, loop):
    keras.utils.set_random_seed(0)
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=8)
    inputs = preprocessor(TEXTS * 16)
    labels = np.array([1, 0, 0, 1, 0, 1] * 16)
    dataset = tf.data.Dataset.from_tensor_slices((dict(inputs), labels)).batch(16)
    with strategy.scope():
        model = TextClassifier.from_preset(
            "tiny", preprocessor=preprocessor, sequence_length=8, num_classes=2, dropout=0.0
        )
        model.compile(
            optimizer=keras.optimizers.AdamW(1e-2),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    history = fit(
        model, dataset, epochs=3, run_dir=f"{out}/{loop}-{strategy.num_replicas_in_sync}", strategy=strategy, loop=loop
    )
    return {
        "replicas": strategy.num_replicas_in_sync,
        "loss": history["loss"],
        "weights": [w.tolist() for w in model.get_weights()[:2]],
    }


if __name__ == "__main__":
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {
        "one_device": train(sys.argv[1], tf.distribute.get_strategy(), "keras"),
        "mirrored_keras": train(sys.argv[1], mirrored, "keras"),
        "mirrored_custom": train(sys.argv[1], mirrored, "custom"),
    }
    print("RESULTS " + json.dumps(results))
