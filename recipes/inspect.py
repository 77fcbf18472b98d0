"""Draw what a trained model attends to: one heatmap PNG per attention layer, one panel per head.

    python -m recipes.inspect --model saved_models/translate/model.keras --text "Ein Hund läuft im Schnee."
    python -m recipes.inspect --model saved_models/sentiment/model.keras --text "a gripping, funny film"
    python -m recipes.inspect --model saved_models/vit/model.keras               # held-out images of its run
    python -m recipes.inspect --model saved_models/vit/model.keras --image shoe.png,bag.jpg

- Seq2SeqLM (translation, summarization): translates --text greedily, then
  draws encoder self-attention, decoder self-attention (zero above the
  diagonal: no peeking ahead) and cross-attention (which source tokens each
  target token looked at: a soft alignment).
- TextClassifier: encoder self-attention over the tokens of --text
  (padding dropped), and the predicted label.
- ImageClassifier (ViT): for --image files (any size, resized) or else the
  first --count held-out images of the run the model came from, the [CLS]
  token's attention over patches (`attention.png`) and each block's heads.

Writes into --out (default: `inspect/` beside the model): one PNG per layer
named after it (`encoder_0_self_attention.png`, `decoder_1_cross_attention.png`,
...), and `attention.json` (the tokens and the weights, as nested lists).
"""

import dataclasses
import json
import pathlib

import numpy as np

from zoo.attention_maps import (
    attention_maps,
    plot_attention_heads,
    plot_class_token_attention,
    token_strings,
    translation_attention,
)
from zoo.data.sources import DataError
from zoo.io import atomic_write_json
from zoo.models import ImageClassifier, Seq2SeqLM, TextClassifier
from zoo.training import parse_config
from zoo.training.cli import run_main

SUPPORTED = (Seq2SeqLM, TextClassifier, ImageClassifier)


@dataclasses.dataclass
class Config:
    model: str = dataclasses.field(default="", metadata={"help": "a model.keras file written by a recipe (required)"})
    text: str = dataclasses.field(default="", metadata={"help": "input text (text models)"})
    image: tuple[str, ...] = dataclasses.field(default=(), metadata={"help": "image files, comma-separated (ViT)"})
    count: int = dataclasses.field(
        default=4, metadata={"help": "held-out images of the model's run when --image is not given (ViT)"}
    )
    out: str = dataclasses.field(default="", metadata={"help": "output folder (default: inspect/ beside the model)"})

    def __post_init__(self):
        if not self.model:
            raise ValueError("--model is required: a model.keras file written by a recipe")
        if self.count <= 0:
            raise ValueError(f"--count must be positive. Received: {self.count}")


def load_model(path):
    import keras

    import zoo  # noqa: F401  (registers the zoo classes for deserialization)

    path = pathlib.Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"model file {path} does not exist; expected a model.keras written by a recipe")
    try:
        model = keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001  (any load failure is the same user error)
        raise DataError(f"cannot load {path} as a Keras model: {str(error).splitlines()[0][:200]}") from None
    if not isinstance(model, SUPPORTED):
        names = ", ".join(cls.__name__ for cls in SUPPORTED)
        raise DataError(f"recipes.inspect draws {names} models; {path} holds a {type(model).__name__}")
    return model


def _file_name(path):
    return path.replace("/", "_").replace("#", "_call") + ".png"


def _write_layers(maps, query_tokens, key_tokens_for, out, example=0):
    written = []
    for path, scores in maps.items():
        queries, keys = query_tokens(path), key_tokens_for(path)
        plot_attention_heads(scores[example], queries, keys, out / _file_name(path), title=path)
        written.append(_file_name(path))
    return written


def inspect_translation(model, cfg, out):
    if not cfg.text.strip():
        raise DataError("--text is required for a Seq2SeqLM: the sentence to translate")
    maps, tokens = translation_attention(model, cfg.text)
    print(f"source tokens: {' '.join(tokens['source'])}")
    print(f"translation:   {model.generate([cfg.text])[0]}")

    def queries(path):
        return tokens["source"] if path.startswith("encoder") else tokens["target"]

    def keys(path):
        return tokens["target"] if "decoder" in path and "cross" not in path else tokens["source"]

    return maps, tokens, _write_layers(maps, queries, keys, out)


def inspect_text_classifier(model, cfg, out):
    if not cfg.text.strip():
        raise DataError("--text is required for a TextClassifier: the text to classify")
    inputs = {name: np.asarray(value) for name, value in model.preprocess([cfg.text]).items()}
    maps = attention_maps(model, inputs)
    length = int(inputs["padding_mask"][0].sum())
    tokens = token_strings(model.preprocessor, inputs["token_ids"][0], inputs["padding_mask"][0])
    maps = {path: scores[:, :, :length, :length] for path, scores in maps.items()}
    print(f"tokens: {' '.join(tokens)}")
    print(f"label:  {model.classify([cfg.text])['labels'][0]}")
    return maps, {"tokens": tokens}, _write_layers(maps, lambda _: tokens, lambda _: tokens, out)


def _read_images(model, files):
    from zoo.data.image_folder import read_image_file

    return np.stack([read_image_file(pathlib.Path(name), model.image_size, model.num_channels) for name in files])


def _held_out_images(model, model_path, count):
    from zoo.data import load_image_dataset

    config_path = pathlib.Path(model_path).expanduser().parent / "config.json"
    if not config_path.is_file():
        raise DataError(
            f"no --image given and no config.json beside {model_path} to find held-out images; pass --image FILE"
        )
    run = json.loads(config_path.read_text())
    _, test = load_image_dataset(
        run["data"], test_fraction=run.get("test_fraction", 0.2), seed=run.get("seed", 0), image_size=model.image_size
    )
    return test.images[:count], [test.class_names[label] for label in test.labels[:count]]


def inspect_vit(model, cfg, out):
    if cfg.image:
        images, truths = _read_images(model, cfg.image), [pathlib.Path(name).name for name in cfg.image]
    else:
        images, truths = _held_out_images(model, cfg.model, cfg.count)
    labels = model.classify(images)["labels"]
    titles = [f"{truth} -> {label}" for truth, label in zip(truths, labels)]
    for title in titles:
        print(f"image: {title}")
    written = []
    if model.pooling == "class_token":
        plot_class_token_attention(model, images, out / "attention.png", titles=titles)
        written.append("attention.png")
    maps = attention_maps(model, images)
    patches = [f"p{index}" for index in range(maps[next(iter(maps))].shape[-1])]
    if model.pooling == "class_token":
        patches = ["CLS"] + patches[:-1]
    written += _write_layers(maps, lambda _: patches, lambda _: patches, out)
    return maps, {"images": titles, "tokens": patches}, written


def main(argv=None):
    cfg = parse_config(Config, argv, description=__doc__.split("\n")[0], prog="python -m recipes.inspect")
    model = load_model(cfg.model)
    out = pathlib.Path(cfg.out) if cfg.out else pathlib.Path(cfg.model).expanduser().parent / "inspect"
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model, Seq2SeqLM):
        maps, tokens, written = inspect_translation(model, cfg, out)
    elif isinstance(model, TextClassifier):
        maps, tokens, written = inspect_text_classifier(model, cfg, out)
    else:
        maps, tokens, written = inspect_vit(model, cfg, out)
    atomic_write_json(
        out / "attention.json",
        {
            "model": str(cfg.model),
            "text": cfg.text,
            **tokens,
            "layers": {path: np.round(scores[0], 5).tolist() for path, scores in maps.items()},
        },
    )
    print(f"wrote {len(written)} PNG files and attention.json into {out}", flush=True)
    return {"out": str(out), "files": written, "layers": list(maps)}


if __name__ == "__main__":
    run_main(main)
