"""pytest-xdist hooks, registered only when xdist is loaded (its hook specs exist only then)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmversion.plugin import LLMVersionState


class XdistHooks:
    def __init__(self, state: LLMVersionState) -> None:
        self.state = state

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Merge what a worker collected, for the unused-golden list; a crashed worker sends nothing."""
        payload = getattr(node, "workeroutput", {}).get("llmversion_collected")
        if payload:
            self.state.context()
            assert self.state.results is not None
            self.state.results.collected.merge(payload)
