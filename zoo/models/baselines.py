"""LSTM and CNN counterparts of the Transformer classifiers, for comparisons.

`LSTMClassifier` and `CNNClassifier` take what `TextClassifier` takes
(`{"token_ids", "padding_mask"}`, or raw strings with a preprocessor) and
`CNNImageClassifier` what `ImageClassifier` takes (raw pixels), so a recipe
trains, evaluates and exports either with the same code.
"""

import keras
from keras import ops

from zoo.layers import MaskedMaxPooling, MaskedMeanPooling
from zoo.models.base import Task
from zoo.models.image_classifier import ImageClassifierMixin, size_pair
from zoo.models.task import check_dropout, check_positive_integers, checked_class_names, preset_config
from zoo.models.text_classifier import TextClassifierMixin
from zoo.models.text_encoder import check_preprocessor

LSTM_POOLINGS = ("last", "mean", "max")


@keras.saving.register_keras_serializable(package="zoo")
class LSTMClassifier(TextClassifierMixin, Task):
    """(Bi)LSTM text classifier: token embedding -> LSTM stack -> pooled vector -> logits.

    `token_ids` + `padding_mask` `(B, sequence_length)` -> token embedding
    `(B, T, hidden_dim)` -> `num_layers` LSTMs, each given the padding mask
    (padded steps are skipped: the state carries over them) -> a pooled
    vector -> dropout -> logits `(B, num_classes)`. Changing the token ids
    at padded positions leaves the logits unchanged.

    Pooling: `"last"` (default) is the final state, at the last real token
    of each text; bidirectional, the concatenation of the forward final
    state and the backward one (which ends at the first token). `"mean"` and
    `"max"` pool the last layer's outputs over the real tokens.

    The LSTMs are unrolled over the fixed `sequence_length`: TFLite cannot
    convert Keras' symbolic loop (its `TensorListReserve` needs a static
    batch size), while the unrolled graph converts to plain builtin ops and
    takes any batch size. Unrolling suits short texts (tens to a few
    hundred tokens); it costs a slower first trace and ~30% slower training
    steps on a CPU at 64 tokens.

    Args:
        vocabulary_size: int.
        num_classes: int >= 2.
        sequence_length: int, tokens per example (incl. `[CLS]`/`[SEP]`).
        hidden_dim: int, width of the token embedding.
        lstm_units: int, units of each LSTM (per direction).
        num_layers: int, stacked LSTMs.
        bidirectional: bool, a forward and a backward LSTM per layer.
        dropout: float, after the embedding, between LSTM layers and
            before the head.
        pooling: `"last"`, `"mean"` or `"max"` (see above).
        class_names: list of `num_classes` names.
        preprocessor: optional `TextPreprocessor` turning strings into inputs.

    Example:
    >>> model = LSTMClassifier.from_preset("small", vocabulary=vocabulary, bidirectional=True,
    ...                                    class_names=["negative", "positive"])
    >>> model.classify(["a gorgeous, witty film"])["labels"]
    """

    preset_family = "lstm_classifier"

    layer_arguments = ("preprocessor",)

    def __init__(
        self,
        vocabulary_size,
        num_classes,
        sequence_length,
        hidden_dim=128,
        lstm_units=128,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        pooling="last",
        class_names=None,
        preprocessor=None,
        **kwargs,
    ):
        check_positive_integers(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            hidden_dim=hidden_dim,
            lstm_units=lstm_units,
            num_layers=num_layers,
        )
        check_dropout(dropout)
        if pooling not in LSTM_POOLINGS:
            raise ValueError(f"pooling must be one of {LSTM_POOLINGS}. Received: pooling={pooling!r}")
        class_names = checked_class_names(num_classes, class_names)

        # === Functional graph ===
        token_ids, padding_mask, x = _embedded_tokens(vocabulary_size, sequence_length, hidden_dim, preprocessor)
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)  # (B, T, E)
        mask = ops.cast(padding_mask, "bool")
        for index in range(num_layers):
            last = index == num_layers - 1
            lstm = keras.layers.LSTM(
                lstm_units, return_sequences=not last or pooling != "last", unroll=True, name=f"lstm_{index}"
            )
            if bidirectional:
                lstm = keras.layers.Bidirectional(lstm, name=f"bidirectional_{index}")
            x = lstm(x, mask=mask)  # (B, T, U * directions); (B, U * directions) for the final state
            if not last:
                x = keras.layers.Dropout(dropout, name=f"lstm_dropout_{index}")(x)
        if pooling == "mean":
            x = MaskedMeanPooling(name="mean_pool")(x, padding_mask=padding_mask)
        elif pooling == "max":
            x = MaskedMaxPooling(name="max_pool")(x, padding_mask=padding_mask)
        logits = _classification_head(x, num_classes, dropout)
        super().__init__(inputs={"token_ids": token_ids, "padding_mask": padding_mask}, outputs=logits, **kwargs)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_classes = num_classes
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.lstm_units = lstm_units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        self.class_names = class_names
        self.preprocessor = preprocessor


@keras.saving.register_keras_serializable(package="zoo")
class CNNClassifier(TextClassifierMixin, Task):
    """Convolutional text classifier (Kim 2014): parallel 1-D convolutions, max over time, logits.

    `token_ids` + `padding_mask` `(B, sequence_length)` -> token embedding
    `(B, T, hidden_dim)`, zeroed at padded positions -> one `Conv1D(filters,
    k, padding="same", relu)` per `k` in `kernel_sizes` -> the max of each
    filter over the real tokens -> concatenation `(B, filters *
    len(kernel_sizes))` -> dropout -> logits `(B, num_classes)`.

    Zeroing the padded embeddings makes them the zeros that `"same"`
    padding puts outside the sequence, so the features at real positions do
    not depend on what the padded positions hold, and texts shorter than a
    kernel still have a feature at every token. The max runs over real
    positions only (`MaskedMaxPooling`): padding never wins it.

    Args:
        vocabulary_size: int.
        num_classes: int >= 2.
        sequence_length: int, tokens per example (incl. `[CLS]`/`[SEP]`).
        hidden_dim: int, width of the token embedding.
        filters: int, feature maps per kernel size.
        kernel_sizes: distinct positive ints, the window widths (in tokens).
        dropout: float, before the head (Kim: 0.5).
        class_names: list of `num_classes` names.
        preprocessor: optional `TextPreprocessor` turning strings into inputs.

    Example:
    >>> model = CNNClassifier.from_preset("small", vocabulary=vocabulary, class_names=["negative", "positive"])
    >>> model.classify(["a gorgeous, witty film"])["labels"]
    """

    preset_family = "cnn_classifier"

    layer_arguments = ("preprocessor",)

    def __init__(
        self,
        vocabulary_size,
        num_classes,
        sequence_length,
        hidden_dim=128,
        filters=100,
        kernel_sizes=(3, 4, 5),
        dropout=0.5,
        class_names=None,
        preprocessor=None,
        **kwargs,
    ):
        check_positive_integers(
            vocabulary_size=vocabulary_size, sequence_length=sequence_length, hidden_dim=hidden_dim, filters=filters
        )
        kernel_sizes = _positive_integer_tuple("kernel_sizes", kernel_sizes)
        if len(set(kernel_sizes)) != len(kernel_sizes):
            raise ValueError(f"kernel_sizes must be distinct. Received: kernel_sizes={kernel_sizes!r}")
        check_dropout(dropout)
        class_names = checked_class_names(num_classes, class_names)

        # === Functional graph ===
        token_ids, padding_mask, x = _embedded_tokens(vocabulary_size, sequence_length, hidden_dim, preprocessor)
        x = x * ops.expand_dims(ops.cast(padding_mask, x.dtype), -1)  # (B, T, E), zeros at padded positions
        pooled = []
        for size in kernel_sizes:
            features = keras.layers.Conv1D(filters, size, padding="same", activation="relu", name=f"conv_{size}")(
                x
            )  # (B, T, F)
            pooled.append(MaskedMaxPooling(name=f"max_pool_{size}")(features, padding_mask=padding_mask))  # (B, F)
        x = keras.layers.Concatenate(name="concatenate")(pooled) if len(pooled) > 1 else pooled[0]
        logits = _classification_head(x, num_classes, dropout)
        super().__init__(inputs={"token_ids": token_ids, "padding_mask": padding_mask}, outputs=logits, **kwargs)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_classes = num_classes
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.dropout = dropout
        self.class_names = class_names
        self.preprocessor = preprocessor


@keras.saving.register_keras_serializable(package="zoo")
class CNNImageClassifier(ImageClassifierMixin, Task):
    """Small VGG-style convolutional image classifier, the counterpart of the ViT `ImageClassifier`.

    Raw pixels `(B, height, width, num_channels)` (0..255, uint8 or float)
    -> multiplied by `pixel_scale` inside the graph -> per entry of
    `filters`, a stage of two `3x3 conv (no bias) -> batch norm -> ReLU`
    and a 2x2 max pooling (halving height and width) -> global average
    pooling -> dropout -> logits `(B, num_classes)`. Only builtin TFLite ops,
    and full-integer (int8) friendly: batch norm folds into the
    convolutions at conversion. Batch norm momentum is 0.9, so its moving
    statistics settle within a few epochs of a small data set.

    Args:
        image_size: int or `(height, width)`; each side at least
            `2 ** len(filters)` pixels.
        num_classes: int.
        num_channels: int, 1 for grayscale, 3 for RGB.
        filters: positive ints, the convolution width of each stage.
        dropout: float, before the head.
        pixel_scale: float, multiplies raw pixels (1/255 maps 0..255 to 0..1).
        class_names: list of `num_classes` names; defaults to `"0"`, `"1"`, ...

    Example:
    >>> model = CNNImageClassifier.from_preset("mnist")
    >>> model.classify(np.zeros((2, 28, 28, 1), "uint8"))["labels"]
    """

    def __init__(
        self,
        image_size,
        num_classes,
        num_channels=3,
        filters=(32, 64, 128),
        dropout=0.0,
        pixel_scale=1.0 / 255.0,
        class_names=None,
        **kwargs,
    ):
        height, width = size_pair("image_size", image_size)
        check_positive_integers(num_channels=num_channels)
        filters = _positive_integer_tuple("filters", filters)
        if min(height, width) < 2 ** len(filters):
            raise ValueError(
                f"image_size is too small for {len(filters)} stages of 2x2 max pooling: each side needs at least "
                f"{2 ** len(filters)} pixels. Received: image_size={image_size!r}, filters={filters!r}"
            )
        check_dropout(dropout)
        class_names = checked_class_names(num_classes, class_names)

        # === Functional graph ===
        images = keras.Input(shape=(height, width, num_channels), name="images")
        x = keras.layers.Rescaling(pixel_scale, name="rescaling")(images)
        for stage, channels in enumerate(filters):
            for index in range(2):
                name = f"stage_{stage}_{index}"
                x = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
                x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_norm")(x)
                x = keras.layers.ReLU(name=f"{name}_relu")(x)
            x = keras.layers.MaxPooling2D(2, name=f"stage_{stage}_pool")(x)  # (B, H / 2^(stage+1), ..., channels)
        x = keras.layers.GlobalAveragePooling2D(name="average_pool")(x)  # (B, filters[-1])
        logits = _classification_head(x, num_classes, dropout)
        super().__init__(inputs=images, outputs=logits, **kwargs)

        # === Config ===
        self.image_size = (height, width)
        self.num_classes = num_classes
        self.num_channels = num_channels
        self.filters = filters
        self.dropout = dropout
        self.pixel_scale = pixel_scale
        self.class_names = class_names

    @classmethod
    def from_preset(cls, name, **overrides):
        """Build from a named preset (see `zoo.models.presets`), with overrides."""
        return cls(**preset_config(cls, "cnn_image_classifier", name, overrides))


def _embedded_tokens(vocabulary_size, sequence_length, hidden_dim, preprocessor):
    """Inputs `token_ids`, `padding_mask` `(B, T)` and the token embeddings `(B, T, hidden_dim)`.

    Checks first that `preprocessor` (if any) produces what the model takes.
    """
    if preprocessor is not None:
        check_preprocessor(preprocessor, vocabulary_size, sequence_length)
    token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((sequence_length,), dtype="int32", name="padding_mask")
    embedded = keras.layers.Embedding(vocabulary_size, hidden_dim, name="token_embedding")(token_ids)
    return token_ids, padding_mask, embedded


def _classification_head(pooled, num_classes, dropout):
    pooled = keras.layers.Dropout(dropout, name="head_dropout")(pooled)
    return keras.layers.Dense(num_classes, name="logits")(pooled)  # (B, num_classes)


def _positive_integer_tuple(name, values):
    values = (values,) if isinstance(values, int) else tuple(values)
    if not values or any(isinstance(value, bool) or not isinstance(value, int) or value < 1 for value in values):
        raise ValueError(f"{name} must be a non-empty sequence of positive integers. Received: {name}={values!r}")
    return values


# The recurrent counterparts of Seq2SeqLM and CausalLM live in their own modules; listed here with the other baselines.
from zoo.models.lstm_lm import LSTMLanguageModel  # noqa: E402, F401
from zoo.models.lstm_seq2seq import LSTMSeq2Seq  # noqa: E402, F401
