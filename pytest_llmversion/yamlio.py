"""YAML as a reviewable interface: literal blocks, fixed key order, LF endings, safe loading."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pytest_llmversion.errors import LLMVersionError


class YamlFileError(LLMVersionError, ValueError):
    """A YAML file that cannot be read; the message names the file and the line."""


def _engine() -> Any:
    """PyYAML and the plugin's loader and dumpers, imported on first use (``yaml_engine``)."""
    from pytest_llmversion import yaml_engine

    return yaml_engine


#: Mapping keys both emitters write alike (the Python one writes a long or unusual one as ``? key``).
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .:/@$-]{0,63}")
#: Text longer than this written double-quoted (it holds a control character, or a space before a line break, so
#: no literal block can hold it) may reach the line width, where the emitters fold it differently.
_FOLDED = 1024
_QUOTED = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ufeff]| \n")
#: A character beyond U+FFFF, or a surrogate.
_WIDE = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")


def _same_in_libyaml(data: Any) -> bool:
    """Whether libyaml writes ``data`` as the Python emitter does: a mapping or a list (a bare scalar ends its
    document with ``...`` in one of them only) holding nothing :func:`_written_differently`."""
    return _engine().CDumper is not None and isinstance(data, dict | list) and not _written_differently(data)


def _written_differently(data: Any) -> bool:
    """Whether ``data`` holds text libyaml may write differently: a character beyond U+FFFF or a surrogate, long
    double-quoted text, or a mapping key that is not a short word (the emitters differ on when to write one as a
    complex key, ``? key``). Found by fuzzing both emitters; the tests hold the cases."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and _WIDE.search(node):
                return True
            if len(node) > _FOLDED and (_QUOTED.search(node) or node[0].isspace() or node[-1].isspace()):
                return True
        elif isinstance(node, dict):
            if not all(isinstance(key, str) and _SIMPLE_KEY.fullmatch(key) for key in node):
                return True
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return False


def dump_yaml(data: Any, header: str = "") -> str:
    engine = _engine()
    body: str = engine.yaml.dump(
        data,
        Dumper=engine.FastReviewDumper if _same_in_libyaml(data) else engine.ReviewDumper,
        sort_keys=False,
        allow_unicode=True,
        width=4096,
        default_flow_style=False,
        indent=2,
    )
    text = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + body
    return text.replace("\r\n", "\n")


def load_yaml_text(text: str, path: Path | str) -> Any:
    engine = _engine()
    yaml, loader = engine.yaml, engine.Loader
    try:
        try:
            data = yaml.load(text, Loader=loader)
        except yaml.YAMLError as exc:
            if loader is yaml.SafeLoader or "invalid Unicode character escape" not in str(exc):
                raise
            # libyaml refuses the escape of a lone surrogate ("\uD800"), which the emitter writes for a model's
            # answer that holds one; the pure-Python loader reads it back as written (slower, and only here)
            data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        hint = " (did a merge leave conflict markers?)" if "<<<<<<<" in text or ">>>>>>>" in text else ""
        raise YamlFileError(f"{path}: not valid YAML{where}: {problem}{hint}") from None
    if "*" in text and "&" in text and _holds_itself(data):
        # an alias inside its own anchor (&a [*a]) loads as a list that contains itself: every walk would loop
        raise YamlFileError(f"{path}: an alias (*name) is used inside the node its anchor (&name) marks")
    return data


def _holds_itself(data: Any) -> bool:
    """Whether a list or mapping in ``data`` contains itself, at any depth."""
    on_path: set[int] = set()
    done: set[int] = set()

    def visit(node: Any) -> bool:
        if not isinstance(node, list | dict) or id(node) in done:
            return False
        if id(node) in on_path:
            return True
        on_path.add(id(node))
        children = node.values() if isinstance(node, dict) else node
        if any(visit(child) for child in children):
            return True
        on_path.discard(id(node))
        done.add(id(node))
        return False

    return visit(data)


#: Salts the key of a cached parse: a change to how the plugin reads YAML (or to the entry's form) makes new keys.
_CACHE_FORMAT = "yaml-parse-1"


def load_yaml_cached(text: str, path: Path | str, cache: Path | None) -> Any:
    """``load_yaml_text(text, path)`` through a folder of parses keyed by the hash of the text: a large case file
    is read back as JSON (in C) instead of parsed as YAML (libyaml builds every value through Python). Only plain
    data is kept (text, numbers, true/false, null, lists, mappings with text keys), which JSON gives back exactly,
    and never a text with anchors and aliases, whose shared values JSON would copy. An entry can never be
    stale; a read-only checkout parses each time."""
    if cache is None or ("&" in text and "*" in text):
        return load_yaml_text(text, path)
    key = hashlib.sha1(f"{_CACHE_FORMAT}\n{text}".encode()).hexdigest()
    entry = cache / f"{key}.json"
    try:
        return json.loads(entry.read_bytes())
    except (OSError, ValueError):
        pass
    data = load_yaml_text(text, path)
    if not_plain(data) is None:
        from pytest_llmversion.atomic import write_atomic

        with contextlib.suppress(OSError):
            write_atomic(entry, json.dumps(data), durable=False)  # made again when lost
    return data


#: How a value YAML can hold but JSON cannot is named in messages.
_NOT_PLAIN = {bytes: "binary data (!!binary)", date: "a date", datetime: "a date and time", set: "a set (!!set)"}


def not_plain(value: Any, where: str = "") -> tuple[str, str] | None:
    """The first value that is not plain data (JSON's types, which JSON gives back exactly), with its dotted
    place, or None."""
    stack = [(where, value)]
    while stack:
        place, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):  # JSON, and so a fingerprint, has text keys only
                    return f"{place}.{key}" if place else str(key), f"a key that is not text ({key!r})"
                stack.append((f"{place}.{key}" if place else str(key), child))
        elif isinstance(item, list):
            stack.extend((f"{place}.{i}" if place else str(i), child) for i, child in enumerate(item))
        elif not (item is None or isinstance(item, str | int | float | bool)):
            return place, _NOT_PLAIN.get(type(item), f"a {type(item).__name__}")
    return None


def load_yaml_file(path: Path) -> Any:
    return load_yaml_text(read_text(path), path)


def read_text(path: Path) -> str:
    """A text file of the project, LF line endings; one line naming the file when it is not UTF-8 text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YamlFileError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    return decode_text(data, path)


def decode_text(data: bytes, path: Path | str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlFileError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}: save it as UTF-8)"
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def item_lines(text: str) -> list[int]:
    """The 1-based line where each item of a top-level YAML sequence starts (empty if none)."""
    yaml = _engine().yaml
    try:
        node = yaml.compose(text, Loader=_engine().Loader)
    except yaml.YAMLError:
        return []
    if isinstance(node, yaml.SequenceNode):
        return [int(item.start_mark.line) + 1 for item in node.value]
    return []


def duplicate_keys(text: str) -> list[tuple[str, int]]:
    """Keys repeated within one mapping, with their 1-based line: YAML loaders keep the last silently."""
    yaml = _engine().yaml
    try:
        root = yaml.compose(text, Loader=_engine().Loader)
    except yaml.YAMLError:
        return []
    found: list[tuple[str, int]] = []
    stack = [root] if root is not None else []
    visited: set[int] = set()  # an alias is the same node again (and may sit inside itself)
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
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
