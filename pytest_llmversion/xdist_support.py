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
        estimate, sent = output.get("llmversion_estimate"), output.get("llmversion_sent_ahead")
        if not payload and not selection and not estimate and not sent:
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
        if sent:
            from pytest_llmversion.report.schema import SentAhead

            counts = SentAhead.model_validate_json(sent)
            self.state.sent_ahead = counts if self.state.sent_ahead is None else self.state.sent_ahead.merge(counts)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """The progress line of a run that calls models: the LLM items are those whose id ends with a role."""
        state = self.state
        if state.progress is not None or not state.loaded or state.error is not None:
            return
        ctx = state.context()
        if ctx.calls_live and state.config.get_verbosity() >= 0:
            total = sum(nodeid.endswith(("current]", "candidate]")) for nodeid in ids)
            if total:
                from pytest_llmversion.run.progress import start_progress

                state.progress = start_progress(ctx, total)
