"""``scripted/<name>``: the deterministic fake every test and the demo run on.

The rules themselves are exercised on the provider directly (fast, and the file is the interface);
what a user sees when a script injects errors or is broken is exercised through pytest.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from conftest import LLMProject

from pytest_llmversion.providers.base import Message, RateLimited, Request, Unavailable
from pytest_llmversion.providers.scripted import ScriptedProvider, ScriptError

BASE = """\
# synthetic: today's model
rules:
  - name: city
    when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
  - name: greeting
    when: {user_contains: hello}
    respond: "Hello! How can I help?"
default:
  respond: "I don't know."
"""


def request(user: str, system: str | None = None, **params: object) -> Request:
    messages = ((Message("system", system),) if system else ()) + (Message("user", user),)
    return Request(messages, params)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "m1.yaml").write_text(BASE)
    return folder


def write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.yaml").write_text(textwrap.dedent(text))


def answer(folder: Path, model: str, user: str, **kwargs: object) -> str:
    return ScriptedProvider(folder, folder.parent).complete(request(user, **kwargs), model).text  # type: ignore[arg-type]


# -- rules and templates ---------------------------------------------------------------------------


def test_the_first_matching_rule_answers_from_its_template_else_the_default(models: Path) -> None:
    assert answer(models, "m1", "Ada Lovelace was born in London.") == '{"name": "Ada Lovelace", "city": "London"}'
    assert answer(models, "m1", "HELLO there") == "Hello! How can I help?"  # matching is case-insensitive
    assert answer(models, "m1", "What is 2 + 2?") == "I don't know."


def test_matchers_combine_on_system_prompt_parameters_any_and_all(models: Path) -> None:
    write(
        models,
        "m",
        """\
        rules:
          - when: {all: [{system_contains: triage}, {param: {temperature: 0.7}}]}
            respond: hot triage
          - when: {system_contains: triage}
            respond: triage
          - when: {any: [{contains: refund}, {contains: chargeback}]}
            respond: billing
        default: {respond: other}
        """,
    )
    provider = ScriptedProvider(models)
    assert provider.complete(request("x", "You triage tickets.", temperature=0.7), "m").text == "hot triage"
    assert provider.complete(request("x", "You triage tickets.", temperature=0.0), "m").text == "triage"
    assert provider.complete(request("a chargeback, please"), "m").text == "billing"
    assert provider.complete(request("hello"), "m").text == "other"


def test_templates_fill_captures_input_and_json_escaped_values(models: Path) -> None:
    write(
        models,
        "m",
        """\
        rules:
          - when: {regex: "name=(?P<name>\\\\w+)"}
            respond: '{"name": {{name|json}}, "asked": {{ input | json }}, "raw": "{{name}}", "none": "{{nothing}}"}'
        """,
    )
    text = answer(models, "m", 'name=Ada says "hi"\nthen leaves')
    assert text == '{"name": "Ada", "asked": "name=Ada says \\"hi\\"\\nthen leaves", "raw": "Ada", "none": ""}'


def test_no_matching_rule_and_no_default_is_a_provider_error_naming_the_model(models: Path) -> None:
    write(models, "m", "rules:\n  - when: {contains: refund}\n    respond: billing\n")
    with pytest.raises(Exception, match=r"^scripted/m: no rule matches and there is no default \(last user message"):
        answer(models, "m", "hello")


# -- extends and transforms: imitating a version change ----------------------------------------


def test_extends_replaces_a_named_rule_in_place_and_inherits_the_rest(models: Path) -> None:
    write(
        models,
        "m2",
        """\
        # synthetic: the next version
        extends: m1
        rules:
          - name: greeting
            when: {user_contains: hello}
            respond: "Hi there! I'm the new model and I'm happy to help you today."
          - when: {contains: weather}
            respond: sunny
        """,
    )
    assert answer(models, "m2", "hello") == "Hi there! I'm the new model and I'm happy to help you today."
    assert answer(models, "m2", "Ada Lovelace was born in London.") == '{"name": "Ada Lovelace", "city": "London"}'
    assert answer(models, "m2", "weather?") == "sunny"
    assert answer(models, "m2", "2 + 2?") == "I don't know."  # the default is inherited


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        pytest.param("{fence: json}", '```json\n{"name": "Ada Lovelace", "city": "London"}\n```', id="fence"),
        pytest.param("{fence: true}", '```\n{"name": "Ada Lovelace", "city": "London"}\n```', id="plain-fence"),
        pytest.param("{drop_fields: [city]}", '{"name": "Ada Lovelace"}', id="drop"),
        pytest.param("{rename_fields: {city: town}}", '{"name": "Ada Lovelace", "town": "London"}', id="rename"),
        pytest.param(
            "{set_fields: {confidence: 0.9}}",
            '{"name": "Ada Lovelace", "city": "London", "confidence": 0.9}',
            id="set",
        ),
        pytest.param(
            "{prefix: 'Sure! Here is the JSON: ', suffix: ' Anything else?'}",
            'Sure! Here is the JSON: {"name": "Ada Lovelace", "city": "London"} Anything else?',
            id="prefix-suffix",
        ),
        pytest.param("{truncate: 12}", '{"name": "Ad', id="truncate"),
        pytest.param(
            '{drop_fields: [name], fence: json, prefix: "Result:\\n"}',
            'Result:\n```json\n{"city": "London"}\n```',
            id="in-order",
        ),
    ],
)
def test_transforms_imitate_how_a_new_version_answers(models: Path, transform: str, expected: str) -> None:
    write(models, "m2", f"extends: m1\ntransform: {transform}\n")
    assert answer(models, "m2", "Ada Lovelace was born in London.") == expected


def test_truncation_reports_finish_reason_length(models: Path) -> None:
    write(models, "m2", "extends: m1\ntransform: {truncate: 5}\n")
    completion = ScriptedProvider(models).complete(request("hello"), "m2")
    assert (completion.text, completion.finish_reason) == ("Hello", "length")


def test_a_rule_transform_changes_only_the_answers_of_that_rule(models: Path) -> None:
    write(
        models,
        "m2",
        """\
        extends: m1
        rules:
          - name: city
            when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
            respond: '{"name": "{{name}}", "city": "{{city}}"}'
            transform: {fence: json}
        """,
    )
    assert answer(models, "m2", "Ada Lovelace was born in London.").startswith("```json\n")
    assert answer(models, "m2", "hello") == "Hello! How can I help?"


# -- seeded randomness, latency, usage ------------------------------------------------------------------

CHOICES = """\
seed: {seed}
rules:
  - when: {{contains: pick}}
    choices:
      - {{respond: A}}
      - {{respond: B, weight: 2}}
      - {{respond: C}}
"""


def test_choices_are_seeded_per_request_and_sample(models: Path) -> None:
    write(models, "m", CHOICES.format(seed=1))
    write(models, "other_seed", CHOICES.format(seed=2))

    def picks(model: str, user: str) -> list[str]:
        provider = ScriptedProvider(models)  # a fresh provider: nothing carries over between runs
        return [provider.complete(request(user), model, sample_index=i).text for i in range(12)]

    first = picks("m", "pick one")
    assert first == picks("m", "pick one")  # the same run again: the same answers
    assert set(first) == {"A", "B", "C"}  # samples differ
    assert picks("m", "pick another") != first  # another request draws differently
    assert picks("other_seed", "pick one") != first  # and so does another seed


def test_latency_and_usage_are_reported_as_scripted_or_estimated(models: Path) -> None:
    write(
        models,
        "m",
        """\
        latency_ms: 120
        chars_per_token: 4
        rules:
          - when: {contains: counted}
            respond: fixed
            usage: {input_tokens: 11, output_tokens: 22, cached_tokens: 5}
            latency_ms: 900
        default:
          respond: "twelve chars"
        """,
    )
    provider = ScriptedProvider(models)
    counted = provider.complete(request("counted"), "m")
    assert (counted.usage.input_tokens, counted.usage.output_tokens, counted.usage.cached_tokens) == (11, 22, 5)
    assert counted.latency_ms == 900
    estimated = provider.complete(request("x" * 40), "m")
    assert (estimated.usage.input_tokens, estimated.usage.output_tokens) == (10, 3)  # ceil(chars / 4)
    assert estimated.latency_ms == 120


def test_sleep_makes_the_latency_real(models: Path) -> None:
    write(models, "slow", "latency_ms: 60\nsleep: true\ndefault: {respond: ok}\n")
    started = time.perf_counter()
    completion = ScriptedProvider(models).complete(request("x"), "slow")
    assert time.perf_counter() - started >= 0.06
    assert completion.latency_ms == 60


# -- error injection ------------------------------------------------------------------------------------


def test_errors_are_injected_by_times_every_and_probability(models: Path) -> None:
    write(
        models,
        "m",
        """\
        rules:
          - when: {contains: warmup}
            respond: ok
            error: {kind: rate_limited, times: 2, retry_after: 1.5}
          - when: {contains: every}
            respond: ok
            error: {kind: unavailable, every: 3}
          - when: {contains: sometimes}
            respond: ok
            error: {kind: unavailable, probability: 0.5}
          - when: {contains: always}
            error: {kind: auth, message: "scripted/m: invalid API key"}
        """,
    )
    provider = ScriptedProvider(models)

    def outcomes(user: str, count: int, *, sample_index: int = 0) -> list[str]:
        found = []
        for _ in range(count):
            try:
                provider.complete(request(user), "m", sample_index=sample_index)
                found.append("ok")
            except (RateLimited, Unavailable) as exc:
                found.append(type(exc).__name__)
        return found

    assert outcomes("warmup", 4) == ["RateLimited", "RateLimited", "ok", "ok"]
    with pytest.raises(RateLimited) as limited:
        ScriptedProvider(models).complete(request("warmup"), "m")
    assert limited.value.retry_after == 1.5
    assert outcomes("every", 6) == ["ok", "ok", "Unavailable", "ok", "ok", "Unavailable"]

    by_sample = [outcomes("sometimes", 1, sample_index=i)[0] for i in range(20)]
    assert set(by_sample) == {"ok", "Unavailable"}
    again = ScriptedProvider(models)
    provider = again
    assert [outcomes("sometimes", 1, sample_index=i)[0] for i in range(20)] == by_sample  # seeded, repeatable

    with pytest.raises(Exception, match=r"^scripted/m: invalid API key$"):
        ScriptedProvider(models).complete(request("always"), "m")


def test_an_injected_rate_limit_is_retried_and_the_run_passes(llm_project: LLMProject) -> None:
    llm_project.write_config(retry_base_delay=0)
    llm_project.model("m1", BASE)
    llm_project.model(
        "busy",
        """\
        # synthetic: rate-limited twice, then answers like m1
        extends: m1
        rules:
          - name: city
            when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
            respond: '{"name": "{{name}}", "city": "{{city}}"}'
            error: {kind: rate_limited, times: 2}
        """,
    )
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import checks

        @pytest.mark.llm_regression
        def test_extracts_city(llm, llm_golden):
            out = llm.complete("Ada Lovelace was born in London.")
            llm_golden.check(out, checks.valid_json())
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.run("--candidate-model=scripted/busy").assert_outcomes(passed=2)
    assert llm_project.verdicts()["tests/test_llm.py::test_extracts_city[candidate]"] == "UNCHANGED"


# -- broken files: one line, naming the file ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "rules:\n  - respnd: x\n",
            "models/m2.yaml: rules.0.respnd: unknown key (did you mean 'respond'?)",
            id="misspelt-key",
        ),
        pytest.param(
            "extends: m1\ntransform: {fense: json}\n",
            "models/m2.yaml: transform.fense: unknown key (did you mean 'fence'?)",
            id="misspelt-transform",
        ),
        pytest.param(
            "rules:\n  - when: {regex: '(unclosed'}\n    respond: x\n",
            "models/m2.yaml: rules.0.when.regex: not a valid regular expression: missing ), unterminated subpattern "
            "at position 0",
            id="bad-regex",
        ),
        pytest.param(
            "rules:\n  - respond: x\n   when: [\n",
            "models/m2.yaml: not valid YAML at line 3: *",
            id="yaml-syntax",
        ),
        pytest.param(
            "rules:\n  - name: city\n",
            "models/m2.yaml: rules.0: a rule needs respond, choices, tool_calls or error",
            id="rule-without-answer",
        ),
        pytest.param(
            "extends: m2\n",
            "models/m2.yaml: 'extends' loops back to 'm2' (m2 -> m2)",
            id="extends-loop",
        ),
        pytest.param(
            None,
            "scripted model 'm2' has no file models/m2.yaml (scripted models here: m1)",
            id="missing-file",
        ),
    ],
)
def test_a_broken_script_is_an_error_verdict_with_one_line_naming_the_file(
    llm_project: LLMProject, text: str | None, problem: str
) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        def test_greets(llm):
            llm.complete("hello")
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    if text is not None:
        llm_project.model("m2", text)
    result = llm_project.run("--candidate-model=scripted/m2")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_greets[[]candidate] _*",
            f"ERROR: the provider failed, so nothing was scored: ScriptError: {problem}",
            "*= llmversion =*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    item = llm_project.report()["items"][0]
    assert (item["role"], item["verdict"]) == ("candidate", "ERROR")


def test_script_errors_are_provider_errors_with_the_path(models: Path) -> None:
    write(models, "m2", "rules: 3\n")
    with pytest.raises(ScriptError, match=r"^models/m2.yaml: rules: Input should be a valid list$"):
        ScriptedProvider(models, models.parent).complete(request("x"), "m2")
