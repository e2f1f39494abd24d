"""YAML as a reviewable interface: literal blocks, fixed key order, LF endings, safe loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlFileError(ValueError):
    """A YAML file that cannot be read; the message names the file and the line."""


class _ReviewDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, no anchors/aliases, keys in insertion order."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


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


_ReviewDumper.add_representer(str, _represent_str)


def dump_yaml(data: Any, header: str = "") -> str:
    body = yaml.dump(
        data,
        Dumper=_ReviewDumper,
        sort_keys=False,
        allow_unicode=True,
        width=4096,
        default_flow_style=False,
        indent=2,
    )
    text = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + body
    return text.replace("\r\n", "\n")


def load_yaml_text(text: str, path: Path | str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        hint = " (did a merge leave conflict markers?)" if "<<<<<<<" in text or ">>>>>>>" in text else ""
        raise YamlFileError(f"{path}: not valid YAML{where}: {problem}{hint}") from None


def load_yaml_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlFileError(f"{path}: not UTF-8 text") from None
    return load_yaml_text(text.replace("\r\n", "\n"), path)


def item_lines(text: str) -> list[int]:
    """The 1-based line where each item of a top-level YAML sequence starts (empty if none)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return []
    if isinstance(node, yaml.SequenceNode):
        return [int(item.start_mark.line) + 1 for item in node.value]
    return []


def duplicate_keys(text: str) -> list[tuple[str, int]]:
    """Keys repeated within one mapping, with their 1-based line: YAML loaders keep the last silently."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return []
    found: list[tuple[str, int]] = []
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        found.append((key.value, key.start_mark.line + 1))
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(found, key=lambda kv: kv[1])
