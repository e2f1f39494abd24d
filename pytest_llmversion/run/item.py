"""One LLM item as the plugin's hooks and fixtures see it: its kind, the ``llm`` client bound to it, and
the message it sends when it has run."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_llmversion.client import LLMClient
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.run.kinds import Caught, ItemKind, Judged
from pytest_llmversion.run.recordings import ItemRecorder
from pytest_llmversion.run.result import ItemReport, item_report
from pytest_llmversion.run.sampler import Body, GoldenChecker, ItemSampler
from pytest_llmversion.run.spec import ItemSpec
from pytest_llmversion.verdict import fails


@dataclass
class LLMItem:
    kind: ItemKind
    client: LLMClient
    recorder: ItemRecorder | None
    judged: Judged | None = None

    @property
    def spec(self) -> ItemSpec:
        return self.kind.settings.spec

    @property
    def model(self) -> ModelRef:
        """The role's model (the candidate on a candidate item), whichever phase runs."""
        return self.kind.settings.model

    @property
    def nodeid(self) -> str:
        return self.kind.settings.nodeid

    @property
    def sampler(self) -> ItemSampler:
        return self.kind.sampler

    def golden_checker(self) -> GoldenChecker:
        return GoldenChecker(self.kind.sampler)

    def run(self, body: Body, caught: Caught) -> Judged:
        self.judged = self.kind.run(body, caught)
        return self.judged

    @property
    def failed(self) -> bool:
        assert self.judged is not None
        return fails(self.spec.role, self.judged.outcome.verdict)

    def report(self) -> ItemReport:
        assert self.judged is not None, "the item has not run"
        golden = self.kind.golden
        return item_report(
            self.kind, self.judged, golden_shown=golden.shown, rerecord=golden.rerecord, recorder=self.recorder
        )
