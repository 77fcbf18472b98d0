"""The lifecycle every recipe shares, one step per call, in the order a recipe reads:

run = Run.start(cfg, SMOKE)      # the strategy first, then --smoke, the run folder, config.json
train, test = load_data(run.cfg)
with run.scope():                # build and compile under the strategy
    model = build_model(run.cfg, train)
model, history = run.fit(model, train_batches, validation_data=test_batches)
if model is None:                # another worker of a multi-worker run: the chief exports
    return None
...                              # evaluate
exports = run.export(model, sample_inputs)   # model.keras, saved_model/1/, *.tflite
run.write_json("metrics.json", {..., **run.timing()})
"""

import contextlib
import pathlib
import time

import numpy as np

from recipes.common.config import quantizations
from recipes.common.variants import check_variants, weight_variants
from zoo.export import export_run
from zoo.io import atomic_file, atomic_write_json
from zoo.training import TrainingTimer, fit, plot_history, replace_defaults, save_config, set_seed
from zoo.training.distribute import chief_model, describe, make_strategy


def start_run(cfg, smoke_overrides):
    """Apply `--smoke` defaults, create `--out`, write `config.json`, seed everything.

    Returns:
        `(cfg, out)`: the effective config and the run folder (a `pathlib.Path`).
    """
    if cfg.smoke:
        cfg = replace_defaults(cfg, **smoke_overrides)
    out = pathlib.Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.json")
    set_seed(cfg.seed)
    return cfg, out


class Run:
    """One recipe run: its config, run folder, `tf.distribute` strategy and clock.

    Build it with `Run.start`. Attributes: `cfg`, `out`, `strategy` (None
    for a config without a `strategy` field), `timer` (a `TrainingTimer`
    after `fit`) and `train_seconds`.
    """

    def __init__(self, cfg, out, strategy, started):
        self.cfg, self.out, self.strategy, self.started = cfg, out, strategy, started
        self.timer = TrainingTimer()
        self.train_seconds = None

    @classmethod
    def start(cls, cfg, smoke_overrides):
        """Create the strategy (announced in the log), then `start_run`; the clock starts.

        The strategy comes first: `MultiWorkerMirroredStrategy` configures
        its collectives at program start, before TensorFlow's first op.

        Raises:
            StrategyError: the strategy cannot be set up.
        """
        check_variants(cfg)
        strategy = None
        if hasattr(cfg, "strategy"):
            strategy = make_strategy(cfg.strategy)
            print(describe(strategy), flush=True)
        cfg, out = start_run(cfg, smoke_overrides)
        return cls(cfg, out, strategy, time.perf_counter())

    def scope(self):
        """The strategy's scope, to build and compile the model in."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def fit(self, model, train_data, validation_data=None, callbacks=()):
        """`zoo.training.fit` with the run's epochs, folder, resume and strategy, then the chief.

        Returns:
            `(model, history)`. `model` is the one the chief evaluates and
            exports (`zoo.training.distribute.chief_model`: a `.keras` copy
            outside a multi-worker strategy), or None on the other workers,
            which print one line and should stop. On the chief, `history.png`
            is plotted and `train_seconds` set.
        """
        cfg = self.cfg
        history = fit(
            model,
            train_data,
            epochs=cfg.epochs,
            run_dir=self.out,
            validation_data=validation_data,
            resume=cfg.resume,
            callbacks=[*callbacks, self.timer],
            strategy=self.strategy,
            examples_per_step=cfg.batch_size,
        )
        model = chief_model(model, self.strategy, self.out)
        if model is None:
            return None, history
        self.train_seconds = time.perf_counter() - self.started
        plot_history(history, self.out / "history.png")
        return model, history

    def timing(self):
        """`{"seconds": ..., "train_seconds": ...}` since `start` (train_seconds once fitted)."""
        timing = {"seconds": round(time.perf_counter() - self.started, 1)}
        if self.train_seconds is not None:
            timing["train_seconds"] = round(self.train_seconds, 1)
        return timing

    def per_training_second(self, count_per_epoch):
        """`count_per_epoch` (e.g. tokens) times the epochs trained, per second of training epochs.

        None when this process trained nothing (a finished run resumed).
        """
        if not self.timer.seconds:
            return None
        return round(self.timer.epochs * count_per_epoch / self.timer.seconds)

    def variants(self, model, metric, value, evaluate, higher_is_better=True):
        """`recipes.common.variants.weight_variants` in this run's folder: merge LoRA, gate int8/int4."""
        return weight_variants(self.cfg, self.out, model, metric, value, evaluate, higher_is_better)

    def save_model(self, model):
        """`out/model.keras`, written atomically."""
        return save_keras_model(model, self.out)

    def export(self, model, sample_inputs, **options):
        """Save `model.keras`, then export the SavedModel and TFLite files of `--quantize`.

        Args:
            model: the trained model (the chief's).
            sample_inputs: dict of NumPy inputs the exports are checked on.
            **options: more `zoo.export.export_run` arguments (`variants`,
                `representative_data`).

        Returns:
            `export_run`'s summary (paths, sizes, parity per export).

        Raises:
            ExportParityError: an export's outputs differ from Keras's.
        """
        self.save_model(model)
        return export_run(
            model,
            self.out,
            sample_inputs=sample_inputs,
            quantizations=quantizations(self.cfg),
            **options,
        )

    def write_json(self, name, content):
        """`out/NAME` (e.g. `metrics.json`, `generation.json`), written atomically."""
        atomic_write_json(self.out / name, content)

    def write_npz(self, name, **arrays):
        """`out/NAME` (e.g. `index.npz`): `arrays` by name, written atomically with `numpy.savez`."""
        with atomic_file(self.out / name) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays)


def save_keras_model(model, out):
    """`out/model.keras`, written atomically; returns its path."""
    path = pathlib.Path(out) / "model.keras"
    with atomic_file(path) as temporary:
        model.save(temporary)
    return path
