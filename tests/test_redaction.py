"""The redaction rules (``pytest_llmversion.redaction``, docs/providers.md §7) on their own, and the report
schema that applies them to everything it holds. ``test_secrets`` runs them end to end through every provider."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmversion import redaction
from pytest_llmversion.redaction import known_secrets, redact, redact_bytes, safe_text, safe_tree, scrub
from pytest_llmversion.report.schema import CallView, ItemResult
from pytest_llmversion.verdict import Verdict

KEY = "sk-proj-Zq8vN3kLm2Xy7RtB5wQp9JcD4hFs6GaT1uVe"
PRIVATE = KEY.removeprefix("sk-proj-")


@pytest.fixture(autouse=True)
def _configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(KEY, id="whole"),
        pytest.param(f"{KEY[:11]}\n{KEY[11:]}", id="split by a line break"),
        pytest.param(f"{KEY[:11]}\\n{KEY[11:]}", id="split by an escaped line break"),
        pytest.param(f"{KEY[:20]} {KEY[20:]}", id="split by a space"),
        pytest.param(KEY[:-3], id="cut short"),
        pytest.param(KEY[5:], id="cut at the front"),
        pytest.param(f"{KEY[:8]}{'*' * 24}{KEY[-4:]}", id="masked first 8 and last 4"),
        pytest.param(f"{KEY[:8]}...{KEY[-4:]}", id="masked with an ellipsis"),
        *(
            pytest.param(base64.b64encode((pad + KEY).encode()).decode(), id=f"base64 after {len(pad)} bytes")
            for pad in ("", "u:", "us:")
        ),
        pytest.param(base64.urlsafe_b64encode(("x" + KEY).encode()).decode(), id="url-safe base64"),
    ],
)
def test_a_configured_key_is_hidden_in_every_form_a_server_quotes_it(form: str) -> None:
    said = scrub(f"Incorrect API key provided: {form}. Check your key.")
    quoted = said.removeprefix("Incorrect API key provided: ").removesuffix(". Check your key.")
    assert len(quoted) < len(said) - 40  # the text around the key is kept
    assert "***" in quoted
    squashed = "".join(quoted.replace("\\n", "").split())
    assert not any(PRIVATE[i : i + 8] in squashed for i in range(len(PRIVATE) - 7)), said
    assert not quoted.endswith(KEY[-4:])


@pytest.mark.parametrize(
    "token",
    ["sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5qRs8t", "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "sk-abcd...wxyz"],
)
def test_a_key_shaped_token_no_provider_has_is_hidden_too(token: str) -> None:
    assert scrub(f"bad key {token} here") == "bad key *** here"


def test_public_prefixes_and_ordinary_text_stay_readable() -> None:
    text = "Keys start with sk-proj- or sk-ant-; Zq8vN3 is short; international organisations, AIza alone."
    assert scrub(text) == text
    assert redact("  two\n lines  ") == "two lines"


def test_bytes_are_scrubbed_and_bytes_that_are_not_utf8_pass() -> None:
    assert redact_bytes(f'{{"error": "key {KEY}"}}'.encode()) == b'{"error": "key ***"}'
    assert redact_bytes(b"\xff\xfe" + KEY.encode()) == b"\xff\xfe***"


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    assert safe_text("caf\udce9 " + KEY) == "caf\ufffd ***"


def test_the_report_schema_holds_no_key_and_no_lone_surrogate_whatever_it_is_given() -> None:
    """Every string of an item (outputs, checks, the calls of a multi-call test) is scrubbed when the typed result
    is made, so every view of it (report.json, Markdown, HTML, the step summary, JUnit) is."""
    quoted = base64.b64encode(f"u:{KEY}".encode()).decode()
    item = ItemResult(
        nodeid="tests/test_a.py::test_x[current]",
        test="tests/test_a.py::test_x",
        role="current",
        model="openai/gpt-4o",
        verdict=Verdict.ERROR,
        message=f"the server said {quoted}",
        output=f"an answer \ud800 quoting {KEY[:-2]}",
        calls_detail=[CallView(request=f"user: {KEY}", output="\udfff", error=KEY[4:])],
        notes=[f"{{'k': '{KEY[:12]}\\n{KEY[12:]}'}}"],
    )
    dumped = item.model_dump_json()
    json.loads(dumped)  # valid JSON: no lone surrogate
    assert not any(PRIVATE[i : i + 8] in dumped for i in range(len(PRIVATE) - 7)), dumped
    assert item.output == "an answer \ufffd quoting sk-proj-***"  # the public prefix says nothing
    assert item.calls_detail[0].output == "\ufffd"
    again = ItemResult.model_validate_json(dumped)  # the controller reads what a worker sent
    assert again == item


def test_keys_in_the_environment_are_seen_as_they_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept between calls (pytest rewrites PYTEST_CURRENT_TEST at every phase), read again when a key changes."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MYCO_API_KEY", raising=False)
    first, second, third = "sk-env" + "Q7w" * 8, "sk-env" + "Z4x" * 8, "in" + "Kp9" * 6
    assert scrub(f"a {first} b") == "a *** b"  # key-shaped: hidden whether or not it is known
    monkeypatch.setenv("OPENAI_API_KEY", first)
    assert first in known_secrets()
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/test_x.py::test_y (call)")
    assert first in known_secrets()
    monkeypatch.setenv("OPENAI_API_KEY", second)
    assert second in known_secrets()
    assert first not in known_secrets()
    monkeypatch.setenv("MYCO_API_KEY", third)  # any *_API_KEY variable, added during the run
    assert scrub(f"token={third}") == "token=***"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert second not in known_secrets()
    assert third in known_secrets()


# -- a tree with nothing to hide is not walked: the shortcut must agree with the walk ------------------------

_FRAGMENTS = [
    KEY,
    f"{KEY[:11]}\n{KEY[11:]}",
    f"{KEY[:11]}\\n{KEY[11:]}",
    f"{KEY[:9]}\x0b{KEY[9:]}",
    f"{KEY[:9]}\x1c{KEY[9:]}",
    f"{KEY[:9]}\u2028{KEY[9:]}",
    f"{KEY[:9]}\t{KEY[9:]}",
    KEY[12:30],
    PRIVATE[3:11],
    f"{KEY[:8]}{'*' * 10}{KEY[-4:]}",
    f"{KEY[:8]}...{KEY[-4:]}",
    base64.b64encode(("us:" + KEY).encode()).decode(),
    base64.urlsafe_b64encode(("x" + KEY).encode()).decode()[4:30],
    "sk-" + "Ab3" * 9,
    "AIza" + "Sy7" * 12,
    "\ud83d",
    '"quoted" \\ back\\slash',
    "\x00\x01\x08\x0c\x1f",
    "é 日本 😀",
    "sk-proj-",
    "plain words",
    "",
]

_texts = st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=12), max_size=4).map("".join)
_trees = st.recursive(
    _texts | st.integers() | st.none() | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_texts, inner, max_size=3)
    ),
    max_leaves=10,
)


def _lists(value: object) -> object:
    if isinstance(value, dict):
        return {key: _lists(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(child) for child in value]
    return value


@given(_trees)
@settings(max_examples=400, deadline=None)
def test_the_tree_shortcut_agrees_with_the_walk_string_by_string(tree: object) -> None:
    rules = redaction._rules(frozenset(known_secrets()))
    expected = redaction._walk_tree(tree, rules)
    assert _lists(safe_tree(tree)) == expected
    if redaction._untouched(tree, rules):
        assert _lists(tree) == expected


def test_a_secret_json_would_escape_is_always_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    odd = 'sk"odd\\key-' + "Wq5" * 6
    monkeypatch.setenv("ODD_API_KEY", odd)
    assert safe_tree({"text": f"x {odd} y"}) == {"text": "x *** y"}
    assert safe_tree([f"<{odd}>"]) == ["<***>"]
