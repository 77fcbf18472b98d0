"""What the recipes share: settings, the run lifecycle, tokenizers, the optimizer and the report.

    from recipes.common import Run, TrainConfig, option

Library code (`zoo`) never imports this package; it holds the steps that
only recipes need (the run folder's layout, `--smoke`, `--strategy`, the
printed summary with its `docker run` line).
"""

from recipes.common.config import (
    RunConfig,
    TrainConfig,
    check_choice,
    check_preset,
    check_quantize,
    check_tokenizer,
    option,
    parse_recipe_config,
    quantizations,
    with_data_defaults,
)
from recipes.common.lifecycle import Run, save_keras_model, start_run
from recipes.common.optimizer import compile_with_schedule, warmup_cosine_adamw
from recipes.common.report import (
    add_tflite_accuracy,
    add_tflite_latency,
    classifier_metrics,
    docker_command,
    evaluate_classifier,
    export_classifier,
    print_summary,
    smoke_subsets,
    timed,
)
from recipes.common.tokenizers import keep_checkpoint_vocabulary, learn_or_reuse, learn_tokenizer
from recipes.common.variants import MetricDropError, VariantsConfig, accuracy_on, metric_drop, with_lora

__all__ = [
    "MetricDropError",
    "Run",
    "RunConfig",
    "TrainConfig",
    "VariantsConfig",
    "accuracy_on",
    "add_tflite_accuracy",
    "add_tflite_latency",
    "classifier_metrics",
    "check_choice",
    "check_preset",
    "check_quantize",
    "check_tokenizer",
    "compile_with_schedule",
    "docker_command",
    "evaluate_classifier",
    "export_classifier",
    "keep_checkpoint_vocabulary",
    "learn_or_reuse",
    "learn_tokenizer",
    "metric_drop",
    "option",
    "parse_recipe_config",
    "print_summary",
    "quantizations",
    "save_keras_model",
    "smoke_subsets",
    "start_run",
    "timed",
    "warmup_cosine_adamw",
    "with_data_defaults",
    "with_lora",
]
