"""Every matrix product of one Transformer block: shapes, FLOPs and parameters, dense or factorized.

    rows = block_products(hidden_dim=256, num_heads=4, intermediate_dim=1024, sequence_length=128)
    print(format_products(rows))
    measured = measured_flops(model, {"token_ids": ..., "padding_mask": ...})  # TensorFlow's own count

FLOPs count a multiply and an add as 2 (a `(m, k) x (k, n)` product costs
`2 m k n`), for one sequence of `sequence_length` queries. Only the matrix
products are listed; softmax, layer norms, activations and residual adds
are a few operations per element (well under 2% of the total at these
sizes, see `measured_flops`).
"""

import numpy as np


def _rank_of(option, name):
    if isinstance(option, dict):
        return option.get(name)
    return option


def _projection(name, what, tokens, rows, columns, rank, bias=True):
    """One projection `(tokens, rows) x (rows, columns)`, or its factorized pair when `rank` is set."""
    if rank is None:
        return {
            "product": name,
            "computes": what,
            "shapes": f"({tokens}x{rows}) x ({rows}x{columns})",
            "flops": 2 * tokens * rows * columns,
            "parameters": rows * columns + (columns if bias else 0),
        }
    return {
        "product": f"{name} (rank {rank})",
        "computes": what,
        "shapes": f"({tokens}x{rows}) x ({rows}x{rank}) x ({rank}x{columns})",
        "flops": 2 * tokens * rank * (rows + columns),
        "parameters": rank * (rows + columns) + (columns if bias else 0),
    }


def block_products(
    hidden_dim,
    num_heads,
    intermediate_dim,
    sequence_length,
    key_length=None,
    projection_rank=None,
    ffn_rank=None,
    gated=False,
):
    """The matrix products of one self-attention + feed-forward block, in execution order.

    Args:
        hidden_dim: model width `d`.
        num_heads: `h`; each head has `d / h` dimensions.
        intermediate_dim: feed-forward width `f`.
        sequence_length: queries `T`.
        key_length: keys `S` (default `T`; the source length for cross-attention).
        projection_rank, ffn_rank: None, an int, or a dict as in
            `zoo.layers.MultiHeadAttention(projection_rank=)` /
            `FeedForward(ffn_rank=)`.
        gated: a SwiGLU feed-forward (one more `d x f` projection).

    Returns:
        A list of dicts `{"product", "computes", "shapes", "flops",
        "parameters"}`; the block's layer norms add `4 d` parameters more.
    """
    if hidden_dim % num_heads:
        raise ValueError(f"num_heads must divide hidden_dim; received {hidden_dim} and {num_heads}")
    d, f, t = hidden_dim, intermediate_dim, sequence_length
    s = t if key_length is None else key_length
    head = d // num_heads
    rows = [
        _projection("Q = X Wq", "queries, all heads at once", t, d, d, _rank_of(projection_rank, "query")),
        _projection("K = X Wk", "keys", s, d, d, _rank_of(projection_rank, "key")),
        _projection("V = X Wv", "values", s, d, d, _rank_of(projection_rank, "value")),
        {
            "product": "Q K^T / sqrt(dh)",
            "computes": f"attention logits, per head ({num_heads} heads of {head})",
            "shapes": f"{num_heads} x ({t}x{head}) x ({head}x{s})",
            "flops": 2 * num_heads * t * head * s,
            "parameters": 0,
        },
        {
            "product": "softmax(.) V",
            "computes": "weighted sum of values, per head",
            "shapes": f"{num_heads} x ({t}x{s}) x ({s}x{head})",
            "flops": 2 * num_heads * t * s * head,
            "parameters": 0,
        },
        _projection("concat(heads) Wo", "output projection", t, d, d, _rank_of(projection_rank, "attention_output")),
        _projection("X W1", "feed-forward up", t, d, f, _rank_of(ffn_rank, "intermediate")),
    ]
    if gated:
        rows.append(_projection("X Wg", "feed-forward gate", t, d, f, _rank_of(ffn_rank, "gate")))
    rows.append(_projection("H W2", "feed-forward down", t, f, d, _rank_of(ffn_rank, "output")))
    return rows


def format_products(rows):
    """A markdown table of `block_products` rows with a total line."""
    lines = ["| product | computes | shapes | MFLOPs | parameters |", "|---|---|---|---:|---:|"]
    for row in rows:
        lines.append(
            f"| `{row['product']}` | {row['computes']} | {row['shapes']} | {row['flops'] / 1e6:,.2f} "
            f"| {row['parameters']:,} |"
        )
    total_flops = sum(row["flops"] for row in rows)
    total_parameters = sum(row["parameters"] for row in rows)
    lines.append(f"| **total** | | | **{total_flops / 1e6:,.2f}** | **{total_parameters:,}** |")
    return "\n".join(lines)


def measured_flops(model, inputs):
    """Floating-point operations TensorFlow's profiler counts for one inference call of `model` on `inputs`.

    Args:
        model: a Keras model (TensorFlow backend).
        inputs: a NumPy array or dict of arrays (their shapes fix the count).

    Returns:
        int: total float operations of the frozen graph (matrix products,
        softmax, norms, activations).
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    from tensorflow.python.profiler import model_analyzer, option_builder

    from zoo.quiet import native_stderr_captured

    def spec(value):
        value = np.asarray(value)
        return tf.TensorSpec(value.shape, tf.as_dtype(value.dtype))

    specs = {name: spec(value) for name, value in inputs.items()} if isinstance(inputs, dict) else spec(inputs)
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(specs)
    frozen = convert_variables_to_constants_v2(function)
    options = (
        option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
        .with_empty_output()
        .build()
    )
    with native_stderr_captured():
        import logging

        logger = tf.get_logger()
        level = logger.level
        logger.setLevel(logging.ERROR)  # the v1 profiler warns about deprecated helpers
        try:
            profile = model_analyzer.profile(graph=frozen.graph, options=options)
        finally:
            logger.setLevel(level)
    return int(profile.total_float_ops)
