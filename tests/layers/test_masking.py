import numpy as np
import pytest

from helpers import to_numpy
from zoo.layers import compute_causal_mask, merge_padding_and_attention_mask


def test_causal_mask_is_lower_triangular():
    mask = to_numpy(compute_causal_mask(2, 4, 4))
    assert mask.shape == (2, 4, 4)
    np.testing.assert_array_equal(mask[0], np.tril(np.ones((4, 4), bool)))
    np.testing.assert_array_equal(mask[1], mask[0])


def test_causal_mask_with_cache_index_offsets_queries():
    # Two new queries at absolute positions 3 and 4 in a cache of length 6.
    mask = to_numpy(compute_causal_mask(1, 2, 6, cache_index=3))
    expected = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]], bool)
    np.testing.assert_array_equal(mask[0], expected)


def test_merge_padding_and_attention_masks():
    padding = np.array([[1, 1, 0]], bool)
    attention = np.array([[[1, 0, 1], [1, 1, 1]]], bool)
    merged = to_numpy(merge_padding_and_attention_mask(2, padding, attention))
    np.testing.assert_array_equal(merged, [[[1, 0, 0], [1, 1, 0]]])
    only_padding = to_numpy(merge_padding_and_attention_mask(2, padding))
    np.testing.assert_array_equal(only_padding, [[[1, 1, 0], [1, 1, 0]]])
    assert merge_padding_and_attention_mask(2) is None


def test_merge_rejects_wrong_ranks():
    with pytest.raises(ValueError, match="padding_mask must have shape"):
        merge_padding_and_attention_mask(2, np.ones((1, 2, 3), bool))
    with pytest.raises(ValueError, match="attention_mask must have shape"):
        merge_padding_and_attention_mask(2, None, np.ones((1, 3), bool))
