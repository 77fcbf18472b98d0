"""benchmarks.tflite_decode on its tiny configuration: every figure is written, the float file is exact."""

import json

from benchmarks.tflite_decode import PROMPT_LENGTH, main


def test_tiny_run_writes_speeds_sizes_and_int8_agreement(tmp_path, capsys):
    out = tmp_path / "tflite_decode.json"
    main(["--tiny", "--max-length", str(PROMPT_LENGTH + 4), "--rounds", "1", "--threads", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    float_row, dynamic = result["tflite"]
    assert (float_row["quantization"], dynamic["quantization"]) == ("float32", "dynamic")
    # The float file generates what Keras does, on the export's prompts and on the benchmark's.
    assert float_row["greedy_sequences_equal"] == 1.0 and float_row["benchmark_prompt_greedy_equal"]
    assert float_row["path_logits_max_abs_error"] < 1e-3
    # int8 weights: a smaller file whose logits stay within 5% of Keras's logit range.
    assert dynamic["bytes"] < 0.7 * float_row["bytes"]
    assert 0 < dynamic["path_logits_relative_error"] < 0.05
    assert 0.0 <= dynamic["greedy_tokens_equal"] <= 1.0
    assert result["keras_tokens_per_s"] > 0 and all(row["tokens_per_s"] > 0 for row in result["tflite"])
    assert "x Keras" in capsys.readouterr().out
