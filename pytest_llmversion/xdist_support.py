"""pytest-xdist hooks, registered only when xdist is loaded (its hook specs exist only then)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmversion.plugin import LLMVersionState


class XdistHooks:
    def __init__(self, state: LLMVersionState) -> None:
        self.state = state

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Merge what a worker collected, for the unused-golden list and a partial run's reasons; a crashed
        worker sends nothing."""
        output = getattr(node, "workeroutput", {})
        payload, selection = output.get("llmversion_collected"), output.get("llmversion_selection")
        if not payload and not selection:
            return
        self.state.context()
        results, chosen = self.state.results, self.state.selection
        assert results is not None
        assert chosen is not None
        if payload:
            results.collected.merge(payload)
        if selection:
            chosen.merge(selection)
