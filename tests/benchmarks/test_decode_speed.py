"""benchmarks.decode_speed: its random SmolLM-layout checkpoint is a valid llama directory zoo loads."""

import numpy as np

from benchmarks.decode_speed import SMOLLM2_135M, copy_bandwidth, write_checkpoint
from zoo.models import CausalLM


def test_written_checkpoint_loads_with_the_configured_sizes(tmp_path):
    config = {**SMOLLM2_135M, "vocab_size": 64, "hidden_size": 18, "intermediate_size": 24, "num_hidden_layers": 2}
    weight_bytes = write_checkpoint(tmp_path, config)
    model = CausalLM.from_checkpoint(tmp_path, sequence_length=16, preprocessor=None)
    assert (model.num_layers, model.hidden_dim, model.num_heads, model.num_key_value_heads) == (2, 18, 9, 3)
    assert weight_bytes == 4 * model.count_params()  # tied: the table is counted once in both
    ids = np.array([[1, 5, 7]], "int32")
    assert model.generate({"token_ids": ids, "padding_mask": np.ones_like(ids)}, max_length=6).shape == (1, 6)


def test_copy_bandwidth_is_a_positive_rate():
    assert copy_bandwidth(size=8 * 2**20, repeats=2) > 1e8  # bytes/s: any machine copies 100 MB/s
