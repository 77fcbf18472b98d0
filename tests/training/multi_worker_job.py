"""One worker of the 2-worker test in test_distribute.py (run as a script).

    python multi_worker_job.py RUN_DIR WEIGHTS.npz EPOCHS [--resume]

TF_CONFIG comes from the environment (empty: no distribution, the
single-worker reference). Trains a small classifier on fixed data with
zoo.training.fit and saves the final weights and history for the test to
compare.
"""

import json
import os
import signal
import sys

import keras
import numpy as np
import tensorflow as tf

from zoo.training import fit, set_seed
from zoo.training.distribute import make_strategy

GLOBAL_BATCH = 32


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, :4].sum(axis=1) > x[:, 4:].sum(axis=1)).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH), (x[:128], y[:128])


class KillAfterEpoch(keras.callbacks.Callback):
    """SIGKILL this process at the end of epoch `epoch` (1-based): a crash, no clean-up."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


def main(run_dir, weights_path, epochs, resume=False):
    strategy = make_strategy("multi_worker" if os.environ.get("TF_CONFIG") else "default")
    set_seed(0)
    train, validation = data()
    with strategy.scope():
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(2),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.AdamW(3e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    callbacks = []
    kill_after = os.environ.get("ZOO_TEST_KILL_AFTER_EPOCH")
    if kill_after:
        callbacks.append(KillAfterEpoch(int(kill_after)))
    history = fit(
        model,
        train,
        epochs=epochs,
        run_dir=run_dir,
        validation_data=validation,
        strategy=strategy,
        resume=resume,
        callbacks=callbacks,
    )
    np.savez(weights_path, *model.get_weights())
    with open(weights_path + ".json", "w") as handle:
        json.dump({"history": history, "replicas": strategy.num_replicas_in_sync}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), "--resume" in sys.argv[4:])
