"""How an LLM item's test body runs: once per sample, sync or ``async def``, then the item's kind judges it.

``async def`` tests run on the async plugin the user chose, on that plugin's event loop (never a second
one of ours):

* pytest-asyncio (strict mode with ``@pytest.mark.asyncio``, or auto mode) hands pytest a synchronous
  ``obj`` that runs the coroutine on its runner: a sample calls it like any test function;
* anyio's plugin (``@pytest.mark.anyio``, or its auto mode) runs the coroutine in its own
  ``pytest_pyfunc_call``: a sample calls that hook again, marked (``state.IN_SAMPLE``) so this one steps aside.

An ``async def`` test neither took is one line saying how to run it, not pytest's generic failure.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from pytest_llmversion.run.marker import MARKER
from pytest_llmversion.state import IN_SAMPLE, ITEM


class BodyRunner:
    """``pytest_pyfunc_call`` of LLM items. Registered by ``plugin.pytest_configure``, after every plugin
    pytest loads from entry points: among ``tryfirst`` implementations the last registered runs first, so this
    one runs before anyio's, which would otherwise run an async test once and report it passed, unjudged."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Run the body once per sample (fixtures set up once), then the item's kind decides its verdict."""
        item = pyfuncitem.stash.get(ITEM, None)
        if item is None or pyfuncitem.stash.get(IN_SAMPLE, False):
            return None
        function = pyfuncitem.obj
        if inspect.iscoroutinefunction(function):
            body = async_body(pyfuncitem)
        else:
            args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

            def body() -> None:
                function(**args)

        judged = item.run(body, (Exception, pytest.fail.Exception))
        if item.failed:
            if judged.reraise is not None:
                raise judged.reraise
            from pytest_llmversion.redaction import safe_text  # loaded with the item already

            # the failure text reaches the terminal and JUnit: no key in any form, no lone surrogate from an answer
            pytest.fail(safe_text(judged.outcome.message), pytrace=False)
        return True


def async_body(pyfuncitem: pytest.Function) -> Callable[[], None]:
    """One sample of an ``async def`` test whose coroutine is still to run: anyio's plugin runs it when its
    ``anyio_backend`` fixture is the test's (pytest-asyncio's tests never get here, see the module docstring)."""
    if "anyio_backend" not in pyfuncitem.funcargs:
        pytest.fail(no_async_plugin(pyfuncitem), pytrace=False)

    def body() -> None:
        pyfuncitem.stash[IN_SAMPLE] = True
        try:
            pyfuncitem.ihook.pytest_pyfunc_call(pyfuncitem=pyfuncitem)
        finally:
            del pyfuncitem.stash[IN_SAMPLE]

    return body


def no_async_plugin(pyfuncitem: pytest.Function) -> str:
    if pyfuncitem.config.pluginmanager.hasplugin("asyncio"):
        how = 'mark it @pytest.mark.asyncio (or set asyncio_mode = "auto"), or @pytest.mark.anyio for anyio\'s plugin'
    else:
        how = "install pytest-asyncio and mark it @pytest.mark.asyncio, or mark it @pytest.mark.anyio (anyio's plugin)"
    return f"{pyfuncitem.nodeid}: no async plugin runs this async {MARKER} test: {how}"
