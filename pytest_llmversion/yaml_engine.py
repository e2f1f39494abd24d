"""PyYAML, loaded the first time a YAML text is read or written (``yamlio``): a replay whose goldens and case
files come from their parse caches never imports it.

The loader is libyaml's where it is installed; the review dumper writes multi-line strings as ``|`` blocks, no
anchors or aliases, keys in insertion order, through libyaml's emitter where it writes the same bytes.
"""

from __future__ import annotations

from typing import Any

import yaml

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoAliases:
    def ignore_aliases(self, data: Any) -> bool:
        return True


class ReviewDumper(_NoAliases, yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, no anchors/aliases, keys in insertion order."""


CDumper: type[Any] | None = getattr(yaml, "CSafeDumper", None)


class FastReviewDumper(_NoAliases, CDumper or yaml.SafeDumper):  # type: ignore[misc]
    """The same document through libyaml's emitter (about ten times faster), for documents it writes byte for
    byte as the Python emitter does (``yamlio._same_in_libyaml``)."""


#: Characters YAML reads as line breaks (besides "\n"); text holding them is double-quoted.
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(ch in value for ch in _OTHER_BREAKS):
        # only a double-quoted scalar escapes them; any other style reads them back as "\n"
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        # PyYAML falls back to a quoted scalar by itself when a literal block cannot hold the text.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


ReviewDumper.add_representer(str, _represent_str)
FastReviewDumper.add_representer(str, _represent_str)
