"""`--strategy`: which `tf.distribute` strategy a recipe trains under.

    strategy = make_strategy(cfg.strategy)   # "default", "mirrored", "multi_worker", "tpu"
    with strategy.scope():
        model = build_and_compile(...)
    fit(model, data, ..., strategy=strategy)  # picks Keras fit or zoo's loop
    if not is_chief(strategy):
        return                                # only the chief evaluates and exports

- `default`: no distribution (one CPU/GPU), Keras `model.fit`.
- `mirrored`: `tf.distribute.MirroredStrategy`, every local GPU (one replica
  on a CPU-only machine), Keras `model.fit`.
- `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy` over the
  workers named in the `TF_CONFIG` environment variable. Keras 3.15's
  `model.fit` fails under it (keras-team/keras#20585: "Attempt to convert a
  value (PerReplica...) to a Tensor"), so `fit` uses zoo's own loop
  (`zoo.training.loop`): `strategy.run(model.train_step)` on a distributed
  dataset, Keras's per-replica loss scaling and gradient all-reduce.
- `tpu`: `tf.distribute.TPUStrategy` on the TPU named by `TPU_NAME` (or the
  local TPU VM), Keras `model.fit`.

The global batch is the recipe's `--batch-size`; each of N replicas gets
1/N of every batch. Only the chief (worker 0, or the task of type `chief`)
writes checkpoints, metrics and exports; see docs/distributed.md.
"""

import json
import os
import pathlib
import tempfile
import typing

from zoo.errors import ZooUserError

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
StrategyName = typing.Literal["default", "mirrored", "multi_worker", "tpu"]


class StrategyError(RuntimeError, ZooUserError):
    """A strategy cannot be set up: bad `TF_CONFIG`, no TPU, unknown name."""


def make_strategy(name):
    """The `tf.distribute.Strategy` for `--strategy name`.

    Raises:
        StrategyError: unknown name, `multi_worker` without a valid
            `TF_CONFIG`, `tpu` with no TPU to connect to.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise StrategyError(f"unknown --strategy {name!r}; expected one of {', '.join(STRATEGIES)}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        read_tf_config()  # clear errors before TensorFlow parses it
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as error:
            if "program startup" not in str(error):
                raise
            raise StrategyError(
                "--strategy multi_worker must be set up before TensorFlow runs its first op "
                "(create the strategy first thing in the program)"
            ) from None
    return _tpu_strategy(tf)


def read_tf_config(environ=None):
    """The parsed, checked `TF_CONFIG` environment variable (a dict).

    Raises:
        StrategyError: missing, not JSON, or not naming this task within
            its cluster.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "")
    example = (
        'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\''
    )
    if not text.strip():
        raise StrategyError(
            f"--strategy multi_worker needs the TF_CONFIG environment variable, e.g. {example} "
            "(see docs/distributed.md)"
        )
    try:
        config = json.loads(text)
    except ValueError as error:
        raise StrategyError(f"TF_CONFIG is not valid JSON ({error}); expected e.g. {example}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
        raise StrategyError(f"TF_CONFIG needs a 'cluster' object and a 'task' object; expected e.g. {example}")
    for task_type, addresses in cluster.items():
        if (
            not isinstance(addresses, list)
            or not addresses
            or not all(isinstance(address, str) and ":" in address for address in addresses)
        ):
            raise StrategyError(
                f"TF_CONFIG cluster {task_type!r} must be a list of 'host:port' strings. Received: {addresses!r}"
            )
    task_type, index = task.get("type"), task.get("index")
    if task_type not in cluster:
        raise StrategyError(f"TF_CONFIG task type {task_type!r} is not in the cluster ({', '.join(cluster)})")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise StrategyError(
            f"TF_CONFIG task index must be an int in [0, {len(cluster[task_type])}) for "
            f"{task_type!r}. Received: {index!r}"
        )
    return config


def _tpu_strategy(tf):
    """TPUStrategy, refusing at once when there is no TPU (never a long metadata-server wait)."""
    tpu = os.environ.get("TPU_NAME", "")
    if not tpu:
        if not any(pathlib.Path("/dev").glob("accel*")) and not pathlib.Path("/dev/vfio").exists():
            raise StrategyError(
                "--strategy tpu: no TPU here (no TPU_NAME and no local TPU device); "
                "set TPU_NAME to your TPU's name or run on a TPU VM"
            )
        tpu = "local"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        if tpu != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise StrategyError(f"--strategy tpu: cannot reach TPU {tpu!r}: {error}") from None
    return tf.distribute.TPUStrategy(resolver)


def is_multi_worker(strategy):
    """True for `MultiWorkerMirroredStrategy` (where Keras `model.fit` fails)."""
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def task_of(strategy):
    """`(task_type, task_id)` of this process; `(None, 0)` outside a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    if resolver is None or not is_multi_worker(strategy):
        return None, 0
    return resolver.task_type, resolver.task_id or 0


def is_chief(strategy):
    """True for the process that writes checkpoints, metrics and exports.

    That is every process outside a multi-worker cluster; inside one, the
    task of type `chief`, or worker 0 when the cluster has no chief.
    """
    task_type, task_id = task_of(strategy)
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def describe(strategy):
    """One line for the log: the strategy, replicas and this process's role."""
    name = type(strategy).__name__
    if name == "_DefaultDistributionStrategy":
        return "strategy default (no distribution)"
    text = f"strategy {name}: {strategy.num_replicas_in_sync} replica(s) in sync"
    task_type, task_id = task_of(strategy)
    if task_type is not None:
        role = "chief" if is_chief(strategy) else "not the chief"
        text += f"; this is {task_type} {task_id} ({role})"
    return text


def chief_model(model, strategy, out):
    """After training: the model the chief evaluates and exports, or None on other workers.

    Outside a multi-worker cluster this is `model` itself. Inside one, other
    workers print one line and get None (the recipe returns: the chief alone
    evaluates, saves and exports, so no two processes write the same files),
    and the chief gets a copy of `model` outside the strategy, made through a
    `.keras` round trip: Keras's `predict` and the exports would otherwise
    run collective ops that wait for workers which have already finished.
    The copy stays compiled, with the trained optimizer state, so the
    recipe's `model.keras` can be trained further as after a one-process run.
    """
    if not is_multi_worker(strategy):
        return model
    task_type, task_id = task_of(strategy)
    if not is_chief(strategy):
        print(f"{task_type} {task_id}: training done; the chief evaluates and exports into {out}", flush=True)
        return None
    import keras

    with tempfile.TemporaryDirectory(prefix="zoo-chief-") as directory:
        path = pathlib.Path(directory) / "model.keras"
        model.save(path)
        return keras.saving.load_model(path)
