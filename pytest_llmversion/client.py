"""``LLMClient``: what the ``llm`` fixture returns, and what ``connect()`` gives application code in production.

The client builds a :class:`Request` from a prompt (a string, a list of messages, or a registry
prompt with its variables), with the tools the model may call (``tools=``, ``tool_choice=``: one portable
form, see ``providers/tools.py``), and hands it to a *send* function: in tests, the item's sampler (golden
replay, recording, candidate calls); in production, the router (retries and fallbacks). The request
is built for the client's model: parameters the catalogue says it rejects are left out, so what is
sent, recorded and stored in a golden is one and the same.

In a test the model answering changes from phase to phase (a candidate item replays the current
model's golden, then calls the candidate): the client is then given its model and prompt model as
questions to ask (``Target``), never rewritten from outside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import Prompt, PromptRegistry
from pytest_llmversion.providers.base import PARAM_NAMES, BadRequest, Completion, Message, Request, build_messages
from pytest_llmversion.providers.tools import choice_from, tools_from

Send = Callable[[Request], Completion]
#: Make a call now and answer it later, from another thread (a test item numbers its calls as they are made).
Start = Callable[[Request], Callable[[], Completion]]
#: The request parameters a model rejects (``Catalog.rejected_params``).
RejectedParams = Callable[[ModelRef], tuple[str, ...]]
#: A model, or the question that gives it when it changes (the phase of a test item).
Target = ModelRef | Callable[[], ModelRef]
T = TypeVar("T")


async def in_worker_thread(call: Callable[[], T]) -> T:
    """``call()`` off the event loop: on anyio's worker threads, which serve asyncio and trio alike (anyio
    comes with every provider SDK and brings a pytest plugin), else on asyncio's."""
    try:
        from anyio import to_thread
    except ImportError:
        import asyncio  # here: an item that never awaits a call does not load asyncio (and ssl with it)

        return await asyncio.to_thread(call)
    return await to_thread.run_sync(call)


class LLMClient:
    def __init__(
        self,
        model: Target,
        send: Send,
        defaults: Mapping[str, Any] | None = None,
        registry: Callable[[], PromptRegistry] | PromptRegistry | None = None,
        prompt_model: Target | None = None,
        rejected_params: RejectedParams | None = None,
        start: Start | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        self._model = model
        self._send = send
        self._start = start
        self._defaults = {k: v for k, v in (defaults or {}).items() if v is not None}
        self._registry = registry
        self._rejected_params = rejected_params
        self._prompt_model = prompt_model
        self._release = release

    @property
    def model(self) -> ModelRef:
        """The model this client's calls go to (in a test item: the phase's)."""
        return self._model() if callable(self._model) else self._model

    @model.setter
    def model(self, value: ModelRef) -> None:
        self._model = value

    @property
    def prompt_model(self) -> ModelRef:
        """The model whose prompt versions ``prompt(task)`` resolves (the current model when a candidate is
        measured alone)."""
        chosen = self._prompt_model if self._prompt_model is not None else self._model
        return chosen() if callable(chosen) else chosen

    @prompt_model.setter
    def prompt_model(self, value: ModelRef) -> None:
        self._prompt_model = value

    def prompt(self, task: str) -> Prompt:
        """The registry's prompt for ``task``, resolved for this client's model."""
        registry = self._registry() if callable(self._registry) else self._registry
        if registry is None:
            raise LookupError('no prompt registry is configured (set prompts = "prompts" in [tool.llmversion])')
        return registry.resolve(task, self.prompt_model)

    def request(
        self,
        prompt: str | Prompt | Sequence[Mapping[str, Any] | Message | Completion],
        /,
        *,
        tools: Sequence[Any] | None = None,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> Request:
        """The request ``complete`` sends. ``tools``: functions the model may call, each ``{"name",
        "description", "parameters"}`` (a JSON schema) or a provider's own tool shape; ``tool_choice``: ``auto``,
        ``none``, ``required`` or ``{"name": <tool>}``."""
        params = dict(self._defaults)
        variables = {k: v for k, v in kwargs.items() if k not in PARAM_NAMES}
        if isinstance(prompt, Prompt):
            params.update(prompt.params)
            messages = prompt.render(variables)
            identity: Mapping[str, str] | None = prompt.identity
        else:
            if variables:
                raise TypeError(
                    f"llm.complete() got unexpected keyword(s) {', '.join(sorted(variables))}: "
                    f"template variables need a prompt from llm.prompt(task); parameters are {', '.join(PARAM_NAMES)}, "
                    "tools and tool_choice"
                )
            messages, identity = build_messages(prompt), None
        explicit = {k: v for k, v in kwargs.items() if k in PARAM_NAMES}
        model = self.model
        rejected = self._rejected_params(model) if self._rejected_params is not None else ()
        # a default or a prompt version's value is configuration: left out for a model that rejects it; a
        # value written in the call is the code's intent, so dropping it would test another request
        refused = [k for k in rejected if explicit.get(k) is not None]
        if refused:
            values = ", ".join(f"{k}={explicit[k]!r}" for k in refused)
            raise BadRequest(
                f"{model} rejects {', '.join(refused)} (rejects_params in the model catalogue), but this call "
                f"sets {values}: leave it out of the call (a prompt version can set it for the models that take it)",
                model=str(model),
            )
        params.update(explicit)
        kept = {k: v for k, v in params.items() if v is not None and k not in rejected}
        return Request(messages, kept, identity, tools=tools_from(tools), tool_choice=choice_from(tool_choice))

    def complete(
        self, prompt: str | Prompt | Sequence[Mapping[str, Any] | Message | Completion], /, **kwargs: Any
    ) -> Completion:
        """Send one request. ``kwargs`` are sampling parameters, the prompt's template variables, or ``tools`` and
        ``tool_choice``. To answer a tool call, send the conversation again with the answer (the Completion itself,
        or ``answer.message()``) and ``call.result(value)`` for each of its ``tool_calls``."""
        return self._send(self.request(prompt, **kwargs))

    async def acomplete(
        self, prompt: str | Prompt | Sequence[Mapping[str, Any] | Message | Completion], /, **kwargs: Any
    ) -> Completion:
        """:meth:`complete` for async code: the call (retries, fallbacks, recording) runs in a worker thread,
        so the event loop keeps serving other requests while the provider answers, and calls gathered
        together are in flight together."""
        request = self.request(prompt, **kwargs)
        pending = self._start(request) if self._start is not None else partial(self._send, request)
        return await in_worker_thread(pending)

    def close(self) -> None:
        """Release what the client holds: the SDK clients (and their connections) ``connect()`` made for it. A
        test's ``llm`` client holds none of its own; closing twice does nothing."""
        release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LLMClient {self.model}>"
