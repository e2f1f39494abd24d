"""A throw-away project for rollout tests: pyproject.toml, two scripted models, and the store it writes."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmversion.rollout.recorder import close_deployments
from pytest_llmversion.rollout.store import RolloutStore

OLD = 'default:\n  respond: \'{"answer": "old"}\'\nlatency_ms: 300\nlatency_jitter_ms: 100\n'
NEW = 'default:\n  respond: \'{"answer": "new"}\'\nlatency_ms: 250\nlatency_jitter_ms: 100\n'


def make_project(
    root: Path,
    rollout: str = "candidate_percent = 50\nreload_seconds = 0\n",
    *,
    config: str = "",
    models: dict[str, str] | None = None,
) -> Path:
    """``root`` as a user's project: scripted/old is the model, scripted/new the candidate."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    for name, text in (models or {"old": OLD, "new": NEW}).items():
        (root / "models" / f"{name}.yaml").write_text(textwrap.dedent(text))
    (root / "pyproject.toml").write_text(
        '[tool.llmversion]\nmodel = "scripted/old"\ncandidate_model = "scripted/new"\n'
        f'scripted_models = "models"\nmax_retries = 0\n{textwrap.dedent(config)}\n'
        f"[tool.llmversion.rollout]\n{textwrap.dedent(rollout)}"
    )
    return root


def store_of(root: Path) -> RolloutStore:
    return RolloutStore(root / ".llmversion" / "rollout.sqlite")


@pytest.fixture(autouse=True)
def _fresh_deployments() -> Iterator[None]:
    """Each test gets new deployments (the cache is per process), and leaves no store open."""
    yield
    close_deployments()
