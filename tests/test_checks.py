"""The check library: every check scores in [0, 1], says whether it passed and why in one line, and is
either a format check (it gates) or a content check (it scores)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from pytest_llmversion import checks
from pytest_llmversion.checks import Check, CheckResult
from pytest_llmversion.providers.base import Completion


class Person(BaseModel):
    name: str
    age: int


@dataclass
class City:
    city: str


PERSON_SCHEMA = {
    "title": "Person",
    "type": "object",
    "required": ["name", "age"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
}


def completion(text: str) -> Completion:
    return Completion(text=text, model_requested="scripted/m1", model_served="m1")


FENCED = completion('```json\n{"name": "Ada", "age": 36}\n```')
PROSE = 'Sure! Here you go: {"name": "Ada", "age": 36}'

#: (check, output, passed, score, detail)
CASES: list[Any] = [
    # format checks
    pytest.param(checks.valid_json(), '{"a": 1}', True, 1.0, "", id="valid_json-ok"),
    pytest.param(
        checks.valid_json(),
        FENCED,
        False,
        0.0,
        "output is not valid JSON at line 1 column 1: Expecting value (the JSON is wrapped in a ```json code fence)",
        id="valid_json-fenced",
    ),
    pytest.param(
        checks.valid_json(),
        PROSE,
        False,
        0.0,
        "output is not valid JSON at line 1 column 1: Expecting value (the JSON is surrounded by prose)",
        id="valid_json-prose",
    ),
    pytest.param(checks.valid_json(), {"a": 1}, True, 1.0, "already parsed", id="valid_json-parsed"),
    pytest.param(checks.json_in_text(), FENCED, True, 1.0, "", id="json_in_text-fenced"),
    pytest.param(checks.json_in_text(), PROSE, True, 1.0, "", id="json_in_text-prose"),
    pytest.param(
        checks.json_in_text(), "no JSON here", False, 0.0, "no JSON value found in the output", id="json_in_text-none"
    ),
    pytest.param(checks.json_schema(PERSON_SCHEMA), '{"name": "Ada", "age": 36}', True, 1.0, "", id="schema-ok"),
    pytest.param(
        checks.json_schema(PERSON_SCHEMA),
        '{"name": "Ada", "age": "36"}',
        False,
        0.0,
        "age: '36' is not of type 'integer'",
        id="schema-type",
    ),
    pytest.param(
        checks.json_schema(PERSON_SCHEMA),
        '{"age": "x"}',
        False,
        0.0,
        "(root): 'name' is a required property (+1 more)",
        id="schema-two-errors",
    ),
    pytest.param(checks.json_schema(PERSON_SCHEMA, extract=True), FENCED, True, 1.0, "", id="schema-extract"),
    pytest.param(checks.pydantic_model(Person), '{"name": "Ada", "age": 36}', True, 1.0, "", id="pydantic-ok"),
    pytest.param(
        checks.pydantic_model(Person),
        '{"name": "Ada", "age": "old"}',
        False,
        0.0,
        "age: Input should be a valid integer, unable to parse string as an integer",
        id="pydantic-field",
    ),
    pytest.param(checks.pydantic_model(Person), Person(name="Ada", age=36), True, 1.0, "", id="pydantic-instance"),
    pytest.param(checks.pydantic_model(Person, extract=True), FENCED, True, 1.0, "", id="pydantic-extract"),
    pytest.param(checks.regex(r"^\d{4}-\d{2}-\d{2}$"), "2024-08-06", True, 1.0, "", id="regex-ok"),
    pytest.param(checks.regex(r"\d+", fullmatch=True), " 12a ", False, 0.0, r"no match for /\d+/", id="regex-full"),
    pytest.param(checks.parses(int), "12", True, 1.0, "", id="parses-ok"),
    pytest.param(
        checks.parses(int),
        "twelve",
        False,
        0.0,
        "ValueError: invalid literal for int() with base 10: 'twelve'",
        id="parses-fail",
    ),
    # content checks
    pytest.param(checks.contains("London"), "born in london", True, 1.0, "", id="contains-any-case"),
    pytest.param(
        checks.contains("London", case_sensitive=True),
        "born in london",
        False,
        0.0,
        "did not find 'London'",
        id="contains-case",
    ),
    pytest.param(checks.not_contains("sorry"), "Sorry, I can't", False, 0.0, "found 'sorry'", id="not_contains"),
    pytest.param(checks.not_contains("sorry"), "Here it is", True, 1.0, "", id="not_contains-ok"),
    pytest.param(checks.equals("refund"), " refund\n", True, 1.0, "", id="equals-stripped"),
    pytest.param(checks.equals("refund"), "Refund", False, 0.0, "expected refund, got Refund", id="equals-case"),
    pytest.param(checks.equals("refund", case_sensitive=False), "REFUND", True, 1.0, "", id="equals-any-case"),
    pytest.param(checks.equals({"a": 1}), {"a": 1}, True, 1.0, "", id="equals-data"),
    pytest.param(
        checks.equals({"a": 1}), City("x"), False, 0.0, 'expected {"a": 1}, got {"city": "x"}', id="equals-dc"
    ),
    pytest.param(checks.json_field("a.b[1]", 2), '{"a": {"b": [1, 2]}}', True, 1.0, "", id="json_field-path"),
    pytest.param(checks.json_field("/a/b/0", 1), '{"a": {"b": [1, 2]}}', True, 1.0, "", id="json_field-pointer"),
    pytest.param(
        checks.json_field("city", "Paris"),
        '{"city": "London"}',
        False,
        0.0,
        "city: expected Paris, got London",
        id="json_field-wrong",
    ),
    pytest.param(
        checks.json_field("a.c", 1), '{"a": {}}', False, 0.0, "a.c is missing (expected 1)", id="json_field-missing"
    ),
    pytest.param(
        checks.json_field("city", "london", case_sensitive=False), '{"city": "London"}', True, 1.0, "", id="field-case"
    ),
    pytest.param(checks.json_field("city", "London"), City("London"), True, 1.0, "", id="json_field-dataclass"),
    pytest.param(
        checks.json_field("name", "Ada"),
        FENCED,
        False,
        0.0,
        "output is not valid JSON at line 1 column 1: Expecting value (the JSON is wrapped in a ```json code fence)",
        id="json_field-strict",
    ),
    pytest.param(checks.json_field("name", "Ada", extract=True), FENCED, True, 1.0, "", id="json_field-extract"),
    pytest.param(
        checks.deep_equal({"name": "Ada", "age": 36}), '{"age": 36, "name": "Ada"}', True, 1.0, "", id="deep-ok"
    ),
    pytest.param(
        checks.deep_equal({"name": "Ada", "city": "London", "age": 36}),
        '{"name": "Ada", "city": "Paris"}',
        False,
        0.8333,
        "Item $['age'] removed from dictionary; Value of $['city'] changed from \"London\" to \"Paris\"",
        id="deep-partial",
    ),
    pytest.param(
        checks.deep_equal({"tags": [1, 2]}, ignore_order=True), '{"tags": [2, 1]}', True, 1.0, "", id="deep-io"
    ),
    pytest.param(
        checks.deep_equal({"tags": [1, 2]}),
        '{"tags": [2, 1]}',
        False,
        0.8,
        "Value of $['tags'][0] changed from 1 to 2; Value of $['tags'][1] changed from 2 to 1",
        id="deep-order",
    ),
    pytest.param(
        checks.deep_equal({"p": 0.1234}, significant_digits=2), '{"p": 0.1239}', True, 1.0, "", id="deep-digits"
    ),
    pytest.param(
        checks.deep_equal({"id": 1, "at": "09:00"}, exclude_paths=["root['at']"]),
        '{"id": 1, "at": "10:30"}',
        True,
        1.0,
        "",
        id="deep-exclude",
    ),
    pytest.param(
        checks.similarity("the cat sat on the mat"),
        "the cat sat on a mat",
        True,
        0.9048,
        "similarity 0.90 (threshold 0.8)",
        id="similarity-ok",
    ),
    pytest.param(
        checks.similarity("refund approved", threshold=0.9),
        "no",
        False,
        0.2353,
        "similarity 0.24 (threshold 0.9)",
        id="similarity-low",
    ),
    pytest.param(checks.max_length(10), "short", True, 1.0, "5 chars (limit 10)", id="max_length-ok"),
    pytest.param(checks.max_length(5), "abcdefghij", False, 0.5, "10 chars (limit 5)", id="max_length-over"),
    pytest.param(checks.max_words(3), "one two", True, 1.0, "2 words (limit 3)", id="max_words-ok"),
    pytest.param(checks.max_words(2), "one two three four", False, 0.5, "4 words (limit 2)", id="max_words-over"),
    pytest.param(checks.custom(lambda out: True, name="polite"), "x", True, 1.0, "", id="custom-bool"),
    pytest.param(checks.custom(lambda out: False, name="polite"), "x", False, 0.0, "returned False", id="custom-false"),
    pytest.param(
        checks.custom(lambda out: 0.7, name="tone", threshold=0.5), "x", True, 0.7, "", id="custom-score-passes"
    ),
    pytest.param(
        checks.custom(lambda out: (0.2, "too rude"), name="tone", threshold=0.5),
        "x",
        False,
        0.2,
        "too rude",
        id="custom-score-detail",
    ),
    pytest.param(
        checks.custom(lambda out: 0.3, name="tone", threshold=0.5),
        "x",
        False,
        0.3,
        "scored 0.30 (threshold 0.5)",
        id="custom-score-fails",
    ),
    pytest.param(checks.custom(lambda out: 3.5, name="overflow"), "x", True, 1.0, "", id="custom-clamped"),
    pytest.param(
        checks.custom(lambda out: 1 / 0, name="crashes"),
        "x",
        False,
        0.0,
        "check raised ZeroDivisionError: division by zero",
        id="custom-raises",
    ),
]


@pytest.mark.parametrize(("check", "output", "passed", "score", "detail"), CASES)
def test_each_check_scores_passes_and_explains(
    check: Check, output: Any, passed: bool, score: float, detail: str
) -> None:
    result = check(output)
    assert isinstance(result, CheckResult)
    assert (result.passed, round(result.score, 4), result.detail) == (passed, score, detail)
    assert 0.0 <= result.score <= 1.0
    assert "\n" not in result.detail


FORMAT = ["valid_json", "json_in_text", "json_schema(Person)", "pydantic_model(Person)", "regex(x)", "parses(int)"]
CONTENT = [
    "contains('x')",
    "not_contains('x')",
    "equals(x)",
    "json_field(x)",
    "deep_equal",
    "similarity(>=0.8)",
    "max_length(3)",
    "max_words(3)",
    "mine",
]


def every_check() -> list[Check]:
    return [
        checks.valid_json(),
        checks.json_in_text(),
        checks.json_schema(PERSON_SCHEMA),
        checks.pydantic_model(Person),
        checks.regex("x"),
        checks.parses(int),
        checks.contains("x"),
        checks.not_contains("x"),
        checks.equals("x"),
        checks.json_field("x", 1),
        checks.deep_equal({"x": 1}),
        checks.similarity("x"),
        checks.max_length(3),
        checks.max_words(3),
        checks.custom(lambda out: 0.5, name="mine"),
    ]


def test_every_check_is_either_a_format_or_a_content_check() -> None:
    kinds = {check.name: check.kind for check in every_check()}
    assert kinds == {**dict.fromkeys(FORMAT, "format"), **dict.fromkeys(CONTENT, "content")}
    assert checks.regex("x", kind="content").kind == "content"
    assert checks.custom(lambda out: True, kind="format").kind == "format"


@pytest.mark.parametrize(
    "output",
    ["", "x", '{"x": 1}', "[1, 2]", FENCED, "x" * 10_000, {"x": 1}, [1], None, 3.5, City("x"), Person(name="x", age=1)],
    ids=lambda output: type(output).__name__,
)
def test_no_check_raises_and_every_score_is_in_0_1(output: Any) -> None:
    for check in every_check():
        result = check(output)
        assert 0.0 <= result.score <= 1.0, (check, result)
        assert result.passed in (True, False)
        assert result.kind in ("format", "content")
        if not result.passed:
            assert result.detail, (check, result)


def test_results_round_trip_through_plain_data() -> None:
    result = checks.max_words(2)("one two three four")
    data = result.to_dict()
    assert data == {
        "name": "max_words(2)",
        "kind": "content",
        "passed": False,
        "score": 0.5,
        "detail": "4 words (limit 2)",
    }
    assert json.loads(json.dumps(data)) == data
    assert CheckResult.from_dict(data) == result


def test_a_similarity_threshold_outside_0_1_is_refused() -> None:
    with pytest.raises(ValueError, match=r"similarity threshold must be between 0 and 1, got 1\.5"):
        checks.similarity("x", threshold=1.5)


def test_similarity_counts_the_longest_common_subsequence_not_difflibs_greedy_blocks() -> None:
    # 4 of 6 characters in common, in order (a, c, a/c, ...): 2 x 4 / 12; difflib's greedy blocks found 2 (0.33)
    assert checks.similarity("abacac", threshold=0.6)("acbcab").score == pytest.approx(2 * 4 / 12)


def test_similarity_on_a_long_repetitive_answer_scores_it() -> None:
    """difflib took minutes on this (benchmarks/similarity.py times it); the score is what the formula gives."""
    golden = "your order is on its way. " * 540  # 14 KB
    result = checks.similarity(golden, threshold=0.99)(golden.replace("way", "day"))
    changed = 540  # one character substituted per phrase: one deletion and one insertion each
    assert result.score == pytest.approx(1 - 2 * changed / (2 * len(golden)))
    assert result.passed is False
    assert result.detail == "similarity 0.96 (threshold 0.99)"
