"""The calls an item's checks make live (an LLM judge, an embedding model), through the run's services.

Which model: the one the check names, else the run's default (``judge_model``, ``embedding_model``); a
judge must be pinned like the current model. How: that model's router without fallbacks (another judge's
verdict would not be this judge's), behind the call pool, the provider's limiter and the budget cap like every
call; a candidate item's check calls go through a recording of their own
(``<report_dir>/recordings/checks/<provider>/<model>/...``), so a CI run re-scores the candidate offline. The
golden's answers are the sampler's business (``ItemSampler.check_call``); this module only calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace

from pytest_llmversion.checks.calls import CheckCall, CheckCallError
from pytest_llmversion.governance.catalog import Catalog, pin_status
from pytest_llmversion.governance.startup import judge_is_candidate
from pytest_llmversion.judge.samples import CallPlace
from pytest_llmversion.modelref import ModelRef, ModelRefError
from pytest_llmversion.providers.base import Completion, ProviderError, Request
from pytest_llmversion.run.pool import Route
from pytest_llmversion.run.recordings import ItemRecorder

#: What each purpose is called in a message, and the config key of its default model.
_WHO = {"judge": ("judge", "judge_model"), "embedding": ("embedding model", "embedding_model")}


@dataclass
class CheckModels:
    """The run's defaults for check calls and the rules a named model must pass; shared by every item."""

    defaults: dict[str, ModelRef | None]
    #: Where each default came from, for messages (``judge_model in pyproject.toml``).
    sources: dict[str, str]
    parse: Callable[[str], ModelRef]
    catalog: Callable[[], Catalog]
    allow_unpinned: bool
    candidate: ModelRef | None
    _checked: dict[str, ModelRef] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def model_for(self, call: CheckCall) -> ModelRef:
        """The model a check's call goes to, or ``CheckCallError`` (one line) when there is none or it is not pinned."""
        who, key = _WHO[call.purpose]
        if call.model is None:
            default = self.defaults.get(call.purpose)
            if default is None:
                raise CheckCallError(
                    f"{call.check} has no {who}: set {key} in [tool.llmversion] (or LLMVERSION_{key.upper()}), "
                    f"or name one: model='provider/model-id'"
                )
            return default
        with self._lock:
            known = self._checked.get(call.model)
        if known is not None:
            return known
        try:
            ref = self.parse(call.model)
        except ModelRefError as exc:
            raise CheckCallError(f"{call.check}: {exc}") from None
        if call.purpose == "judge" and not self.allow_unpinned:
            pin = pin_status(ref, self.catalog())
            if pin.checked and not pin.pinned:
                fix = f"; pin it: model={pin.resolves_to!r}" if pin.resolves_to else "; pin it to a dated snapshot"
                raise CheckCallError(
                    f"judge model {ref} (checks.judge(model=...)) is {'an' if pin.kind[0] in 'aeiou' else 'a'} "
                    f"{pin.kind}, not a pinned snapshot: its verdicts would not reproduce{fix}",
                    model=str(ref),
                )
        with self._lock:
            self._checked[call.model] = ref
        return ref

    def notice_for(self, purpose: str, ref: ModelRef) -> str | None:
        """The warning to show when a judge is the candidate (it would grade its own answers)."""
        return judge_is_candidate(ref) if purpose == "judge" and ref == self.candidate else None


@dataclass
class CheckCaller:
    """One item's live check calls: to the model's router (behind the pool), through a recording for candidates."""

    route: Callable[[ModelRef], Route]
    rejected_params: Callable[[ModelRef], tuple[str, ...]]
    #: A candidate item's recording of one check model (None: not recorded, as the current model's live calls).
    recorder: Callable[[ModelRef], ItemRecorder] | None = None
    #: Around each call: the progress drawn in place while the main thread waits (``run/status_line.py``).
    waiting: Callable[[], AbstractContextManager[None]] = nullcontext
    _recorders: dict[ModelRef, ItemRecorder] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def prepare(self, call: CheckCall, model: ModelRef) -> Request:
        """The request as the model is sent it: an embedding names its model; temperature 0 is left out for a
        model that rejects it (the catalogue's ``rejects_params``)."""
        request = call.request
        if call.purpose == "embedding":
            request = replace(request, model=str(model))
        return request.without(self.rejected_params(model))

    def call(self, purpose: str, model: ModelRef, request: Request, place: CallPlace) -> Completion:
        who = _WHO[purpose][0]
        route = self.route(model)
        try:
            recorder = self._recorder(model)
            with self.waiting():
                if recorder is not None:
                    completion = recorder.complete(route, request, place)
                else:
                    completion = route.complete(request, sample_index=place.sample)
        except ProviderError as exc:
            raise wrapped(who, model, exc) from exc
        if completion.fallback_from is not None:
            raise CheckCallError(f"{who} {model} did not answer; another model's answer is not its verdict")
        return completion

    def _recorder(self, model: ModelRef) -> ItemRecorder | None:
        if self.recorder is None or model.provider == "scripted":  # scripted models are deterministic files
            return None
        with self._lock:
            recorder = self._recorders.get(model)
            if recorder is None:
                recorder = self._recorders[model] = self.recorder(model)
            return recorder

    def recorders(self) -> list[ItemRecorder]:
        with self._lock:
            return list(self._recorders.values())


def wrapped(who: str, model: ModelRef, error: ProviderError) -> CheckCallError:
    """A provider's failure as a check call's: one line naming the model, the budget cap's marks kept."""
    message = str(error)
    # adapters start their messages with the model; say once whose call it was
    message = f"{who} {message}" if message.startswith(str(model)) else f"{who} {model}: {message}"
    out = CheckCallError(message, model=error.model)
    out.retryable = error.retryable
    for name in ("not_called", "cause"):
        if hasattr(error, name):
            setattr(out, name, getattr(error, name))
    return out
