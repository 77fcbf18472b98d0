"""The runs `recipes.compress` can compress: each recipe's model, data and metric, and a tiny one.

A run is the folder a recipe wrote: `model.keras`, `config.json` (to rebuild the recipe's own
data: the same held-out split, through the recipe's loading functions) and `metrics.json`.
"""

import dataclasses
import json
import pathlib

import keras
import numpy as np

from zoo.data import DataError


class UnsupportedModelError(DataError):
    """--model is not a run this recipe knows how to evaluate (one-line error)."""


class SentimentRun:
    """A `TextClassifier` trained by `recipes.sentiment`: accuracy on the recipe's held-out split."""

    metric_name, variant, run_metric_key, tolerance = "accuracy", "token_ids", "accuracy", 0.005

    def __init__(self, run_cfg, model, eval_examples):
        from recipes import sentiment

        self.recipe, self.cfg, self.model = sentiment, run_cfg, model
        self.train, self.test = sentiment.load_data(run_cfg)
        if eval_examples:
            self.test = self.test.subset(np.arange(min(eval_examples, len(self.test))))
        self.preprocessor = model.preprocessor
        self.inputs = {name: value.numpy() for name, value in self.preprocessor(self.test.texts).items()}

    def evaluate(self, model):
        class_ids = model.classify(self.test.texts)["class_ids"]
        return float(np.mean(np.asarray(class_ids) == np.asarray(self.test.labels)))

    def sample_inputs(self):
        return {name: value[:8] for name, value in self.inputs.items()}

    def train_batches(self):
        from zoo.data.pipelines import text_batches

        return text_batches(
            self.train,
            self.preprocessor,
            self.cfg.batch_size,
            shuffle=True,
            seed=self.cfg.seed,
            token_dropout=self.cfg.token_dropout,
        )

    def loss_and_metrics(self):
        return {"loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}


class TranslateRun:
    """A `Seq2SeqLM` trained by `recipes.translate`: greedy sacreBLEU on the recipe's held-out sources."""

    metric_name, variant, run_metric_key, tolerance = "BLEU", "generate", "bleu", 0.5

    def __init__(self, run_cfg, model, eval_examples):
        from recipes import seq2seq_data, translate
        from recipes.seq2seq_evaluate import generate_all, group_references

        self.generate_all, self.task, self.cfg, self.model = generate_all, translate.TASK, run_cfg, model
        self.data = seq2seq_data
        self.train, test = seq2seq_data.load_data(run_cfg)
        self.sources, self.references = group_references(test)
        if eval_examples:
            self.sources, self.references = self.sources[:eval_examples], self.references[:eval_examples]
        self.inputs = {"text": np.array(self.sources, dtype=object)}

    def evaluate(self, model):
        hypotheses, _ = self.generate_all(model, self.sources, self.cfg.num_beams)
        return float(self.task.evaluate(hypotheses, self.sources, self.references)["bleu"])

    def sample_inputs(self):
        return {"text": self.inputs["text"][:8]}

    def train_batches(self):
        model = self.model
        from zoo.data.pipelines import pair_batches

        train = self.data.drop_overlong(self.train, model.source_preprocessor, model.target_preprocessor)
        return pair_batches(
            train,
            model.source_preprocessor,
            model.target_preprocessor,
            self.cfg.batch_size,
            shuffle=True,
            seed=self.cfg.seed,
        )

    def loss_and_metrics(self):
        from zoo.training import SparseCategoricalCrossentropyWithSmoothing

        return {"loss": SparseCategoricalCrossentropyWithSmoothing(self.cfg.label_smoothing)}


RUNS = {"TextClassifier": ("sentiment", SentimentRun), "Seq2SeqLM": ("translate", TranslateRun)}


def load_run(cfg):
    """The trained model, its run config (the recipe's `Config`) and a `*Run` evaluator."""
    path = pathlib.Path(cfg.model)
    if not path.is_file():
        raise FileNotFoundError(f"--model {cfg.model}: no such file; expected RUN_DIR/model.keras of a recipe run")
    if path.suffix != ".keras":
        raise UnsupportedModelError(f"--model {cfg.model}: expected a .keras file written by a recipe (model.keras)")
    config_path = path.parent / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path}: no such file; --model must sit in its recipe's run folder")
    import zoo.models  # noqa: F401  (registers the task models)

    try:
        model = keras.saving.load_model(path)
    except Exception as error:  # a corrupt or foreign file: say which, in one line
        message = " ".join(str(error).split())[:200]
        raise UnsupportedModelError(f"--model {cfg.model}: cannot load it as a Keras model ({message})") from None
    kind = type(model).__name__
    if kind not in RUNS:
        supported = ", ".join(f"{name} (recipes.{recipe})" for name, (recipe, _) in RUNS.items())
        raise UnsupportedModelError(f"--model {cfg.model} is a {kind}; supported: {supported}")
    recipe_name, run_class = RUNS[kind]
    recipe = __import__(f"recipes.{recipe_name}", fromlist=["Config"])
    values = json.loads(config_path.read_text())
    fields = {field.name for field in dataclasses.fields(recipe.Config)}
    run_cfg = recipe.Config(**{key: value for key, value in values.items() if key in fields})
    if cfg.data:
        run_cfg = dataclasses.replace(run_cfg, data=cfg.data)
    metrics_path = path.parent / "metrics.json"
    run_metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return model, run_cfg, run_metrics, run_class(run_cfg, model, cfg.eval_examples)


SMOKE_REVIEWS = {
    "pos": [
        "a gorgeous , witty film",
        "warm and funny",
        "a moving , beautiful story",
        "great acting and a sharp script",
    ],
    "neg": [
        "a dull , lifeless mess",
        "boring and far too long",
        "the plot makes no sense",
        "flat jokes and bad acting",
    ],
}


def smoke_run(run_dir):
    """`recipes.sentiment --smoke` (float32 TFLite only) on a tiny TSV of short reviews; returns its model.keras."""
    from recipes import sentiment

    run_dir.mkdir(parents=True, exist_ok=True)
    data = run_dir / "reviews.tsv"
    lines = [f"{text} {i}\t{label}" for i in range(30) for label, texts in SMOKE_REVIEWS.items() for text in texts]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sentiment.main(["--smoke", "--data", f"tsv:{data}", "--quantize", "float32", "--out", str(run_dir)])
    return run_dir / "model.keras"
