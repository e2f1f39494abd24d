"""``yamlio.dump_yaml``: goldens and recordings go through libyaml's emitter where it writes the same bytes as
PyYAML's Python emitter (ten times faster), and through the Python one for what libyaml writes otherwise."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmversion import yaml_engine, yamlio


def _python_emitter(data: object) -> str:
    return yaml.dump(
        data,
        Dumper=yaml_engine.ReviewDumper,  # the Python emitter
        sort_keys=False,
        allow_unicode=True,
        width=4096,
        default_flow_style=False,
        indent=2,
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("plain answer", id="plain"),
        pytest.param('{"city": "London"}\n', id="json line"),
        pytest.param("line one\n  indented\n\ntrailing\n", id="literal block"),
        pytest.param("trailing space \nnext", id="space before a break"),
        pytest.param("tab\there\n" * 400, id="long double-quoted"),
        pytest.param("emoji 😀\nsecond line", id="beyond the BMP"),
        pytest.param("x\ud800y", id="lone surrogate"),
        pytest.param("é ünï 日本\n" * 50, id="unicode"),
        pytest.param("a\u2028b", id="other line break"),
        pytest.param(" leading\nspace", id="leading space"),
        pytest.param("x" * 5000, id="long word"),
        pytest.param("word " * 2000, id="long words"),
    ],
)
def test_libyaml_writes_what_the_python_emitter_writes(text: str) -> None:
    for data in ({"output": text}, {"samples": [{"calls": [{"output": text, "n": 1}]}]}, {text[:80]: text}):
        assert yamlio.dump_yaml(data) == _python_emitter(data)
        assert yaml.safe_load(yamlio.dump_yaml(data)) == data or "\ud800" in text


@given(
    st.recursive(
        st.text(),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_ .-]{0,12}", fullmatch=True) | st.text(), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
@settings(max_examples=300, deadline=None)
def test_any_document_is_written_as_the_python_emitter_writes_it(data: object) -> None:
    assert yamlio.dump_yaml(data) == _python_emitter(data)


def test_a_golden_of_ordinary_text_takes_the_fast_emitter() -> None:
    golden = {
        "schema": 3,
        "test": "tests/test_city.py::test_city",
        "samples": [{"calls": [{"request": {"messages": [{"role": "user", "content": "Où est né Ada ?"}]}}]}],
        "output": '{"name": "Ada", "city": "London"}\nsecond line\n',
    }
    assert yamlio._same_in_libyaml(golden)
    assert not yamlio._same_in_libyaml({**golden, "output": "😀"})
    assert not yamlio._same_in_libyaml("a bare scalar")
