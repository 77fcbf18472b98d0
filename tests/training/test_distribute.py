"""--strategy: zoo's multi-worker loop against Keras fit and a single worker; killed workers; clear errors."""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.training import fit
from zoo.training.distribute import (
    StrategyError,
    describe,
    is_chief,
    is_multi_worker,
    make_strategy,
    read_tf_config,
)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
JOB = pathlib.Path(__file__).with_name("multi_worker_job.py")


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def _env(tf_config=None, kill_after=None):
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO_ROOT),
        TF_CPP_MIN_LOG_LEVEL="3",
        KERAS_BACKEND="tensorflow",
        CUDA_VISIBLE_DEVICES="",
    )
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    if kill_after is not None:
        env["ZOO_TEST_KILL_AFTER_EPOCH"] = str(kill_after)
    return env


def _run_job(run_dir, weights, epochs, workers=1, resume=False, kill_worker_after=None, timeout=240):
    """Run multi_worker_job.py as `workers` local processes; return [(returncode, stdout, stderr)]."""
    extra = ["--resume"] if resume else []
    if workers == 1:
        envs = [_env()]
    else:
        ports = _free_ports(workers)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        envs = [
            _env(
                {"cluster": cluster, "task": {"type": "worker", "index": index}},
                kill_after=kill_worker_after if index == workers - 1 else None,
            )
            for index in range(workers)
        ]
    children = [
        subprocess.Popen(
            [sys.executable, str(JOB), str(run_dir), f"{weights}-{index}.npz", str(epochs), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        for index, env in enumerate(envs)
    ]
    deadline = time.monotonic() + timeout
    results = []
    for child in children:
        try:
            stdout, stderr = child.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in children:
                other.kill()
            raise AssertionError("a worker hung") from None
        results.append((child.returncode, stdout, stderr))
    return results


def _weights(path):
    saved = np.load(path)
    return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def _history(path):
    return json.loads(pathlib.Path(str(path) + ".json").read_text())


@pytest.fixture(scope="module")
def single_worker(tmp_path_factory):
    root = tmp_path_factory.mktemp("single")
    [(code, stdout, stderr)] = _run_job(root / "run", root / "weights", epochs=4)
    assert code == 0, stderr[-3000:]
    return root


def test_two_workers_train_one_model_equal_to_one_worker(single_worker, tmp_path):
    results = _run_job(tmp_path / "run", tmp_path / "weights", epochs=4, workers=2)
    for code, stdout, stderr in results:
        assert code == 0, stderr[-3000:]
        assert "epoch 4/4" in stdout
    first, second = (_weights(tmp_path / f"weights-{index}.npz") for index in range(2))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)  # all-reduced updates: the same model on both
    reference = _weights(single_worker / "weights-0.npz")
    for a, b in zip(first, reference):
        np.testing.assert_allclose(a, b, atol=1e-5)  # 2 replicas x 16 = the single worker's batch of 32
    history, reference_history = _history(tmp_path / "weights-0.npz"), _history(single_worker / "weights-0.npz")
    assert history["replicas"] == 2 and reference_history["replicas"] == 1
    np.testing.assert_allclose(history["history"]["loss"], reference_history["history"]["loss"], rtol=1e-4)
    np.testing.assert_allclose(history["history"]["val_accuracy"], reference_history["history"]["val_accuracy"])
    # The chief alone wrote the run's files, once each, with no temp files left.
    assert sorted(os.listdir(tmp_path / "run" / "checkpoints")) == ["final.weights.h5", "latest.json"]
    assert (tmp_path / "run" / "history.csv").read_text().count("\n") == 5


def test_a_killed_worker_restarts_from_the_chiefs_checkpoint(single_worker, tmp_path):
    run_dir = tmp_path / "run"
    (chief, worker) = _run_job(run_dir, tmp_path / "weights", epochs=4, workers=2, kill_worker_after=2)
    assert worker[0] == -9  # SIGKILLed at the end of epoch 2
    # The chief does not hang on the dead peer: it stops with TensorFlow's error, its checkpoint intact.
    assert chief[0] != 0 and "unhealthy" in chief[2]
    state = json.loads((run_dir / "checkpoints" / "latest.json").read_text())
    assert state["completed_epochs"] == 2

    results = _run_job(run_dir, tmp_path / "weights", epochs=4, workers=2, resume=True)
    for code, stdout, stderr in results:
        assert code == 0, stderr[-3000:]
        assert f"resuming {run_dir} after epoch 2 of 4" in stdout
        assert "epoch 1/4" not in stdout and "epoch 3/4" in stdout
    reference = _weights(single_worker / "weights-0.npz")
    for index in range(2):
        for a, b in zip(_weights(tmp_path / f"weights-{index}.npz"), reference):
            np.testing.assert_allclose(a, b, atol=1e-5)
    assert len(_history(tmp_path / "weights-0.npz")["history"]["loss"]) == 4


def _model():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 6)).astype("float32")
    y = rng.integers(0, 3, size=100).astype("int32")
    return x, y


def test_custom_loop_matches_keras_fit_step_for_step(tmp_path):
    x, y = _data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # 7 steps, the last one partial
    runs = {}
    for loop in ("keras", "custom"):
        keras.utils.set_random_seed(0)
        model = _model()
        history = fit(model, dataset, epochs=3, run_dir=tmp_path / loop, validation_data=dataset, loop=loop)
        runs[loop] = (model.get_weights(), history)
    (keras_weights, keras_history), (custom_weights, custom_history) = runs["keras"], runs["custom"]
    for a, b in zip(keras_weights, custom_weights):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert list(custom_history) == list(keras_history)
    for name in keras_history:
        np.testing.assert_allclose(custom_history[name], keras_history[name], rtol=1e-5, atol=1e-6)


def test_custom_loop_resumes_and_takes_arrays(tmp_path):
    x, y = _data()

    class CrashInEpochTwo(keras.callbacks.Callback):  # runs before the epoch's checkpoint
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("crash")

    keras.utils.set_random_seed(0)
    first = _model()
    with pytest.raises(RuntimeError, match="crash"):
        fit(first, (x, y), epochs=3, run_dir=tmp_path, loop="custom", callbacks=[CrashInEpochTwo()])
    keras.utils.set_random_seed(0)
    second = _model()
    history = fit(second, (x, y), epochs=3, run_dir=tmp_path, resume=True, loop="custom")
    assert len(history["loss"]) == 3
    # Epoch 1 restored (4 steps of 32 over 100 examples), epochs 2 and 3 trained again.
    assert int(second.optimizer.iterations.numpy()) == 3 * 4


def test_custom_loop_honours_steps_per_epoch_and_early_stopping(tmp_path):
    x, y = _data()
    model = _model()

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    history = fit(
        model, (x, y), epochs=5, run_dir=tmp_path, steps_per_epoch=2, loop="custom", callbacks=[StopAfterTwo()]
    )
    assert len(history["loss"]) == 2
    assert int(model.optimizer.iterations.numpy()) == 4


def test_default_strategy_is_the_chief_and_not_multi_worker():
    strategy = make_strategy("default")
    assert is_chief(strategy) and is_chief(None)
    assert not is_multi_worker(strategy)
    assert describe(strategy) == "strategy default (no distribution)"
    mirrored = make_strategy("mirrored")
    assert is_chief(mirrored) and mirrored.num_replicas_in_sync >= 1
    assert "MirroredStrategy" in describe(mirrored)


def test_unknown_strategy_and_missing_tpu_are_clear_errors(monkeypatch):
    with pytest.raises(StrategyError, match="unknown --strategy 'gpu'"):
        make_strategy("gpu")
    monkeypatch.delenv("TPU_NAME", raising=False)
    started = time.monotonic()
    with pytest.raises(StrategyError, match="no TPU here"):
        make_strategy("tpu")
    assert time.monotonic() - started < 5  # no wait on a metadata server


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "needs the TF_CONFIG environment variable"),
        ("{cluster:", "not valid JSON"),
        ('{"cluster": {"worker": ["a:1"]}}', "needs a 'cluster' object and a 'task' object"),
        ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}', "list of 'host:port' strings"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "task type 'chief' is not in"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', r"int in \[0, 2\)"),
    ],
)
def test_bad_tf_config_is_named(text, message):
    with pytest.raises(StrategyError, match=message):
        read_tf_config({"TF_CONFIG": text})


def test_good_tf_config_is_returned():
    config = {"cluster": {"chief": ["a:1"], "worker": ["b:2", "c:3"]}, "task": {"type": "worker", "index": 1}}
    assert read_tf_config({"TF_CONFIG": json.dumps(config)}) == config


def test_multi_worker_after_the_first_tensorflow_op_is_a_clear_error(tmp_path):
    port = _free_ports(1)[0]
    code = (
        "import tensorflow as tf\n"
        "from zoo.training.distribute import make_strategy\n"
        "tf.constant(1.0) + 1.0\n"
        "make_strategy('multi_worker')\n"
    )
    tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}"]}, "task": {"type": "worker", "index": 0}}
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(tf_config), cwd=REPO_ROOT, timeout=120
    )
    assert child.returncode != 0
    assert "StrategyError: --strategy multi_worker must be set up before TensorFlow runs its first op" in child.stderr


def test_mirrored_over_two_devices_equals_one_device_with_keras_fit_and_zoos_loop(tmp_path):
    """Two logical CPUs stand in for two GPUs; the embedding's sparse gradients are all-reduced too."""
    child = subprocess.run(
        [sys.executable, str(JOB.with_name("mirrored_job.py")), str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO_ROOT,
        timeout=240,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    [line] = [line for line in child.stdout.splitlines() if line.startswith("RESULTS ")]
    results = json.loads(line[len("RESULTS ") :])
    reference = results["one_device"]
    assert reference["replicas"] == 1
    for name in ("mirrored_keras", "mirrored_custom"):
        assert results[name]["replicas"] == 2
        np.testing.assert_allclose(results[name]["loss"], reference["loss"], rtol=1e-5)
        for got, want in zip(results[name]["weights"], reference["weights"]):
            np.testing.assert_allclose(got, want, atol=1e-5)
