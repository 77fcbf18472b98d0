"""Read Hugging Face ViT checkpoints (`model_type` vit; safetensors, no PyTorch) into an ImageClassifier.

    checkpoint = load_vit("path/to/vit-base-patch16-224")  # config.json + model.safetensors + preprocessor_config.json
    model = ImageClassifier(ViTBackbone(**checkpoint.backbone_arguments()), num_classes=..., class_names=...)
    checkpoint.assign(model)

`ImageClassifier.from_checkpoint(path)` does exactly this. Options are
checked by `zoo.checkpoints.vit_config` (the processor's resize, rescale
and normalize run inside the graph); every tensor is mapped
(`zoo.checkpoints.vit_tensors`) or named in `unused_tensors()`; a missing
or misshapen tensor is an error naming it, and all are checked before any
is assigned.
"""

import dataclasses
import pathlib

import numpy as np

from zoo.checkpoints.checks import check_tensors
from zoo.checkpoints.safetensors_files import read_checkpoint_tensors, read_json
from zoo.checkpoints.vit_config import PROCESSOR_NAME, check_vit_model_type, vit_backbone_arguments
from zoo.checkpoints.vit_tensors import expected_tensors

# Tensors a checkpoint may hold that zoo's ImageClassifier does not use: name prefix -> why.
NOT_USED = {
    "embeddings.mask_token": "ViTModel's masked-image-modeling token, not used to classify",
    "pooler.": "ViTModel's pooler; ViTForImageClassification reads the class token without it",
}


@dataclasses.dataclass
class ViTCheckpoint:
    """A ViT checkpoint read into NumPy.

    Attributes:
        path: the checkpoint directory.
        hf_config: its `config.json`.
        processor_config: its `preprocessor_config.json`.
        tensors: name -> float32 array, the `vit.` prefix removed
            (`classifier.*` keep their names).
    """

    path: pathlib.Path
    hf_config: dict
    processor_config: dict
    tensors: dict

    @property
    def num_classes(self):
        """The classes of the checkpoint's head, or None when it has none (a `ViTModel`)."""
        head = self.tensors.get("classifier.weight")
        return None if head is None else int(head.shape[0])

    def backbone_arguments(self):
        """`ViTBackbone` arguments (see `vit_backbone_arguments`)."""
        return vit_backbone_arguments(
            self.hf_config, self.processor_config, str(self.path / "config.json"), str(self.path / PROCESSOR_NAME)
        )

    def class_names(self):
        """The head's labels from `id2label` (ids 0..K-1), `"0"`, `"1"`, ... without one, or None without a head.

        Raises:
            ValueError: `id2label` does not name exactly the head's classes.
        """
        if self.num_classes is None:
            return None
        id2label = self.hf_config.get("id2label")
        if not id2label:
            return [str(index) for index in range(self.num_classes)]
        try:
            labels = {int(key): str(value) for key, value in id2label.items()}
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"{self.path / 'config.json'}: id2label must map integer ids to labels") from None
        if sorted(labels) != list(range(self.num_classes)):
            raise ValueError(
                f"{self.path / 'config.json'}: id2label has ids {sorted(labels)[:5]}...; classifier.weight has "
                f"{self.num_classes} classes (ids 0..{self.num_classes - 1})"
            )
        return [labels[index] for index in range(self.num_classes)]

    def unused_tensors(self, use_head=True):
        """Tensors the model does not take, with the reason: name -> why."""
        unused = {name: why for name in self.tensors for prefix, why in NOT_USED.items() if name.startswith(prefix)}
        if not use_head:
            unused.update({name: "replaced by a new head" for name in self.tensors if name.startswith("classifier.")})
        return unused

    def mappings(self, use_head=True):
        """The checked `expected_tensors`: every tensor present with its shape, none unexplained.

        Raises:
            ValueError: naming the missing, misshapen or unknown tensor.
        """
        mappings = expected_tensors(self.backbone_arguments(), self.num_classes if use_head else None)
        check_tensors(mappings, self.tensors, self.unused_tensors(use_head), str(self.path), "vit ImageClassifier")
        return mappings

    def assign(self, model, use_head=True):
        """Copy the weights into `model`, an `ImageClassifier` on a backbone built from `backbone_arguments()`.

        Args:
            model: the classifier.
            use_head: copy the checkpoint's `classifier` into `logits` (the
                model then has its `num_classes`); False keeps the model's
                own (new) head.

        Returns:
            The checkpoint tensor names used.

        Raises:
            ValueError: a missing, misshapen or unexplained tensor, or a
                model of another shape (naming the weight); nothing is
                assigned then.
        """
        variables = {variable.path: variable for variable in model.weights}
        mappings = self.mappings(use_head)
        for mapping in mappings:  # check everything before assigning anything
            variable = variables.get(mapping.path)
            shape = mapping.convert(self.tensors[mapping.name]).shape
            if variable is None or tuple(variable.shape) != shape:
                found = None if variable is None else tuple(variable.shape)
                raise ValueError(
                    f"checkpoint tensor {mapping.name!r} maps to {mapping.path} {shape}, but the model has "
                    f"{found}; build it from backbone_arguments()"
                )
        filled = {mapping.path for mapping in mappings} | (set() if use_head else {"logits/kernel", "logits/bias"})
        left = sorted(set(variables) - filled)
        if left:
            raise ValueError(f"the model has weights the checkpoint does not fill: {left[:5]}")
        for mapping in mappings:
            variable = variables[mapping.path]
            variable.assign(np.asarray(mapping.convert(self.tensors[mapping.name]), variable.dtype))
        return sorted({mapping.name for mapping in mappings})


def load_vit(path):
    """Read a ViT checkpoint directory (Hugging Face layout) without PyTorch.

    The directory holds `config.json` (`model_type` vit),
    `preprocessor_config.json` (a `ViTImageProcessor`'s) and
    `model.safetensors` or a sharded index; `ViTForImageClassification`
    (tensors `vit.*` + `classifier.*`) and `ViTModel` (no prefix, no head)
    checkpoints are read.

    Returns:
        A `ViTCheckpoint` whose configs and tensors have been checked.

    Raises:
        FileNotFoundError: the directory, a config file or the weights are
            missing (naming what was looked for).
        ValueError: an unsupported `model_type` or option (naming the key),
            a corrupt file (naming it), or a missing / misshapen tensor.
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint directory {str(path)!r} does not exist")
    config = read_json(path / "config.json")
    check_vit_model_type(config, str(path / "config.json"))
    processor = read_json(path / PROCESSOR_NAME)
    checkpoint = ViTCheckpoint(path, config, processor, {})
    checkpoint.backbone_arguments()  # refuse unsupported options before reading weights
    tensors = read_checkpoint_tensors(path)
    prefixed = any(name.startswith("vit.") for name in tensors)
    checkpoint.tensors = {name.removeprefix("vit.") if prefixed else name: value for name, value in tensors.items()}
    checkpoint.mappings()
    checkpoint.class_names()
    return checkpoint
