import numpy as np

from helpers import assert_round_trip, to_numpy
from zoo.layers import MaskedMaxPooling, MaskedMeanPooling


def test_mean_over_real_tokens_only(tmp_path):
    x = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], "int32")
    out = to_numpy(MaskedMeanPooling()(x, padding_mask=mask))
    np.testing.assert_allclose(out[0], x[0, :2].mean(0))
    np.testing.assert_allclose(out[1], x[1].mean(0))
    assert_round_trip(MaskedMeanPooling(), {"inputs": x, "padding_mask": mask}, tmp_path)


def test_all_padding_row_gives_zeros():
    out = to_numpy(MaskedMeanPooling()(np.ones((1, 3, 2), "float32"), padding_mask=np.zeros((1, 3), "int32")))
    np.testing.assert_array_equal(out, np.zeros((1, 2)))


def test_max_over_real_tokens_only(tmp_path):
    x = np.array([[[1.0, -5.0], [2.0, -3.0], [9.0, 9.0]], [[-1.0, -2.0], [-4.0, -1.0], [-3.0, -7.0]]], "float32")
    mask = np.array([[1, 1, 0], [1, 1, 1]], "int32")  # the padded 9s of row 0 must not win
    out = to_numpy(MaskedMaxPooling()(x, padding_mask=mask))
    np.testing.assert_array_equal(out, [[2.0, -3.0], [-1.0, -1.0]])
    assert_round_trip(MaskedMaxPooling(), {"inputs": x, "padding_mask": mask}, tmp_path)


def test_max_pooling_all_padding_row_gives_zeros():
    out = to_numpy(MaskedMaxPooling()(np.ones((1, 3, 2), "float32"), padding_mask=np.zeros((1, 3), "int32")))
    np.testing.assert_array_equal(out, np.zeros((1, 2)))
