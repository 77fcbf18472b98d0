"""`import zoo` registers zoo's Keras classes and does nothing else; the recipes still start quietly."""

import os
import pathlib
import subprocess
import sys

import keras
import numpy as np

from helpers import randomize_weights, to_numpy
from zoo.layers import TransformerEncoder

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_python(code, *args):
    """Run `code` in a fresh interpreter at the repository root, without TF_CPP_MIN_LOG_LEVEL."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ZOO_DEBUG")}
    env["KERAS_BACKEND"] = "tensorflow"
    child = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    return child


def test_import_zoo_lists_no_devices_and_sets_no_environment():
    child = run_python(
        "import os, tensorflow as tf\n"
        "calls = []\n"
        "listed = tf.config.list_physical_devices\n"
        "tf.config.list_physical_devices = lambda *a, **k: calls.append(a) or listed(*a, **k)\n"
        "import zoo\n"
        "print(len(calls), os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n"
    )
    assert child.stdout.split() == ["0", "None"]
    assert "cuInit" not in child.stderr  # no device start-up (it logs this line without a GPU)


def test_devices_can_still_be_configured_after_import_zoo():
    child = run_python(
        "import zoo, tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
        "print(len(tf.config.list_logical_devices('CPU')))\n"
    )
    assert child.stdout.split() == ["2"]


def test_a_saved_model_loads_after_nothing_but_import_zoo(tmp_path):
    inputs = keras.Input((5, 8))
    model = keras.Model(inputs, TransformerEncoder(num_heads=2, intermediate_dim=16)(inputs))
    randomize_weights(model, seed=1)
    x = np.random.default_rng(2).normal(size=(2, 5, 8)).astype("float32")
    path, expected = tmp_path / "tiny.keras", tmp_path / "expected.npy"
    model.save(path)
    np.save(expected, to_numpy(model(x)))
    np.save(tmp_path / "x.npy", x)
    child = run_python(
        "import sys, keras, numpy as np\n"
        "import zoo\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "x, expected = np.load(sys.argv[2]), np.load(sys.argv[3])\n"
        "print(type(model.layers[1]).__module__, float(np.abs(model(x) - expected).max()))\n",
        str(path),
        str(tmp_path / "x.npy"),
        str(expected),
    )
    module, difference = child.stdout.split()
    assert module == "zoo.layers.encoder"
    assert float(difference) < 1e-6


def test_importing_the_recipes_and_running_one_print_nothing_on_stderr():
    child = run_python(
        "import recipes\n"
        "import tensorflow as tf\n"
        "from zoo.training.cli import run_main\n"
        "run_main(lambda argv: print(int(tf.constant(1) + 1)), [])\n"
    )
    assert child.stdout.split() == ["2"]
    assert child.stderr == ""  # TensorFlow's load and device start-up lines are captured


def test_importing_the_benchmarks_and_running_an_op_print_nothing_on_stderr():
    child = run_python("import benchmarks.common, tensorflow as tf\nprint(int(tf.constant(1) + 1))\n")
    assert child.stdout.split() == ["2"]
    assert child.stderr == ""
