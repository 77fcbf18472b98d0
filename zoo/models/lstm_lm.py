"""LSTM language model: the recurrent counterpart of `CausalLM` for scaling comparisons."""

import keras

from zoo.models.base import Task
from zoo.models.task import check_positive_integers, preset_config


@keras.saving.register_keras_serializable(package="zoo")
class LSTMLanguageModel(Task):
    """Next-token LSTM: token embedding -> `num_layers` LSTMs -> vocabulary logits.

    Takes the inputs of `CausalLM` (`token_ids`, `padding_mask` `(B, T)`,
    right-padded) and returns next-token logits `(B, T, vocabulary_size)`,
    so the same `zoo.data.pipelines.lm_batches`, loss and evaluation train
    both. It is causal by construction: position `t` sees tokens `0..t` only.

    Args:
        vocabulary_size: int.
        sequence_length: int, positions per example (used by presets and
            reports; the model takes any length).
        hidden_dim: int, embedding width.
        lstm_units: int, state width of every LSTM layer.
        num_layers: int >= 1.
        dropout: float, after the embedding and between layers.

    Example:
    >>> model = LSTMLanguageModel(vocabulary_size=80, sequence_length=128, lstm_units=256)
    >>> logits = model({"token_ids": ids, "padding_mask": mask})   # (B, 128, 80)
    """

    def __init__(
        self, vocabulary_size, sequence_length, hidden_dim=128, lstm_units=256, num_layers=2, dropout=0.0, **kwargs
    ):
        check_positive_integers(
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
            hidden_dim=hidden_dim,
            lstm_units=lstm_units,
            num_layers=num_layers,
        )
        token_ids = keras.Input((None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")
        mask = keras.ops.cast(padding_mask, "bool")
        x = keras.layers.Embedding(vocabulary_size, hidden_dim, name="token_embedding")(token_ids)  # (B, T, E)
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
        for index in range(num_layers):
            x = keras.layers.LSTM(lstm_units, return_sequences=True, name=f"lstm_{index}")(x, mask=mask)  # (B, T, U)
            x = keras.layers.Dropout(dropout, name=f"lstm_{index}_dropout")(x)
        logits = keras.layers.Dense(vocabulary_size, name="lm_head")(x)  # (B, T, V)
        super().__init__(inputs={"token_ids": token_ids, "padding_mask": padding_mask}, outputs=logits, **kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.hidden_dim = hidden_dim
        self.lstm_units = lstm_units
        self.num_layers = num_layers
        self.dropout = dropout

    @classmethod
    def from_preset(cls, name, **overrides):
        """Build from a named preset of the `"lstm_language_model"` family, with overrides."""
        return cls(**preset_config(cls, "lstm_language_model", name, overrides))
