"""The application's settings: which model it runs, from the environment, with the pinned default."""

from __future__ import annotations

import os

#: The model production runs: a pinned snapshot (here the synthetic stand-in of models/triage-2024-06.yaml).
MODEL = os.environ.get("ACME_TRIAGE_MODEL", "triage-2024-06")
