"""What the call pool is fed: for the items this process will run next, the calls their goldens predict.

An item to come is prepared here (its golden loaded, its kind decided: the same ``LLMItem`` its fixture
will use), its kind says which live calls it will make (``ItemKind.planned``), and each is built from the
golden's recorded request for that sample (tools, tool turns and the calls around completions included:
``Request.from_canonical``), with what the model rejects left out, as the ``llm`` client would build it. A
call the candidate's recording would answer is not sent. The window is bounded in calls waiting to be taken,
so ``-x``, Ctrl-C or the budget cap leave at most that many billed beyond what was used.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Request
from pytest_llmversion.run.item import LLMItem
from pytest_llmversion.run.pool import CallPool, PlannedCall
from pytest_llmversion.run.sampler import Prefetch, PrefetchRequest
from pytest_llmversion.run.spec import ItemSpec


@dataclass
class SendAhead:
    pool: CallPool
    make_item: Callable[[ItemSpec, str], LLMItem]
    rejected_params: Callable[[ModelRef], tuple[str, ...]]
    #: The run's default parameters (``temperature``, ``max_tokens``, ``seed``), which the client leaves out for
    #: a model that rejects them; any other value of a rejected parameter may have been set in the call, which
    #: the client refuses to send: such a call is not planned.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: Items prepared ahead of their fixtures, by node id; the fixture takes its item from here.
    _prepared: dict[str, LLMItem] = field(default_factory=dict)

    def plan(self, upcoming: Iterable[tuple[ItemSpec, str]], running: LLMItem | None = None) -> None:
        """Send the calls of the next items, in run order, until the window is full; ``running`` is the item whose
        body is about to run, already built by its fixture."""
        for spec, nodeid in upcoming:
            if self.pool.pending() >= self.pool.window:
                return
            if self.pool.has_planned(nodeid):
                continue
            item = running if running is not None and running.nodeid == nodeid else self._prepared.get(nodeid)
            if item is None:
                item = self._prepared[nodeid] = self.make_item(spec, nodeid)
            self.pool.plan(
                nodeid, [call for model, indices in item.kind.planned() for call in self.calls(item, model, indices)]
            )

    def take_prepared(self, nodeid: str) -> LLMItem | None:
        return self._prepared.pop(nodeid, None)

    def prefetch_for(self, item: LLMItem) -> Prefetch:
        """What the item's kind calls to send its top-ups together, as soon as its first stage decides them. It holds
        the item weakly: the item's sampler holds it, and a cycle would leave every finished item to the cyclic
        garbage collector (a full collection of a live run's items took a seventh of a second)."""
        ref = weakref.ref(item)

        def prefetch(model: ModelRef, indices: Sequence[int]) -> None:
            alive = ref()
            if alive is None:
                return
            for call in self.calls(alive, model, indices):
                self.pool.send(call)

        return prefetch

    def prefetch_request_for(self, item: LLMItem) -> PrefetchRequest:
        """What the item's sampler calls to send its later samples' first call, once its first sample made it (the
        item held weakly, as by ``prefetch_for``)."""
        ref = weakref.ref(item)

        def prefetch(model: ModelRef, request: Request, indices: Sequence[int]) -> None:
            alive = ref()
            if alive is None:
                return
            for index in indices:
                if not _from_recording(alive, model, request, index):
                    self.pool.send(PlannedCall(model, request, index))

        return prefetch

    def calls(self, item: LLMItem, model: ModelRef, indices: Sequence[int]) -> list[PlannedCall]:
        golden = item.kind.golden.golden
        if golden is None or not golden.samples:
            return []
        rejected = self.rejected_params(model)
        calls = []
        for index in indices:
            fingerprint, canonical = golden.first_request(index)
            if canonical is None:
                continue  # a golden of an earlier version: it kept the fingerprint only
            try:
                request = Request.from_canonical(canonical)
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # not a request this plugin wrote: the item will say what is wrong with its golden
            if request.fingerprint() != fingerprint:
                continue  # edited by hand: the item will say STALE, and send nothing of it
            if any(request.params.get(name, self.defaults.get(name)) != self.defaults.get(name) for name in rejected):
                continue  # a value the test may have set itself, which the client would refuse to send
            request = request.without(rejected)
            if not _from_recording(item, model, request, index):
                calls.append(PlannedCall(model, request, index))
        return calls


def _from_recording(item: LLMItem, model: ModelRef, request: Request, index: int) -> bool:
    """Whether the candidate's recording answers this call: it is not sent."""
    recorder = item.recorder
    return recorder is not None and model == item.model and not recorder.would_call(request, index)
