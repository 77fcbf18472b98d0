"""Models of each architecture at a given width, and widths that match a parameter budget."""

ARCHITECTURES = ("transformer", "lstm", "bilstm", "cnn")
LANGUAGE_MODELS = ("transformer", "lstm")


def width_step(architecture):
    """Widths are multiples of 4 for the Transformer (its 4 heads divide them), any integer otherwise."""
    return 4 if architecture == "transformer" else 1


def build_classifier(architecture, width, *, vocabulary_size, sequence_length, num_classes, num_layers=2):
    """A sequence classifier of `architecture` whose size grows with `width`.

    - `"transformer"`: `num_layers` pre-LN encoder blocks of width `width`,
      4 heads, feed-forward `2 * width`, `[CLS]`-token pooling.
    - `"lstm"` / `"bilstm"`: `num_layers` (bidirectional) LSTMs of `width`
      units over `width`-wide embeddings.
    - `"cnn"`: Kim (2014): `width` filters of widths 3, 4, 5 over
      `width`-wide embeddings, max-over-time pooling.
    """
    from zoo.models import CNNClassifier, LSTMClassifier, TextClassifier

    common = dict(vocabulary_size=vocabulary_size, sequence_length=sequence_length, num_classes=num_classes)
    if architecture == "transformer":
        return TextClassifier(
            **common,
            hidden_dim=width,
            num_layers=num_layers,
            num_heads=4,
            intermediate_dim=2 * width,
            normalize_first=True,
            pooling="class_token",
        )
    if architecture in ("lstm", "bilstm"):
        return LSTMClassifier(
            **common,
            hidden_dim=width,
            lstm_units=width,
            num_layers=num_layers,
            bidirectional=architecture == "bilstm",
        )
    if architecture == "cnn":
        return CNNClassifier(**common, hidden_dim=width, filters=width, kernel_sizes=(3, 4, 5), dropout=0.0)
    raise ValueError(f"unknown architecture {architecture!r}; expected one of {ARCHITECTURES}")


def build_language_model(architecture, width, *, vocabulary_size, sequence_length, num_layers=2):
    """A next-token model: `CausalLM` (`"transformer"`: 4 heads, feed-forward `4 * width`) or
    `LSTMLanguageModel` (`"lstm"`: `num_layers` LSTMs of `width` units), no dropout."""
    from zoo.models import CausalLM
    from zoo.models.lstm_lm import LSTMLanguageModel

    if architecture == "transformer":
        return CausalLM(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            hidden_dim=width,
            num_layers=num_layers,
            num_heads=4,
            intermediate_dim=4 * width,
            dropout=0.0,
        )
    if architecture == "lstm":
        return LSTMLanguageModel(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            hidden_dim=width,
            lstm_units=width,
            num_layers=num_layers,
        )
    raise ValueError(f"unknown language-model architecture {architecture!r}; expected one of {LANGUAGE_MODELS}")


def matched_width(build, budget, *, step=1, largest=2048):
    """The width (a multiple of `step`) whose model `build(width)` has the parameter count closest to `budget`.

    Parameter counts grow with width, so a binary search needs about
    `log2(largest / step)` builds.

    Returns:
        `(width, parameters)`.
    """
    if budget <= 0:
        raise ValueError(f"budget must be a positive parameter count. Received: budget={budget}")
    counts = {}

    def parameters(width):
        if width not in counts:
            counts[width] = build(width).count_params()
        return counts[width]

    low, high = 1, largest // step  # in units of step
    while low < high:
        middle = (low + high) // 2
        if parameters(middle * step) < budget:
            low = middle + 1
        else:
            high = middle
    candidates = [w * step for w in (low - 1, low) if w >= 1]
    width = min(candidates, key=lambda w: abs(parameters(w) - budget))
    return width, parameters(width)


def matched_widths(architectures, budget, *, vocabulary_size, sequence_length, num_classes, num_layers=2):
    """`{architecture: width}` whose classifiers' parameter counts are as close to `budget` as the widths allow."""
    widths = {}
    for architecture in architectures:

        def build(width, architecture=architecture):
            return build_classifier(
                architecture,
                width,
                vocabulary_size=vocabulary_size,
                sequence_length=sequence_length,
                num_classes=num_classes,
                num_layers=num_layers,
            )

        widths[architecture], _ = matched_width(build, budget, step=width_step(architecture))
    return widths


def matched_classifiers(architectures, budget, *, vocabulary_size, sequence_length, num_classes, num_layers=2):
    """`{architecture: (model, width)}`: the classifiers of `matched_widths`."""
    shape = dict(
        vocabulary_size=vocabulary_size, sequence_length=sequence_length, num_classes=num_classes, num_layers=num_layers
    )
    widths = matched_widths(architectures, budget, **shape)
    return {
        architecture: (build_classifier(architecture, width, **shape), width) for architecture, width in widths.items()
    }
