"""An LLM item is set up by a hook, and its test handed the plain llm fixtures' values, before pytest sets up
the fixtures the test still lacks.

pytest fills a test's arguments with the fixtures missing from ``item.funcargs`` only
(``TopRequest._fillfixtures``). Each fixture it sets up runs ``pytest_fixture_setup`` through every plugin,
makes a sub-request (and, for a fixture taking ``request``, a fixture definition for it) and registers a
finaliser: for a replayed item, the five of a typical test (``_llm_item``, ``request``, ``llm``, ``llm_case``,
``llm_golden``) cost more than reading and validating its golden. So ``pytest_runtest_setup`` builds the item
and puts those values in ``funcargs`` first; pytest then sets up only the test's other fixtures.

Nothing else changes for the test:

- a fixture the project defines under one of these names is its own, set up by pytest as before;
- a fixture that asks for ``llm`` (an application built around it) still gets it from pytest, which calls
  the plugin's fixture, and that returns the item built here: one item, one client;
- the SDK clients the application built are the plugin's (``sdk.intercept``) from before the first fixture's
  set-up to after the last one's teardown, as when ``_llm_item`` was set up first of all;
- ``--setup-show`` and ``--setup-plan`` list every fixture: under them pytest sets all of them up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmversion.state import ITEM, STATE

if TYPE_CHECKING:
    from pytest_llmversion.run.item import LLMItem
    from pytest_llmversion.run.spec import ItemSpec

#: The item's interception of SDK clients, open from its set-up to its teardown; set when this module set it up.
OPEN: pytest.StashKey[contextlib.ExitStack] = pytest.StashKey()

#: Where the plugin's fixtures are defined: a fixture of the same name defined elsewhere is the project's.
FIXTURES_MODULE = "pytest_llmversion.plugin"


def _config(node: pytest.Item, item: LLMItem) -> Any:
    config = node.config.stash[STATE].context().config
    return config.model_copy(update={"model": str(item.model)})


#: The fixtures handed over, each from the item as its fixture in ``plugin`` computes it (None: left to pytest,
#: whose set-up of the fixture then reports why, as ``llm_case`` does for a test without ``cases=``).
VALUES: dict[str, Callable[[pytest.Item, LLMItem], Any]] = {
    "_llm_item": lambda node, item: item,
    "llm": lambda node, item: item.client,
    "llm_model": lambda node, item: item.model,
    "llm_role": lambda node, item: item.spec.role,
    "llm_case": lambda node, item: item.spec.case,
    "llm_golden": lambda node, item: item.golden_checker(),
    "llm_config": _config,
}


def sets_up(item: pytest.Item) -> bool:
    """Whether this module sets the item up: a test function (it has ``funcargs``), and not under
    ``--setup-show`` or ``--setup-plan``, which show each fixture pytest sets up."""
    return isinstance(item, pytest.Function) and not item.config.getoption("setupshow", False)


def set_up(node: pytest.Function, spec: ItemSpec) -> None:
    """Build the item, open its interception of SDK clients and hand the test the fixtures' values."""
    from pytest_llmversion.sdk_fixtures import intercepted

    state = node.config.stash[STATE]
    item = node.stash[ITEM] = state.context().item(spec, node.nodeid)
    stack = contextlib.ExitStack()
    stack.enter_context(intercepted(node.config, node.nodeid, item))
    node.stash[OPEN] = stack
    funcargs = node.funcargs
    definitions = node._fixtureinfo.name2fixturedefs
    for name in node.fixturenames:
        make = VALUES.get(name)
        if make is None or name in funcargs:
            if name == "request" and name not in funcargs:  # what pytest would give: the test's own request
                own = getattr(node, "_request", None)
                if own is not None:
                    funcargs[name] = own
            continue
        defined = definitions.get(name)
        if not defined or getattr(defined[-1].func, "__module__", None) != FIXTURES_MODULE:
            continue  # the project's own fixture of that name
        value = make(node, item)
        if value is not None:
            funcargs[name] = value


def set_up_by_hook(node: pytest.Item) -> LLMItem | None:
    """The item ``set_up`` built for this test, for the plugin's ``_llm_item`` fixture when another fixture asks
    for it; None when the fixture sets the item up itself."""
    return node.stash.get(ITEM, None) if OPEN in node.stash else None


def tear_down(node: pytest.Item) -> None:
    """Close the item's interception, after every fixture's teardown."""
    stack = node.stash.get(OPEN, None)
    if stack is not None:
        del node.stash[OPEN]
        stack.close()
