"""Old name of `zoo.attention_maps` (it shadowed the standard library's `inspect`): a re-export."""

from zoo.attention_maps import (  # noqa: F401
    attention_maps,
    attention_rollout,
    class_token_patch_attention,
    plot_attention_heads,
    plot_class_token_attention,
    recording_attention,
    token_strings,
    translation_attention,
)
