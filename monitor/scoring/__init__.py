"""The semantic scorer: policy categories, severity and evidence for each relevant mention.

Public API: `load_scorer(settings, cache) -> Scorer`, `Scorer.assess(inputs)`,
`cache_key(settings)` (the embedding cache's key for the model and text preparation),
`Scorer.model_version`, the `EmbeddingCache` protocol (with `MemoryEmbeddingCache`), and the pure
modules `pii` (find_personal_data, redact) and `taxonomy` (categories, clauses, labels).

The names above are loaded on first use (PEP 562 `__getattr__`): the alerts, dispatcher and web
processes import only `pii` and `taxonomy`, and must not pay for numpy/scipy/sklearn (heads) or
torch (embeddings) at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.scoring.embeddings import EmbeddingCache, MemoryEmbeddingCache, ModelLoadError
    from monitor.scoring.heads import HeadsError
    from monitor.scoring.pipeline import Scorer, cache_key, load_scorer

__all__ = [
    "EmbeddingCache",
    "HeadsError",
    "MemoryEmbeddingCache",
    "ModelLoadError",
    "Scorer",
    "cache_key",
    "load_scorer",
]

_LAZY = {
    "EmbeddingCache": "monitor.scoring.embeddings",
    "MemoryEmbeddingCache": "monitor.scoring.embeddings",
    "ModelLoadError": "monitor.scoring.embeddings",
    "HeadsError": "monitor.scoring.heads",
    "Scorer": "monitor.scoring.pipeline",
    "cache_key": "monitor.scoring.pipeline",
    "load_scorer": "monitor.scoring.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor.scoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value
