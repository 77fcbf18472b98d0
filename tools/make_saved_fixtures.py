"""Write the saved-model fixtures: one tiny `.keras` file per task model, with its expected outputs.

The fixtures pin what `.keras` files written by earlier zoo code must keep
doing after a refactor: load, give the same outputs and the same
generations. `tests/models/test_saved_fixtures.py` loads every file listed in
`tests/models/fixtures/saved/manifest.json` and compares.

Run once, from the code whose files must keep loading (the fixtures in the
repository were written by commit 86fb390, before the backbone/task refactor):

    KERAS_BACKEND=tensorflow python tools/make_saved_fixtures.py tests/models/fixtures/saved

Every weight is perturbed away from its initializer (biases and layer-norm
scales included), so a loader that dropped or swapped one would be caught.
"""

import json
import pathlib
import sys

import keras
import numpy as np

import zoo  # noqa: F401  (registers the zoo classes)
from zoo.compress import factorize
from zoo.models import (
    CausalLM,
    CNNClassifier,
    CNNImageClassifier,
    ImageClassifier,
    LSTMClassifier,
    LSTMLanguageModel,
    LSTMSeq2Seq,
    QuestionAnswerer,
    Seq2SeqLM,
    TextClassifier,
    TextEmbedder,
)
from zoo.models.presets import get_preset
from zoo.tokenizers import SPECIAL_TOKENS, CharacterPreprocessor, TextPreprocessor, train_sentencepiece

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from saved_fixture_outputs import outputs_of, plain  # noqa: E402

WORDS = (
    "to be or not that is the question whether tis nobler in mind suffer slings arrows "
    "of outrageous fortune file could open save the a an it was good bad film movie"
).split()
VOCABULARY = list(SPECIAL_TOKENS) + sorted(set(WORDS))
TEXTS = ["to be or not to be", "that is the question", "a good film", "whether tis nobler in the mind"]
SOURCES = ["could not open file", "save the file", "it was good"]
QUESTIONS = ["what is the question", "what was good"]
CONTEXTS = ["to be or not to be that is the question", "the film was good and the movie was bad"]


def perturb(model, seed):
    """Add noise to every weight (so zero biases and unit norm scales become distinct values)."""
    rng = np.random.default_rng(seed)
    values = []
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        if not np.issubdtype(value.dtype, np.floating):
            values.append(value)
            continue
        values.append((value + rng.normal(0.0, 0.3, value.shape)).astype(value.dtype))
    model.set_weights(values)
    return model


def ids_of(model, texts, preprocessor):
    inputs = preprocessor(texts)
    return {name: keras.ops.convert_to_numpy(value) for name, value in inputs.items()}


def text_classifier_cases():
    classifier = TextClassifier.from_preset(
        "tiny", vocabulary=VOCABULARY, num_classes=3, class_names=["neg", "neu", "pos"]
    )
    low_rank = TextClassifier.from_preset(
        "tiny",
        vocabulary=VOCABULARY,
        num_classes=2,
        projection_rank=4,
        ffn_rank={"intermediate": 4},
        embedding_rank=8,
    )
    for name, model in (("text_classifier", classifier), ("text_classifier_low_rank", low_rank)):
        inputs = ids_of(model, TEXTS, model.preprocessor)
        yield (
            name,
            perturb(model, 1),
            {
                "ids": {"call": inputs},
                "classify": {"texts": TEXTS},
            },
        )


def other_encoder_cases():
    embedder = TextEmbedder.from_preset("tiny", vocabulary=VOCABULARY)
    yield (
        "text_embedder",
        perturb(embedder, 2),
        {
            "ids": {"call": ids_of(embedder, TEXTS, embedder.preprocessor)},
            "embed": {"texts": TEXTS},
        },
    )
    answerer = QuestionAnswerer.from_preset("tiny", vocabulary=VOCABULARY)
    yield (
        "question_answerer",
        perturb(answerer, 3),
        {
            "answer": {"questions": QUESTIONS, "contexts": CONTEXTS},
        },
    )
    images = np.random.default_rng(4).integers(0, 256, size=(3, 8, 8, 1)).astype("uint8")
    vit = ImageClassifier.from_preset("tiny")
    yield (
        "image_classifier",
        perturb(vit, 4),
        {
            "ids": {"call": images.astype("float32")},
            "classify_images": {"images": images.tolist()},
        },
    )
    cnn_images = CNNImageClassifier.from_preset("tiny")
    yield (
        "cnn_image_classifier",
        perturb(cnn_images, 5),
        {
            "ids": {"call": images.astype("float32")},
            "classify_images": {"images": images.tolist()},
        },
    )
    preprocessor = TextPreprocessor(VOCABULARY, sequence_length=32)
    for name, model_class, family in (
        ("lstm_classifier", LSTMClassifier, "lstm_classifier"),
        ("cnn_classifier", CNNClassifier, "cnn_classifier"),
    ):
        config = get_preset(family, "tiny")
        model = model_class(
            vocabulary_size=preprocessor.vocabulary_size, num_classes=2, preprocessor=preprocessor, **config
        )
        yield (
            name,
            perturb(model, 6),
            {
                "ids": {"call": ids_of(model, TEXTS, preprocessor)},
                "classify": {"texts": TEXTS},
            },
        )


def generative_cases():
    source = TextPreprocessor(VOCABULARY, sequence_length=16)
    target = TextPreprocessor(VOCABULARY, sequence_length=17)
    greedy = [
        {"inputs": SOURCES, "max_length": 12},
        {"inputs": SOURCES[:1], "max_length": 10, "sampler": "beam", "num_beams": 3},
        {"inputs": SOURCES, "max_length": 10, "sampler": "top_k", "k": 4, "seed": 7},
    ]
    for name, model_class in (("seq2seq", Seq2SeqLM), ("lstm_seq2seq", LSTMSeq2Seq)):
        model = perturb(model_class.from_preset("tiny", source_preprocessor=source, target_preprocessor=target), 7)
        encoder = ids_of(model, SOURCES, source)
        decoder_ids = np.tile(np.arange(4, 12, dtype="int32"), (len(SOURCES), 1))
        call = {
            "encoder_token_ids": encoder["token_ids"],
            "encoder_padding_mask": encoder["padding_mask"],
            "decoder_token_ids": decoder_ids,
            "decoder_padding_mask": np.ones_like(decoder_ids),
        }
        yield name, model, {"ids": {"call": call}, "generate": greedy}

    sentencepiece = train_sentencepiece(TEXTS * 20 + SOURCES * 20 + CONTEXTS * 20, vocabulary_size=40)
    piece_source = TextPreprocessor(sentencepiece_model=sentencepiece, sequence_length=16)
    piece_target = TextPreprocessor(sentencepiece_model=sentencepiece, sequence_length=17)
    model = perturb(
        Seq2SeqLM.from_preset("tiny", source_preprocessor=piece_source, target_preprocessor=piece_target), 8
    )
    yield "seq2seq_sentencepiece", model, {"generate": greedy[:1]}

    prompts = ["to be or not", "that is", "whether tis nobler in the"]
    sampled = [
        {"inputs": prompts, "max_length": 14},
        {"inputs": prompts, "max_length": 14, "strip_prompt": True},
        {"inputs": prompts[:1], "max_length": 12, "sampler": "beam", "num_beams": 3},
        {"inputs": prompts, "max_length": 14, "sampler": "top_p", "p": 0.9, "seed": 3},
    ]
    words = TextPreprocessor(VOCABULARY, sequence_length=8)
    for preset in ("tiny", "tiny_rotary"):
        model = perturb(CausalLM.from_preset(preset, preprocessor=words), 9)
        ids = np.random.default_rng(9).integers(4, model.vocabulary_size, size=(2, 10)).astype("int32")
        yield (
            f"causal_lm_{preset}",
            model,
            {
                "ids": {"call": {"token_ids": ids, "padding_mask": np.ones_like(ids)}},
                "generate": sampled,
            },
        )
    gqa = perturb(
        CausalLM.from_preset(
            "tiny_rotary", preprocessor=words, num_heads=4, num_key_value_heads=2, activation="swiglu"
        ),
        10,
    )
    yield "causal_lm_gqa_swiglu", gqa, {"generate": sampled[:1]}

    characters = CharacterPreprocessor(list(SPECIAL_TOKENS) + list(" abcdefghijklmnopqrstuvwxyz,."), 32)
    model = perturb(CausalLM.from_preset("tiny", preprocessor=characters, embedding_rank=8), 11)
    yield "causal_lm_characters", model, {"generate": [{"inputs": ["to be, or"], "max_length": 24}]}
    factorized, _ = factorize(model, rank=4, include="*")
    yield "causal_lm_factorized", factorized, {"generate": [{"inputs": ["to be, or"], "max_length": 24}]}

    lstm_lm = perturb(LSTMLanguageModel.from_preset("tiny", vocabulary_size=40), 12)
    ids = np.random.default_rng(12).integers(4, 40, size=(2, 10)).astype("int32")
    yield "lstm_language_model", lstm_lm, {"ids": {"call": {"token_ids": ids, "padding_mask": np.ones_like(ids)}}}


def main(argv):
    out = pathlib.Path(argv[0] if argv else "tests/models/fixtures/saved")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for cases in (text_classifier_cases, other_encoder_cases, generative_cases):
        for name, model, case in cases():
            keras.utils.set_random_seed(0)
            path = out / f"{name}.keras"
            model.save(path)
            expected = outputs_of(model, case)
            manifest[name] = {
                "class": type(model).__name__,
                "case": json.loads(json.dumps(case, default=plain)),
                "expected": expected,
            }
            print(f"{name}: {type(model).__name__}, {path.stat().st_size / 1024:.0f} KiB, {sorted(expected)}")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
