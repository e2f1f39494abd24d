"""pytest-xdist hooks, registered only when xdist is loaded (its hook specs exist only then)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmversion.state import LLMVersionState


class XdistHooks:
    def __init__(self, state: LLMVersionState) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        """Workers share one spend ledger, so ``--llm-budget-usd`` caps the whole run, not each worker."""
        if not self.state.loaded or self.state.context().config.budget_usd is None:
            return
        ctx = self.state.context()
        if ctx.ledger_path is None:
            from pytest_llmversion.governance.budget import SharedLedger

            path = ctx.base / ctx.config.report_dir / f"ledger-{os.getpid()}.sqlite"
            SharedLedger.create(path)
            ctx.ledger_path = path
        node.workerinput["llmversion_ledger"] = str(ctx.ledger_path)

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Merge what a worker collected, for the unused-golden list and a partial run's reasons; a crashed
        worker sends nothing."""
        output = getattr(node, "workeroutput", {})
        payload, selection = output.get("llmversion_collected"), output.get("llmversion_selection")
        estimate = output.get("llmversion_estimate")
        if not payload and not selection and not estimate:
            return
        ctx = self.state.context()
        results, chosen = self.state.results, self.state.selection
        assert results is not None
        assert chosen is not None
        if payload:
            results.collected.merge(payload)
        if selection:
            chosen.merge(selection)
        if estimate and ctx.estimate is None:
            from pytest_llmversion.report.governance import Estimate

            ctx.estimate = Estimate.model_validate_json(estimate)
