"""The application's settings: which model it runs.

One source of truth: ``ACME_TRIAGE_MODEL`` when set, else the model pinned in ``pyproject.toml``
(``[tool.llmversion] model``), the file ``llmversion promote`` and ``rollback`` edit, so production and the
tests move to a new model in the same reviewed commit.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


def _pinned_model() -> str:
    with (Path(__file__).resolve().parents[1] / "pyproject.toml").open("rb") as file:
        configured = str(tomllib.load(file)["tool"]["llmversion"]["model"])
    return configured.partition("/")[2]  # "scripted/triage-2024-06" -> the id the SDK is given


#: The model production runs: a pinned snapshot (here the synthetic stand-in of models/triage-2024-06.yaml).
MODEL = os.environ.get("ACME_TRIAGE_MODEL") or _pinned_model()
