"""LSTM encoder-decoder with global attention (Luong et al. 2015), the recurrent counterpart of `Seq2SeqLM`."""

import keras
from keras import ops

from zoo.layers.global_attention import GlobalAttention
from zoo.models.encoder_decoder import EncoderDecoderTask, encoder_decoder_config, special_token_ids
from zoo.models.task import check_dropout, check_positive_integers

# `attention` argument -> `GlobalAttention` score.
ATTENTION_SCORES = {"luong": "general", "bahdanau": "additive"}


@keras.saving.register_keras_serializable(package="zoo")
class LSTMSeq2Seq(EncoderDecoderTask):
    """LSTM encoder-decoder with attention on top of the decoder (Luong et al. 2015), with O(1) step decoding.

    The same inputs and outputs as `Seq2SeqLM`, so the two train on the same
    batches with the same loss: `encoder_token_ids`/`encoder_padding_mask`
    `(B, S)` and `decoder_token_ids`/`decoder_padding_mask` `(B, T)` (the
    target shifted right, starting with BOS) -> next-token logits
    `(B, T, target_vocabulary_size)`.

    - Encoder: token embedding `(B, S, hidden_dim)` -> a stack of
      `num_encoder_layers` LSTMs (bidirectional: forward and backward
      outputs concatenated), run under the source padding mask, so padded
      positions change neither the outputs at real positions nor the final
      states. A bidirectional stack's outputs `(B, S, 2 * lstm_units)` are
      projected to `lstm_units`: the encoder outputs `(B, S, lstm_units)`.
    - Bridge: the top encoder layer's final hidden states (both directions
      concatenated) -> `tanh(Dense)` -> the initial `h` and `c` of every
      decoder layer.
    - Decoder: token embedding -> a stack of `num_decoder_layers` LSTMs over
      the whole target (teacher forcing; LSTMs are causal) -> global
      attention of each decoder state `h_t` over the encoder outputs
      (padded source positions get weight 0): the attentional vector
      `tanh(W_c [context_t; h_t])` -> Dense -> logits. `"luong"` scores are
      `h_t^T W_a a_s` ("general"); `"bahdanau"` scores are additive,
      `v^T tanh(W_q h_t + W_k a_s)` (Bahdanau's score in this architecture,
      not his attention-before-the-RNN decoder). There is no input feeding:
      the attention sits on top of the decoder, so training runs over all
      target positions at once and a decoding step computes exactly what
      the full forward pass computes at that position.

    `generate` encodes the source once (outputs, initial states and the
    attention keys `W a_s`), then decodes with the LSTM cells one token at a
    time: a step costs the same whatever the prefix length. The decoding
    state is `(states, memory, encoder_padding_mask)`: `states`
    `(B, num_decoder_layers, 2, lstm_units)` (`h`, `c` per layer) and
    `memory` `(B, 2, S, lstm_units)` (encoder outputs and their keys).

    Padding masks must be right-padded with at least one real token per row
    (what the preprocessors produce): cuDNN, which Keras uses for the LSTM
    layers on GPUs, accepts no other masks.

    Args:
        source_vocabulary_size, target_vocabulary_size: ints.
        source_length: int `S`, source tokens (incl. `[CLS]`/`[SEP]`).
        target_length: int `T`, decoder positions; generation makes at most
            `T - 1` tokens after BOS. (An LSTM has no position table: the
            lengths bound the inputs and the exported shapes.)
        hidden_dim: int, width of the token embeddings.
        lstm_units: int, width of every LSTM (each direction) and of the attention.
        num_encoder_layers, num_decoder_layers: ints.
        bidirectional_encoder: bool.
        attention: `"luong"` or `"bahdanau"` (the score, see above).
        dropout: float, on the embeddings, between LSTM layers and before the output layer.
        source_preprocessor, target_preprocessor: `TextPreprocessor`s so
            that `generate` takes and returns strings (the target one packs
            `T + 1` tokens: decoder inputs and labels shifted by one).
        bos_token_id, end_token_id, pad_token_id: target special ids
            (taken from `target_preprocessor` when given).

    Example:
    >>> model = LSTMSeq2Seq.from_preset("small", source_preprocessor=src, target_preprocessor=tgt)
    >>> model.generate(["How are you?"], max_length=32, sampler="beam", num_beams=4)
    """

    layer_arguments = ("source_preprocessor", "target_preprocessor")
    config_attributes = {"attention": "attention_type"}  # `self.attention` is the layer

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size,
        source_length,
        target_length,
        hidden_dim=256,
        lstm_units=256,
        num_encoder_layers=2,
        num_decoder_layers=2,
        bidirectional_encoder=True,
        attention="luong",
        dropout=0.1,
        source_preprocessor=None,
        target_preprocessor=None,
        bos_token_id=2,
        end_token_id=3,
        pad_token_id=0,
        **kwargs,
    ):
        check_positive_integers(
            hidden_dim=hidden_dim,
            lstm_units=lstm_units,
            num_encoder_layers=num_encoder_layers,
            num_decoder_layers=num_decoder_layers,
        )
        if attention not in ATTENTION_SCORES:
            raise ValueError(f"attention must be one of {list(ATTENTION_SCORES)}. Received: attention={attention!r}")
        check_dropout(dropout)
        bos_token_id, end_token_id, pad_token_id = special_token_ids(
            source_preprocessor,
            target_preprocessor,
            source_vocabulary_size,
            target_vocabulary_size,
            source_length,
            target_length,
            bos_token_id,
            end_token_id,
            pad_token_id,
        )

        # === Layers ===
        self.encoder_embedding = keras.layers.Embedding(source_vocabulary_size, hidden_dim, name="encoder_embedding")
        self.decoder_embedding = keras.layers.Embedding(target_vocabulary_size, hidden_dim, name="decoder_embedding")
        self.encoder_layers = [
            _encoder_lstm(lstm_units, bidirectional_encoder, f"encoder_{i}") for i in range(num_encoder_layers)
        ]
        self.encoder_projection = (
            keras.layers.Dense(lstm_units, name="encoder_projection") if bidirectional_encoder else None
        )
        self.bridge = keras.layers.Dense(num_decoder_layers * 2 * lstm_units, activation="tanh", name="bridge")
        self.decoder_layers = [
            keras.layers.LSTM(lstm_units, return_sequences=True, name=f"decoder_{i}") for i in range(num_decoder_layers)
        ]
        self.attention = GlobalAttention(lstm_units, score=ATTENTION_SCORES[attention], name="attention")
        self.lm_head = keras.layers.Dense(target_vocabulary_size, name="lm_head")
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")  # no weights: shared by every site
        # Used while building the graph below.
        self.lstm_units, self.num_decoder_layers, self.bidirectional_encoder = (
            lstm_units,
            num_decoder_layers,
            bidirectional_encoder,
        )

        # === Functional graph ===
        # Any length up to source_length / target_length (batches are bucketed by length).
        encoder_token_ids = keras.Input((None,), dtype="int32", name="encoder_token_ids")
        encoder_padding_mask = keras.Input((None,), dtype="int32", name="encoder_padding_mask")
        decoder_token_ids = keras.Input((None,), dtype="int32", name="decoder_token_ids")
        decoder_padding_mask = keras.Input((None,), dtype="int32", name="decoder_padding_mask")
        encoded, states = self._encode(encoder_token_ids, encoder_padding_mask)
        y = self._decoder_states(decoder_token_ids, decoder_padding_mask, states)  # (B, T, U)
        attended = self.attention(y, encoded, padding_mask=encoder_padding_mask)  # (B, T, U)
        logits = self.lm_head(self.dropout_layer(attended))  # (B, T, V)
        inputs = {
            "encoder_token_ids": encoder_token_ids,
            "encoder_padding_mask": encoder_padding_mask,
            "decoder_token_ids": decoder_token_ids,
            "decoder_padding_mask": decoder_padding_mask,
        }
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.source_length = source_length
        self.target_length = target_length
        self.hidden_dim = hidden_dim
        self.num_encoder_layers = num_encoder_layers
        self.attention_type = attention
        self.dropout = dropout
        self.source_preprocessor = source_preprocessor
        self.target_preprocessor = target_preprocessor
        self.bos_token_id, self.end_token_id, self.pad_token_id = bos_token_id, end_token_id, pad_token_id

    @classmethod
    def from_preset(cls, name, source_preprocessor=None, target_preprocessor=None, **overrides):
        """Build from a named `"lstm_seq2seq"` preset; sizes and lengths follow the preprocessors when given."""
        config = encoder_decoder_config(cls, "lstm_seq2seq", name, source_preprocessor, target_preprocessor, overrides)
        return cls(source_preprocessor=source_preprocessor, target_preprocessor=target_preprocessor, **config)

    # === Forward pieces (shared by the training graph and step decoding) ===

    def _encode(self, token_ids, padding_mask, training=None):
        """The training graph's encoder: Keras LSTM layers (cuDNN on GPUs). See `encode`."""
        mask = ops.cast(padding_mask, "bool")
        x = self.dropout_layer(self.encoder_embedding(token_ids), training=training)  # (B, S, E)
        for i, layer in enumerate(self.encoder_layers):
            if i:
                x = self.dropout_layer(x, training=training)
            x, *final_states = layer(x, mask=mask, training=training)  # (B, S, dirs * U); [h, c] per direction
        return self._encoder_outputs(x, final_states)

    def _encoder_outputs(self, x, final_states):
        """Top encoder layer's outputs and final `[h, c, (h, c)]` -> encoder outputs `(B, S, U)`, initial states."""
        if self.encoder_projection is not None:
            x = self.encoder_projection(x)  # (B, S, U)
        final_hidden = ops.concatenate(final_states[0::2], axis=-1)  # (B, dirs * U)
        states = ops.reshape(self.bridge(final_hidden), (-1, self.num_decoder_layers, 2, self.lstm_units))
        return x, states

    def _decoder_states(self, token_ids, padding_mask, states, training=None):
        """The top decoder LSTM's outputs `(B, T, U)` over the whole target (teacher forcing)."""
        mask = ops.cast(padding_mask, "bool")
        y = self.dropout_layer(self.decoder_embedding(token_ids), training=training)  # (B, T, E)
        for i, layer in enumerate(self.decoder_layers):
            if i:
                y = self.dropout_layer(y, training=training)
            y = layer(y, initial_state=[states[:, i, 0], states[:, i, 1]], mask=mask, training=training)
        return y

    # === Step-by-step decoding ===

    def encode(self, encoder_token_ids, encoder_padding_mask):
        """Encoder outputs `(B, S, U)` and the decoder's initial states `(B, L, 2, U)` (`h`, `c` per layer).

        The same function as the training graph's encoder, computed with the
        LSTM cells in a loop over fixed-shape tensors: it converts to TFLite
        builtins (Keras' LSTM loop uses TensorLists, which need a static
        batch size there) at any source length.
        """
        mask = ops.cast(encoder_padding_mask, "bool")
        x = self.encoder_embedding(encoder_token_ids)  # (B, S, E)
        for layer in self.encoder_layers:
            if self.bidirectional_encoder:
                forward, *forward_states = _run_cell(layer.forward_layer.cell, x, mask)
                backward, *backward_states = _run_cell(layer.backward_layer.cell, x, mask, reverse=True)
                x, final_states = ops.concatenate([forward, backward], axis=-1), forward_states + backward_states
            else:
                x, *final_states = _run_cell(layer.cell, x, mask)
        return self._encoder_outputs(x, final_states)

    def attention_memory(self, encoded):
        """Encoder outputs and their attention keys, computed once per source: `(B, 2, S, U)`."""
        return ops.stack([encoded, self.attention.project_keys(encoded)], axis=1)

    def decode_step(self, token_ids, index, states, memory, encoder_padding_mask):
        """Logits `(B, V)` for position `index + 1` given the token at `index` `(B, 1)`, and the updated states.

        `index` is unused (an LSTM has no positions); it keeps the signature
        of `zoo.generation`'s loops and of `Seq2SeqLM.decode_step`.
        """
        y = self.decoder_embedding(token_ids)[:, 0]  # (B, E)
        updated = []
        for i, layer in enumerate(self.decoder_layers):
            y, (h, c) = layer.cell(y, [states[:, i, 0], states[:, i, 1]])  # (B, U)
            updated.append(ops.stack([h, c], axis=1))
        encoded, keys = memory[:, 0], memory[:, 1]
        attended = self.attention(ops.expand_dims(y, 1), encoded, padding_mask=encoder_padding_mask, keys=keys)
        return self.lm_head(attended)[:, 0], ops.stack(updated, axis=1)

    def attention_weights(self, inputs):
        """The attention weights `(B, T, S)` of every decoder position over the source (training inputs)."""
        encoded, states = self.encode(inputs["encoder_token_ids"], inputs["encoder_padding_mask"])
        y = self._decoder_states(inputs["decoder_token_ids"], inputs["decoder_padding_mask"], states, training=False)
        _, weights = self.attention(
            y, encoded, padding_mask=inputs["encoder_padding_mask"], return_attention_weights=True
        )
        return weights

    def _next(self, token_ids, cache, index):
        states, memory, encoder_padding_mask = cache
        logits, states = self.decode_step(token_ids, index, states, memory, encoder_padding_mask)
        return logits, (states, memory, encoder_padding_mask)

    def generate_ids(
        self,
        encoder_token_ids,
        encoder_padding_mask,
        max_length=None,
        sampler="greedy",
        num_beams=4,
        length_penalty=0.0,
    ):
        """Token ids `(B, max_length)` starting with BOS; see `generate`."""
        max_length = self.checked_max_length(max_length)
        encoder_token_ids = ops.convert_to_tensor(encoder_token_ids, "int32")
        encoder_padding_mask = ops.convert_to_tensor(encoder_padding_mask, "int32")
        encoded, states = self.encode(encoder_token_ids, encoder_padding_mask)
        cache = (states, self.attention_memory(encoded), encoder_padding_mask)
        batch_size = ops.shape(encoder_token_ids)[0]
        return self.decode_from_bos(self._next, cache, batch_size, max_length, sampler, num_beams, length_penalty)


def _encoder_lstm(units, bidirectional, name):
    if not bidirectional:
        return keras.layers.LSTM(units, return_sequences=True, return_state=True, name=name)
    return keras.layers.Bidirectional(
        keras.layers.LSTM(units, return_sequences=True, return_state=True), merge_mode="concat", name=name
    )


def _run_cell(cell, inputs, mask, reverse=False):
    """An LSTM cell over `inputs` `(B, S, D)` under `mask` `(B, S)`, like `keras.layers.LSTM` with a mask.

    A padded step keeps the state (its output is zero), so the final states
    are those after the last real token (`reverse`: after the first one).

    Returns:
        outputs `(B, S, U)`, final `h` and `c` `(B, U)`.
    """
    batch_size, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
    zeros = ops.zeros((batch_size, cell.units), inputs.dtype)
    outputs = ops.zeros((batch_size, length, cell.units), inputs.dtype)

    def step(i, carry):
        outputs, h, c = carry
        t = length - 1 - i if reverse else i
        x = ops.slice(inputs, (0, t, 0), (batch_size, 1, inputs.shape[-1]))[:, 0]  # (B, D)
        real = ops.slice(mask, (0, t), (batch_size, 1))  # (B, 1)
        output, (new_h, new_c) = cell(x, [h, c])
        output = ops.where(real, output, ops.zeros_like(output))
        outputs = ops.slice_update(outputs, (0, t, 0), ops.expand_dims(output, 1))
        return outputs, ops.where(real, new_h, h), ops.where(real, new_c, c)

    return ops.fori_loop(0, length, step, (outputs, zeros, zeros))
