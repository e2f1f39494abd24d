"""Keeping API keys out of everything the plugin prints or writes, in whatever form a server quotes them.

A *known secret* is every key an adapter read, plus the value of every provider key variable in the
environment. :func:`scrub` replaces with ``***``:

- a known secret whole, even split by whitespace or an escaped line break (``\\n``);
- its base64 in each of the three alignments (``Basic`` headers and tokens encode a key after other bytes);
- any 8-character piece of it (a key cut short, or split in two) once its public prefix (``sk-proj-``,
  ``sk-ant-api03-``, ...) is set aside, and any 8-character piece of the base64 of what follows the prefix;
- the masked form providers print, first characters, a run of ``*`` (or ``...``), last characters;
- key-shaped tokens, configured or not: ``sk-`` and ``AIza`` keys, and their masked forms.

A public prefix alone, or an ordinary word, is never touched. :func:`printable` replaces lone surrogates (a
model may answer with one) with U+FFFD, for text bound for a terminal, a JSON report or an XML file: none
of them can hold one. Rules and their reasons: docs/providers.md §7.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: The variables each built-in provider reads its key from, in order of preference.
KEY_ENVS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "google-legacy": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}
_KEY_VARIABLES = frozenset(v for names in KEY_ENVS.values() for v in names)
#: Shortest value treated as a secret when scrubbing (shorter ones would redact ordinary words).
MIN_SECRET = 6
#: A piece of a key this long is the key: no word, id or path of ours holds 8 characters of one by chance.
PIECE = 8
MESSAGE_LIMIT = 300
MASK = "***"
#: Prefixes the providers publish, the same in every key: alone they say nothing, so they stay readable.
PUBLIC_PREFIXES = (
    "sk-ant-admin01-",
    "sk-ant-api03-",
    "sk-ant-",
    "sk-svcacct-",
    "sk-admin-",
    "sk-proj-",
    "sk-",
    "AIza",
)
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
#: Whitespace, or a line break as a JSON or Python string escapes it, between two characters of a key.
_GAP = r"(?:\s|\\[nrt])*"
#: A mask: a run of stars or bullets, or an ellipsis.
_MASK_RUN = r"(?:[*•·]{3,}|…|\.{3,})"
#: Keys of any configured provider or none, as providers quote them: whole, or masked.
_KEY_SHAPED = re.compile(
    rf"(?<![A-Za-z0-9])(?:sk-[A-Za-z0-9_-]{{20,}}|AIza[0-9A-Za-z_-]{{30,}}|(?:sk-|AIza)[A-Za-z0-9_-]*{_MASK_RUN}[A-Za-z0-9_-]{{2,}})"
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def remember_secret(value: str) -> None:
    if len(value) >= MIN_SECRET:
        with _secrets_lock:
            _secrets.add(value)


def known_secrets() -> set[str]:
    """Keys adapters used, plus any provider key in the environment (even ones no adapter read)."""
    return set(_secrets) | _environment_secrets()


def _is_key_variable(name: str) -> bool:
    return name in _KEY_VARIABLES or name.endswith("_API_KEY")


@dataclass
class _EnvironmentKeys:
    """The provider keys in the environment, kept between calls. Asked several times per item: reading
    ``os.environ`` decodes every variable, and pytest rewrites ``PYTEST_CURRENT_TEST`` at every phase of every
    test. So the names of the raw table are compared (in C) with those seen last, and only the values of the key
    variables among them are read again."""

    names: frozenset[object] = frozenset()
    variables: tuple[object, ...] = ()
    values: tuple[object, ...] | None = None
    secrets: frozenset[str] = frozenset()


_environment = _EnvironmentKeys()
_environment_lock = threading.Lock()


def _environment_secrets() -> frozenset[str]:
    global _environment
    raw = getattr(os.environ, "_data", None)
    if not isinstance(raw, dict):  # not CPython's table: read it all
        return _read_environment_secrets()
    seen = _environment
    if raw.keys() != seen.names:
        variables = tuple(name for name in raw if _is_key_variable(_decoded(name)))
        seen = _EnvironmentKeys(frozenset(raw), variables)
    values = tuple(raw.get(name) for name in seen.variables)
    if values == seen.values:
        return seen.secrets
    with _environment_lock:
        _environment = _EnvironmentKeys(seen.names, seen.variables, values, _read_environment_secrets())
        return _environment.secrets


def _read_environment_secrets() -> frozenset[str]:
    found = set()
    for variable, value in os.environ.items():
        if _is_key_variable(variable) and len(value.strip()) >= MIN_SECRET:
            found.add(value.strip())
    return frozenset(found)


def _decoded(name: object) -> str:
    return name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else str(name)


def redact(text: str) -> str:
    """``text`` with every known secret and key-shaped token replaced by ``***``, folded to one line."""
    return one_line(scrub(text))


def redactor() -> Callable[[str], str]:
    """:func:`redact` for many texts at once: the secrets are looked up once (``known_secrets`` reads the whole
    environment), for a per-item hot path such as the JUnit properties."""
    rules = _rules(frozenset(known_secrets()))
    return lambda text: one_line(printable(_scrub(text, rules)))


def scrub(text: str) -> str:
    """``text`` with every known secret (in any of the forms above) and key-shaped token replaced by ``***``."""
    return _scrub(text, _rules(frozenset(known_secrets())))


def safe_tree(value: Any) -> Any:
    """``value`` (plain data: dicts, lists, text, numbers) with :func:`safe_text` applied to every string in it,
    the keys of mappings included; the secrets are looked up once for the whole tree. A tree with nothing to
    replace (nearly every one) comes back as it is, tuples included (:func:`_untouched`)."""
    rules = _rules(frozenset(known_secrets()))
    return value if _untouched(value, rules) else _walk_tree(value, rules)


def _walk_tree(value: Any, rules: _Rules) -> Any:
    def walk(item: Any) -> Any:
        if isinstance(item, str):
            if len(item) < MIN_SECRET:  # too short to hold any form of a key: only a surrogate to replace
                return item if item.isascii() else printable(item)
            return printable(_scrub(item, rules))
        if isinstance(item, dict):
            return {walk(key): walk(child) for key, child in item.items()}
        if isinstance(item, list | tuple):
            return [walk(child) for child in item]
        return item

    return walk(value)


#: What JSON escapes besides a line break and a tab (which the rules also read escaped: ``_GAP``).
_OPAQUE_ESCAPES = ("\\u00", "\\b", "\\f")


def _untouched(value: Any, rules: _Rules) -> bool:
    """Whether no string of ``value`` would change: the whole tree as one JSON text, made in C, holds no secret in
    any form, no start of a key-shaped token and no lone surrogate. JSON's escapes cannot hide a match: a key
    holds nothing JSON escapes (else ``json_safe`` is false), an escaped line break or tab between its pieces
    is a gap the rules allow, a run of key characters only grows by an escape's letter (every piece of it is
    still there), and any other escape, or ``sk-``/``AIza`` anywhere (a token's start may follow an escape),
    sends the tree to the walk. Objects JSON cannot write are left alone, as the walk leaves them."""
    if not rules.json_safe:
        return False
    try:
        text = json.dumps(value, ensure_ascii=False, default=_left_alone)
    except (TypeError, ValueError, RecursionError):
        return False  # keys JSON cannot hold, a circular tree: the walk decides
    if "sk-" in text or "AIza" in text or any(escape in text for escape in _OPAQUE_ESCAPES):
        return False
    if not text.isascii() and _LONE_SURROGATE.search(text):
        return False
    if rules.whole is not None and rules.whole.search(text):
        return False
    if rules.masked is not None and rules.masked.search(text):
        return False
    return not (rules.pieces and any(_holds_piece(m.group(), rules.pieces) for m in rules.tokens.finditer(text)))


def _left_alone(item: object) -> None:
    return None


def _holds_piece(token: str, pieces: frozenset[str]) -> bool:
    return any(token[start : start + PIECE] in pieces for start in range(len(token) - PIECE + 1))


def _scrub(text: str, rules: _Rules) -> str:
    if rules.whole is not None:
        text = rules.whole.sub(MASK, text)
    if rules.masked is not None:  # before pieces: hiding the first 8 characters alone would leave the last 4
        text = rules.masked.sub(MASK, text)
    if rules.pieces:
        text = rules.tokens.sub(lambda found: _cover_pieces(found.group(), rules.pieces), text)
    return _KEY_SHAPED.sub(MASK, text) if "sk-" in text or "AIza" in text else text


def redact_bytes(data: bytes) -> bytes:
    """``data`` (a response body) scrubbed as :func:`scrub` does; bytes that are not UTF-8 pass unchanged."""
    return scrub(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


def printable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD: UTF-8, JSON text and XML cannot hold one."""
    if text.isascii():  # in C, far faster than the search: nearly every text
        return text
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


def safe_text(text: str) -> str:
    """Text as it may be printed or written: :func:`scrub`, then :func:`printable`."""
    return printable(scrub(text))


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the rules, compiled once per set of secrets ------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    #: Each secret and its base64 forms, whitespace allowed between any two characters.
    whole: re.Pattern[str] | None
    #: Runs of the characters secrets (and base64) are made of: where a piece can hide.
    tokens: re.Pattern[str]
    #: Every 8-character piece of each secret (its public prefix aside) and of that part's base64.
    pieces: frozenset[str]
    #: First characters, a mask, last characters.
    masked: re.Pattern[str] | None
    #: No secret holds a character JSON escapes (a quote, a backslash, a control character): ``_untouched`` may
    #: look for them in a tree's JSON text.
    json_safe: bool = True


@functools.lru_cache(maxsize=8)
def _rules(secrets: frozenset[str]) -> _Rules:
    forms: set[str] = set()
    pieces: set[str] = set()
    masks: list[str] = []
    for secret in secrets:
        forms.add(secret)
        forms.update(_base64_forms(secret))
        private = secret.removeprefix(public_prefix(secret))
        for form in (private, *_base64_forms(private)):
            pieces.update(form[i : i + PIECE] for i in range(len(form) - PIECE + 1))
        if len(secret) >= 10:
            masks.append(f"{re.escape(secret[:4])}[A-Za-z0-9_-]*?{_MASK_RUN}[A-Za-z0-9_-]*?{re.escape(secret[-4:])}")
    alphabet = {ch for secret in secrets for ch in secret if not ch.isspace()} | _B64_ALPHABET | {"="}
    whole = "|".join(_GAP.join(map(re.escape, form)) for form in sorted(forms, key=len, reverse=True) if form)
    return _Rules(
        re.compile(whole) if whole else None,
        re.compile(f"[{_char_class(alphabet)}]{{{PIECE},}}"),
        frozenset(pieces),
        re.compile("|".join(masks)) if masks else None,
        json_safe=not any(ch in '"\\' or ch < " " for secret in secrets for ch in secret),
    )


def public_prefix(secret: str) -> str:
    """The provider's published prefix of ``secret`` (the longest that fits), or ``""``."""
    return next((prefix for prefix in PUBLIC_PREFIXES if secret.startswith(prefix)), "")


def _base64_forms(secret: str) -> list[str]:
    """The part of ``base64(x + secret + y)`` that depends on ``secret`` alone, for each length of ``x`` modulo 3,
    in the standard and URL-safe alphabets."""
    data = secret.encode("utf-8", "surrogatepass")
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data + b"\0\0").decode()
        start = -(-shift * 8 // 6)  # the first character made of the secret's bits alone
        end = (shift + len(data)) * 8 // 6  # past the last one
        inner = encoded[start:end]
        if len(inner) >= PIECE:
            forms += [inner, inner.replace("+", "-").replace("/", "_")]
    return forms


def _cover_pieces(token: str, pieces: frozenset[str]) -> str:
    """``token`` with every stretch made of known 8-character pieces replaced by ``***``."""
    covered = [False] * len(token)
    for start in range(len(token) - PIECE + 1):
        if token[start : start + PIECE] in pieces:
            covered[start : start + PIECE] = [True] * PIECE
    if not any(covered):
        return token
    out: list[str] = []
    for index, char in enumerate(token):
        if not covered[index]:
            out.append(char)
        elif index == 0 or not covered[index - 1]:
            out.append(MASK)
    return "".join(out)


def _char_class(chars: Iterable[str]) -> str:
    return "".join(re.escape(ch) for ch in sorted(chars))
