"""Transformer layers, written with `keras.ops` only (TensorFlow, JAX and PyTorch backends).

All are registered Keras serializables (`package="zoo"`): they round-trip
through `get_config` / `from_config` and `.keras` files.
"""

from zoo.layers.attention import MultiHeadAttention
from zoo.layers.decoder import TransformerDecoder
from zoo.layers.embedding import PatchEmbedding, TokenAndPositionEmbedding
from zoo.layers.encoder import TransformerEncoder
from zoo.layers.feedforward import FeedForward
from zoo.layers.global_attention import GlobalAttention
from zoo.layers.low_rank import LowRankDense
from zoo.layers.masking import compute_causal_mask, merge_padding_and_attention_mask
from zoo.layers.normalization import RMSNorm
from zoo.layers.pooling import MaskedMaxPooling, MaskedMeanPooling
from zoo.layers.position import PositionEmbedding, RotaryEmbedding, SinusoidalPositionEncoding

__all__ = [
    "MultiHeadAttention",
    "TransformerEncoder",
    "TransformerDecoder",
    "TokenAndPositionEmbedding",
    "PositionEmbedding",
    "SinusoidalPositionEncoding",
    "RotaryEmbedding",
    "PatchEmbedding",
    "FeedForward",
    "GlobalAttention",
    "LowRankDense",
    "RMSNorm",
    "MaskedMeanPooling",
    "MaskedMaxPooling",
    "compute_causal_mask",
    "merge_padding_and_attention_mask",
]
