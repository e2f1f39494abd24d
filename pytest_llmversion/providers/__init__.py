"""Provider adapters, built lazily: an SDK is imported only when a test uses its provider."""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import (
    AuthError,
    BadRequest,
    Completion,
    MalformedResponse,
    ModelNotFound,
    Provider,
    ProviderError,
    RateLimited,
    Request,
    SetupError,
    Unavailable,
    Usage,
)
from pytest_llmversion.providers.router import CallGuard, RetryPolicy, Router, RoutingFailed

if TYPE_CHECKING:
    from pytest_llmversion.child_process import Spawned
    from pytest_llmversion.config import LLMConfig
    from pytest_llmversion.providers.call_process import CallProcess

__all__ = [
    "AuthError",
    "BadRequest",
    "Completion",
    "MalformedResponse",
    "ModelNotFound",
    "Provider",
    "ProviderError",
    "ProviderFactory",
    "RateLimited",
    "Request",
    "RetryPolicy",
    "Router",
    "RoutingFailed",
    "Unavailable",
    "Usage",
]

#: kind -> "module:factory" building an adapter from (name, settings, config).
ADAPTERS: dict[str, str] = {
    "openai": "pytest_llmversion.providers.openai_adapter:build",
    "anthropic": "pytest_llmversion.providers.anthropic_adapter:build",
    "gemini": "pytest_llmversion.providers.gemini_adapter:build",
    "google-legacy": "pytest_llmversion.providers.google_legacy_adapter:build",
}
#: The adapters as shipped: a kind whose entry was replaced (a test's or a project's own) is called in-process.
BUILT_IN: dict[str, str] = dict(ADAPTERS)


class ProviderFactory:
    """One adapter per provider name for the whole run (adapters hold clients and connection pools)."""

    def __init__(self, config: LLMConfig, root: Path) -> None:
        self.config = config
        self.root = root
        self._providers: dict[str, Provider] = {}
        self._local: dict[str, Provider] = {}
        self._lock = threading.Lock()
        #: The child process making the calls of the providers it serves (``call_process``), when started.
        self.remote: CallProcess | None = None

    def remote_names(self, names: Iterable[str]) -> list[str]:
        """Of these providers, those a call process can serve: the built-in adapters of the SDKs."""
        served = []
        for name in sorted(set(names)):
            kind = self.kind_of(name)
            if kind in BUILT_IN and ADAPTERS.get(kind) == BUILT_IN[kind]:
                served.append(name)
        return served

    def kind_of(self, name: str) -> str:
        """The adapter kind of provider ``name``: its table's ``kind``, else the name itself."""
        settings = self.config.providers.get(name)
        return (settings.kind if settings else None) or name

    def start_remote(self, names: Iterable[str], size: int, spare: Spawned | None = None) -> CallProcess | None:
        """Make the calls of these providers in a child process from now on (none of them: nothing started);
        ``spare``, a child started before the run configured (``child_process``), is taken or ended."""
        served = self.remote_names(names)
        if not served or self.remote is not None or os.name != "posix":  # it hands the child a socket's descriptor
            if spare is not None:
                spare.discard()
            return self.remote
        from pytest_llmversion.providers.call_process import CallProcess

        try:
            self.remote = CallProcess(self.config, self.root, served, size, spare)
        except OSError:
            if spare is not None:
                spare.discard()
            return None  # no process to be had: the calls are made here, as without one
        return self.remote

    def stop_remote(self) -> None:
        """Make every later call in this process: the call process is ended at once (a run too short for it, or
        one that never reached its end)."""
        with self._lock:
            remote, self.remote = self.remote, None
            if remote is not None:
                self._providers = {name: p for name, p in self._providers.items() if name not in remote.names}
        if remote is not None:
            remote.close(kill=True)

    def provider(self, ref: ModelRef) -> Provider:
        with self._lock:
            if ref.provider not in self._providers:
                remote = self.remote
                # checked again now: a conftest or test module may have put its own adapter in ADAPTERS since
                if remote is not None and ref.provider in remote.names and self.remote_names([ref.provider]):
                    self._providers[ref.provider] = remote.provider(ref.provider, partial(self._local_provider, ref))
                else:
                    self._providers[ref.provider] = self._build(ref.provider)
            return self._providers[ref.provider]

    def _local_provider(self, ref: ModelRef) -> Provider:
        """The adapter built in this process (the call process has stopped)."""
        with self._lock:
            if ref.provider not in self._local:
                self._local[ref.provider] = self._build(ref.provider)
            return self._local[ref.provider]

    def _build(self, name: str) -> Provider:
        if name == "scripted":
            from pytest_llmversion.providers.scripted import ScriptedProvider

            return ScriptedProvider(self.root / self.config.scripted_models, self.root)
        settings = self.config.providers.get(name)
        kind = self.kind_of(name)
        target = ADAPTERS.get(kind)
        if target is None:
            raise SetupError(f"no adapter for provider '{name}' (kind {kind!r})")
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        built: Any = getattr(module, attr)(name, settings, self.config)
        return built  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release each adapter's SDK client (its HTTP connection pool)."""
        with self._lock:
            providers, self._providers = list(self._providers.values()), {}
            providers += self._local.values()
            self._local = {}
            remote, self.remote = self.remote, None
        if remote is not None:
            remote.close()
        for provider in providers:
            close = getattr(getattr(provider, "client", None), "close", None)
            if callable(close):
                with contextlib.suppress(Exception):  # closing is best effort; the run's verdicts stand
                    close()

    def policy(self) -> RetryPolicy:
        c = self.config
        return RetryPolicy(c.max_retries, c.retry_base_delay, c.retry_max_delay, c.retry_after_cap)

    def router(
        self,
        ref: ModelRef,
        *,
        with_fallbacks: bool = True,
        guard: CallGuard | None = None,
        rejected_params: Callable[[ModelRef], tuple[str, ...]] | None = None,
    ) -> Router:
        chain = [ref]
        if with_fallbacks:
            chain += [self.config.ref(text) for text in self.config.fallback_models if text != str(ref)]
        return Router(chain, self.provider, self.policy(), guard=guard, rejected_params=rejected_params)
