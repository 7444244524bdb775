"""The semantic scorer: policy categories, severity and evidence for each relevant mention.

Public API: `load_scorer(settings, cache) -> Scorer`, `Scorer.assess(inputs)`,
`Scorer.model_version`, the `EmbeddingCache` protocol (with `MemoryEmbeddingCache`), and the pure
modules `pii` (find_personal_data, redact) and `taxonomy` (categories, clauses, labels).
Importing this package does not import torch or sentence_transformers.
"""

from __future__ import annotations

from monitor.scoring.embeddings import EmbeddingCache, MemoryEmbeddingCache, ModelLoadError
from monitor.scoring.heads import HeadsError
from monitor.scoring.pipeline import Scorer, load_scorer

__all__ = [
    "EmbeddingCache",
    "HeadsError",
    "MemoryEmbeddingCache",
    "ModelLoadError",
    "Scorer",
    "load_scorer",
]
