"""The one base class of every error pytest-llmversion raises on purpose.

Each loader, check and command raises a subclass of :class:`LLMVersionError` whose message is one line naming
the file, option, marker or key at fault. Anything else escaping the plugin is a bug in it, and the fuzz tests
(``tests/test_fuzz.py``) hold it to that. Subclasses keep their other bases (``ValueError`` for most loaders),
so code that caught those still does.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LLMVersionError(Exception):
    """An error of pytest-llmversion's own: one line for people, naming what to fix.

    Messages quote what users wrote (a key, a case id, a model name), and that may hold a line break or a
    control character: the message is kept on one line by writing those as escapes (``\\n``). The few errors
    whose message is a block on purpose (a STALE golden's request diff) set ``one_line = False``.
    """

    one_line: ClassVar[bool] = True

    def __init__(self, *args: Any) -> None:
        if self.one_line and len(args) == 1 and isinstance(args[0], str):
            args = (escape_unprintable(args[0]),)
        super().__init__(*args)


def escape_unprintable(text: str) -> str:
    """``text`` with each character that is not printable (line breaks, tabs, controls, lone surrogates) written
    as its Python escape; everything else, accents and emoji included, as it is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
