"""Pinned or not: what a model id promises by the provider's naming rules. The catalogue, which knows
more, is asked first (``catalog.pin_status``).

A *pinned* id names one fixed snapshot (``gpt-4o-2024-08-06``, ``claude-3-5-sonnet-20241022``,
``gemini-1.5-pro-002``); an *alias* points at a snapshot the provider may move (``gpt-4o``,
``claude-3-5-sonnet-latest``); a *rolling* id is updated continuously (``chatgpt-4o-latest``);
*preview* and *experimental* ids may be swapped or withdrawn at short notice. Only pinned ids give
reproducible goldens. The rules are written up in docs/providers.md §6.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["pinned", "alias", "rolling", "preview", "experimental", "unknown"]
#: Kinds a catalogue entry may declare ("unknown" is only ever derived).
KINDS: tuple[str, ...] = ("pinned", "alias", "rolling", "preview", "experimental")

#: Provider names whose ids follow a known naming scheme; google-legacy speaks to the Gemini API.
RULE_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "gemini": "gemini", "google-legacy": "gemini"}

_OPENAI_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})(-preview)?$")
_ANTHROPIC_DATED = re.compile(r"-\d{8}$")
_ANTHROPIC_OLD = re.compile(r"^claude-(\d+)(?:-(\d))?-(?:opus|sonnet|haiku)")
_ANTHROPIC_NEW = re.compile(r"^claude-[a-z]+-(\d+)(?:-(\d{1,2}))?(?:-|$)")
_ANTHROPIC_DOTTED = re.compile(r"^claude-(?:instant-)?\d+\.\d+$")
_GEMINI_EXPERIMENTAL = re.compile(r"(^|-)(exp|experimental)(-\d+)*($|-)")
_GEMINI_VERSIONED = re.compile(r"-\d{3}$")
_GEMINI_ONE_X = re.compile(r"^gemini-(1\.\d+-[a-z0-9-]+|pro|ultra|flash|pro-vision)$")


def classify(provider: str, model_id: str) -> Kind:
    """The kind of ``provider/model_id`` by the provider's naming rules alone."""
    family = RULE_PROVIDERS.get(provider)
    if provider == "scripted":
        return "pinned"  # test doubles: a scripted model file is as fixed as the repository
    if family == "openai":
        return _openai(model_id)
    if family == "anthropic":
        return _anthropic(model_id)
    if family == "gemini":
        return _gemini(model_id.removeprefix("models/"))
    return "unknown"


def _openai(model_id: str) -> Kind:
    if model_id.endswith("-latest"):
        return "rolling"
    if model_id.startswith("ft:") or _OPENAI_DATED.search(model_id):
        return "pinned"
    if "preview" in model_id:
        return "preview"
    return "alias"


def _anthropic(model_id: str) -> Kind:
    if model_id.endswith("-latest"):
        return "alias"
    if _ANTHROPIC_DATED.search(model_id) or _ANTHROPIC_DOTTED.match(model_id):
        return "pinned"
    if "preview" in model_id:
        return "preview"
    found = _ANTHROPIC_OLD.match(model_id) or _ANTHROPIC_NEW.match(model_id)
    if found is None:
        return "unknown"
    generation = (int(found.group(1)), int(found.group(2) or 0))
    # From Claude 4.6 on, dateless ids are the snapshots; before that an undated id is an alias.
    return "pinned" if generation >= (4, 6) else "alias"


def _gemini(model_id: str) -> Kind:
    if model_id.endswith("-latest"):
        return "alias"
    if _GEMINI_EXPERIMENTAL.search(model_id):
        return "experimental"
    if "preview" in model_id:
        return "preview"
    if _GEMINI_VERSIONED.search(model_id):
        return "pinned"
    if _GEMINI_ONE_X.match(model_id):
        return "alias"  # gemini-1.5-pro and friends follow the latest -00N stable version
    return "pinned"  # 2.x and later stable names are fixed until their retirement date
