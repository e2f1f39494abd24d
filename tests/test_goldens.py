"""Goldens on disk: layout, a reviewable format, no churn, STALE and MISSING, corrupt files left alone,
partial recording, unused goldens listed and pruned only on request."""

from __future__ import annotations

import os
import stat
from xml.etree import ElementTree

import pytest
import yaml
from conftest import ENTITY_TEST, LLMProject

from pytest_llmversion.run.goldens import load_golden
from pytest_llmversion.testing import Emulator

SUMMARY_MODEL = """\
# synthetic
rules:
  - when: {contains: summary}
    respond: "Line one.\\nLine two.\\n"
default:
  respond: '{"b": 1, "a": [2, 1]}'
"""

SUMMARY_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression
def test_summary(llm, llm_golden):
    out = llm.complete("Write a summary.\\nKeep it short.", temperature=0.5)
    llm_golden.check(out, checks.max_words(10))
    second = llm.complete("json please")
    llm_golden.check(second.json(), checks.json_field("b", 1))
"""

SUMMARY_GOLDEN = """\
# pytest-llmversion golden: the blessed output of the current model for one test.
# Review changes like code. Re-record: pytest --llm-record "tests/test_llm.py::test_summary[current]"
# SYNTHETIC: answered by a scripted stand-in model, not by a real model.
schema: 1
test: tests/test_llm.py::test_summary
model: scripted/m1
synthetic: true
request:
  messages:
  - role: user
    content: |-
      Write a summary.
      Keep it short.
  params:
    max_tokens: 1024
    temperature: 0.5
fingerprint: sha256:b2458db6850c537d
samples:
- score: 1.0
  checks:
  - name: max_words(10)
    kind: content
    passed: true
    score: 1.0
    detail: 4 words (limit 10)
  - name: json_field(b)
    kind: content
    passed: true
    score: 1.0
  usage:
    input_tokens: 11
    output_tokens: 11
  calls:
  - request:
      messages:
      - role: user
        content: json please
      params:
        max_tokens: 1024
        temperature: 0.0
    fingerprint: sha256:cd5498aa12d96398
    usage:
      input_tokens: 3
      output_tokens: 6
    output: '{"b": 1, "a": [2, 1]}'
  value:
    a:
    - 2
    - 1
    b: 1
  output: |
    Line one.
    Line two.
"""

FAILING_MODEL = """\
# synthetic: every call fails, so a passing run proves nothing was sent
rules:
  - error: {kind: auth, message: "scripted/m1 must not be called when replaying"}
"""


def snapshot(project: LLMProject) -> dict[str, tuple[bytes, int]]:
    """Every file under the golden folders of the tests: (bytes, mtime in ns)."""
    return {
        str(path.relative_to(project.path)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted((project.path / "tests").rglob("__llm_goldens__/**/*"))
        if path.is_file()
    }


# -- layout and format ---------------------------------------------------------------------------


def test_goldens_are_one_file_per_test_or_case_beside_the_tests(llm_project: LLMProject) -> None:
    llm_project.write("tests/cases/people.yaml", "- id: ada\n  input: Ada Lovelace was born in London.\n")
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        def test_plain(llm):
            llm.complete("hello")

        @pytest.mark.llm_regression(cases="cases/people.yaml")
        def test_cases(llm, llm_case):
            llm.complete(llm_case.input)

        class TestGroup:
            @pytest.mark.llm_regression
            def test_method(self, llm):
                llm.complete("hello")
        """
    )
    llm_project.test_file(ENTITY_TEST, name="billing/test_billing.py")
    llm_project.run("--llm-record").assert_outcomes(passed=4)
    assert sorted(str(p.relative_to(llm_project.path)) for p in llm_project.path.rglob("*.yaml")) == [
        "models/m1.yaml",
        "tests/__llm_goldens__/test_llm/TestGroup.test_method-11b0e49bcf.yaml",  # upper case: hashed, see safe_name
        "tests/__llm_goldens__/test_llm/test_cases/ada.yaml",
        "tests/__llm_goldens__/test_llm/test_plain.yaml",
        "tests/billing/__llm_goldens__/test_billing/test_extracts_city.yaml",
        "tests/cases/people.yaml",
    ]


def test_the_goldens_folder_name_is_configurable(llm_project: LLMProject) -> None:
    llm_project.write_config(goldens="golden_outputs")
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert (llm_project.path / "tests/golden_outputs/test_llm/test_extracts_city.yaml").is_file()
    llm_project.run().assert_outcomes(passed=1)


def test_a_golden_has_a_fixed_key_order_literal_blocks_and_a_schema_version(llm_project: LLMProject) -> None:
    llm_project.model("m1", SUMMARY_MODEL)
    llm_project.test_file(SUMMARY_TEST)
    result = llm_project.run("--llm-record")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["goldens: 1 written, 0 unchanged (review them with git diff, then commit)"])
    golden = llm_project.golden("test_llm/test_summary.yaml")
    assert golden.read_bytes() == SUMMARY_GOLDEN.encode()
    mode = stat.S_IMODE(golden.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # an ordinary file, not a private temp file's 0600

    llm_project.run().assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_summary[current]": "MATCH"}


def test_goldens_are_written_at_session_end_and_keep_the_parsed_json_with_sorted_keys(llm_project: LLMProject) -> None:
    llm_project.test_file(
        ENTITY_TEST
        + """
@pytest.mark.llm_regression
def test_runs_second(llm):
    from pathlib import Path
    assert not (Path(__file__).parent / "__llm_goldens__").exists(), "no golden is written while tests run"
    llm.complete("hello")
"""
    )
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    golden = llm_project.golden("test_llm/test_extracts_city.yaml").read_text()
    assert "  parsed:\n    city: London\n    name: Ada Lovelace\n" in golden
    assert golden.endswith("""  output: '{"name": "Ada Lovelace", "city": "London"}'\n""")
    assert llm_project.golden("test_llm/test_runs_second.yaml").is_file()


def test_re_recording_the_same_output_leaves_every_file_untouched(llm_project: LLMProject) -> None:
    llm_project.model(
        "m1",
        """\
        # synthetic: seeded choices, so every sample of a re-record is the same again
        seed: 3
        rules:
          - when: {contains: pick}
            choices: [{respond: red}, {respond: green}, {respond: blue}]
        """,
    )
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import checks

        @pytest.mark.llm_regression
        def test_pick(llm, llm_golden):
            llm_golden.check(llm.complete("pick a colour"), checks.max_words(1))
        """
    )
    llm_project.run("--llm-record", "--llm-samples=4").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_pick.yaml")
    outputs = [line for line in golden.read_text().splitlines() if line.startswith("  output:")]
    assert len(outputs) == 4
    assert len(set(outputs)) > 1  # seeded, yet the samples differ
    os.utime(golden, ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(llm_project)

    result = llm_project.run("--llm-record", "--llm-samples=4")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["goldens: 0 written, 1 unchanged (review them with git diff, then commit)"])
    assert snapshot(llm_project) == before
    assert not [p for p in golden.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "text",
    [
        "two lines\nwith a trailing space \n",
        "  indented\n\tand a tab\n\n",
        "ünïcødé 🎉\n# not a comment\n- not a list",
        "windows\r\nline ends",
        "next\x85line\nand a new line",
        "null",
    ],
    ids=["trailing-space", "indent-tab", "unicode-yaml-lookalikes", "crlf", "unicode-line-breaks", "null-word"],
)
def test_any_output_text_replays_exactly(llm_project: LLMProject, text: str) -> None:
    llm_project.model("m1", yaml.safe_dump({"default": {"respond": text}}))
    llm_project.test_file(
        f"""\
        import pytest

        @pytest.mark.llm_regression
        def test_exact(llm):
            assert llm.complete("anything").text == {text!r}
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.model("m1", FAILING_MODEL)
    llm_project.run().assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_exact[current]": "MATCH"}


#: A JSON answer an SDK hands through as it came: "\ud800" decodes to a lone surrogate, which UTF-8 cannot encode.
SURROGATE_ANSWER = '{"name": "Ada\ud800", "city": "London"}'


def test_an_answer_with_a_lone_surrogate_round_trips_and_every_view_survives_it(
    llm_project: LLMProject, emu: Emulator
) -> None:
    llm_project.write_config(extra=emu.provider_tables(), model="openai/gpt-4o-2024-08-06")
    emu.add_model("gpt-4o-2024-08-06", respond=SURROGATE_ANSWER)
    emu.add_model("gpt-4o-2024-11-20", respond=SURROGATE_ANSWER.replace("London", "Paris"))
    llm_project.test_file(ENTITY_TEST)
    views = ("--llm-report-md=report.md", "--llm-report-html=report.html", "--junitxml=junit.xml", "-rA")

    llm_project.run("--llm-record", *views).assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_extracts_city.yaml")
    assert '"{\\"name\\": \\"Ada\\uD800\\"' in golden.read_text()  # escaped, so the file is UTF-8 text
    loaded = load_golden(golden)
    assert loaded is not None
    assert loaded.samples[0].output == SURROGATE_ANSWER  # exactly what the model said
    llm_project.run(*views).assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_extracts_city[current]": "MATCH"}

    # a separate process, as a terminal sees it: printing the answer as it came would raise UnicodeEncodeError
    candidate = llm_project.run_subprocess("--candidate-model=openai/gpt-4o-2024-11-20", *views)
    assert candidate.ret == 1
    candidate.stdout.fnmatch_lines(['*"name": "Ada\ufffd"*', "gate: FAIL (1 candidate REGRESSED: test_extracts_city)"])
    assert "INTERNALERROR" not in candidate.stdout.str() + candidate.stderr.str()
    item = llm_project.report()["items"][0]
    assert (item["role"], item["output"]) == (
        "candidate",
        SURROGATE_ANSWER.replace("London", "Paris").replace("\ud800", "\ufffd"),
    )
    for view in ("report.md", "report.html", "junit.xml"):
        assert "Ada\ufffd" in (llm_project.path / view).read_bytes().decode("utf-8")
    ElementTree.parse(llm_project.path / "junit.xml")
    llm_project.run("--candidate-model=openai/gpt-4o-2024-11-20").assert_outcomes(passed=1, failed=1)
    assert llm_project.report()["items"][0]["replayed_from_recording"] == 1  # the recording loads back too


def test_replay_answers_from_the_golden_without_calling_the_model(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.model("m1", FAILING_MODEL)
    llm_project.run().assert_outcomes(passed=1)
    item = llm_project.report()["items"][0]
    assert (item["verdict"], item["calls"]) == ("MATCH", {"live": 0, "replayed": 1})


# -- STALE and MISSING ------------------------------------------------------------------------------


def test_a_changed_prompt_is_stale_and_shows_what_changed(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.test_file(ENTITY_TEST.replace("born in London.", "born in London, England."))
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "STALE: the golden was recorded for a different request than the test sends now",
            "  golden: tests/__llm_goldens__/test_llm/test_extracts_city.yaml",
            "  request, golden (-) vs now (+):",
            "    @@ -2,3 +2,3 @@",
            "     - role: user",
            "    -  content: Ada Lovelace was born in London.",
            "    +  content: Ada Lovelace was born in London, England.",
            "     params:",
            "  if the change is intended, re-record: pytest --llm-record "
            '"tests/test_llm.py::test_extracts_city[current]"',
        ]
    )
    result.stdout.fnmatch_lines(["  test_extracts_city  * STALE *", "gate: FAIL (1 current STALE: test_extracts_city)"])
    assert llm_project.verdicts() == {"tests/test_llm.py::test_extracts_city[current]": "STALE"}


def test_changed_parameters_are_stale_too(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.write_config(temperature=0.7)
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["       max_tokens: 1024", "    -  temperature: 0.0", "    +  temperature: 0.7"])
    assert llm_project.verdicts() == {"tests/test_llm.py::test_extracts_city[current]": "STALE"}


def test_an_extra_call_is_stale(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.test_file(ENTITY_TEST + '    llm.complete("and one more thing")\n')
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "STALE: the test now makes call 2, the golden tests/__llm_goldens__/test_llm/test_extracts_city.yaml "
            "recorded 1"
        ]
    )


def test_a_candidate_without_a_golden_says_how_to_record_it(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.model("m2", "extends: m1\n")
    result = llm_project.run("--candidate-model=scripted/m2")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "MISSING: no golden at tests/__llm_goldens__/test_llm/test_extracts_city.yaml",
            '  record it: pytest --llm-record "tests/test_llm.py::test_extracts_city[current]"',
        ]
    )
    assert llm_project.verdicts() == {
        "tests/test_llm.py::test_extracts_city[current]": "MISSING",
        "tests/test_llm.py::test_extracts_city[candidate]": "NO_BASELINE",
    }


# -- bad goldens are named and left as they are ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "schema: 1\ntest: [unclosed\nmodel: scripted/m1\n",
            "tests/__llm_goldens__/test_llm/test_extracts_city.yaml: not valid YAML at line 3: "
            "did not find expected ',' or ']'",
            id="yaml-syntax",
        ),
        pytest.param(
            "schema: 1\n<<<<<<< HEAD\nmodel: scripted/m1\n=======\nmodel: scripted/m2\n>>>>>>> other\n",
            "tests/__llm_goldens__/test_llm/test_extracts_city.yaml: not valid YAML at line 3: "
            "could not find expected ':' (did a merge leave conflict markers?)",
            id="merge-conflict",
        ),
        pytest.param(
            "schema: 1\ntest: tests/test_llm.py::test_extracts_city\nsamples: []\n",
            "tests/__llm_goldens__/test_llm/test_extracts_city.yaml: model: Field required",
            id="missing-key",
        ),
    ],
)
def test_a_corrupt_golden_is_one_line_naming_file_and_line_and_is_left_as_it_was(
    llm_project: LLMProject, text: str, problem: str
) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.model("m2", "extends: m1\n")
    golden = llm_project.golden("test_llm/test_extracts_city.yaml")
    golden.parent.mkdir(parents=True)
    golden.write_text(text)
    before = snapshot(llm_project)

    result = llm_project.run("--candidate-model=scripted/m2")
    result.assert_outcomes(failed=1, passed=1)
    # a file that is not even YAML is kept by --llm-record (hand edits would be lost): deleting it comes first
    fix = "fix it, or re-record" if "not valid YAML" not in problem else "fix it, or delete it and re-record"
    line = f'{problem}; {fix}: pytest --llm-record "tests/test_llm.py::test_extracts_city[current]"'
    result.stdout.fnmatch_lines(["*_ test_extracts_city[[]current] _*", line])
    assert "Traceback" not in result.stdout.str()
    assert llm_project.verdicts() == {
        "tests/test_llm.py::test_extracts_city[current]": "ERROR",
        "tests/test_llm.py::test_extracts_city[candidate]": "NO_BASELINE",
    }
    assert snapshot(llm_project) == before


def test_a_golden_from_a_newer_plugin_asks_for_an_upgrade(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    golden = llm_project.golden("test_llm/test_extracts_city.yaml")
    golden.parent.mkdir(parents=True)
    golden.write_text("schema: 99\ntest: x\n")
    result = llm_project.run()
    result.stdout.fnmatch_lines(
        [
            "tests/__llm_goldens__/test_llm/test_extracts_city.yaml: written by a newer pytest-llmversion (schema 99); "
            "upgrade the plugin"
        ]
    )


# -- recording a run where some tests fail -----------------------------------------------------------

THREE_TESTS = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression
def test_passes(llm, llm_golden):
    llm_golden.check(llm.complete("Ada Lovelace was born in {city}."), checks.valid_json())

@pytest.mark.llm_regression
def test_check_fails(llm, llm_golden):
    out = llm.complete("Alan Turing was born in {city}.")
    llm_golden.check(out, checks.json_field("city", "{expected}"))

@pytest.mark.llm_regression
def test_assert_fails(llm):
    out = llm.complete("Grace Hopper was born in {city}.")
    assert out.json()["city"] == "{expected}"
"""


def test_record_writes_the_goldens_of_passing_tests_and_leaves_failing_ones_untouched(llm_project: LLMProject) -> None:
    llm_project.test_file(THREE_TESTS.format(city="London", expected="London"))
    llm_project.run("--llm-record").assert_outcomes(passed=3)
    before = snapshot(llm_project)

    llm_project.test_file(THREE_TESTS.format(city="Paris", expected="London"))
    llm_project.test_file(ENTITY_TEST.replace("born in London", "born in Paris"), name="test_new.py")
    result = llm_project.run("--llm-record")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "FAILED: the live answer of scripted/m1 does not pass this test's checks",
            "  json_field(city) * 0.00   city: expected London, got Paris",
            "*the golden was left as it was",
        ]
    )
    result.stdout.fnmatch_lines(["goldens: 1 written, 0 unchanged (review them with git diff, then commit)"])
    after = snapshot(llm_project)
    written = {name for name in after if after[name] != before.get(name)}
    assert written == {"tests/__llm_goldens__/test_llm/test_passes.yaml"}
    assert "Paris" in llm_project.golden("test_llm/test_passes.yaml").read_text()
    assert not llm_project.golden("test_new/test_extracts_city.yaml").exists()  # its json_field check failed
    assert llm_project.report()["summary"]["goldens_written"] == ["tests/__llm_goldens__/test_llm/test_passes.yaml"]


BROKEN_BY_HAND = "schema: 1\ntest: [tests/test_llm.py::test_extracts_city\n# half-way through an edit\n"


def test_record_keeps_a_golden_broken_by_hand_and_says_why_it_was_not_written(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    golden = llm_project.golden("test_llm/test_extracts_city.yaml")
    golden.parent.mkdir(parents=True)
    golden.write_text(BROKEN_BY_HAND)

    result = llm_project.run("--llm-record")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    rel = "tests/__llm_goldens__/test_llm/test_extracts_city.yaml"
    result.stdout.fnmatch_lines(
        [
            f"{rel}: not valid YAML at line 4: did not find expected ',' or ']'; kept as it is, not overwritten (hand "
            'edits?): fix it, or delete it, then record again: pytest --llm-record "tests/test_llm.py::'
            'test_extracts_city[current]"',
            f"*note: golden not written: {rel} is not valid YAML and was kept as it is",
            "gate: FAIL (1 current ERROR: test_extracts_city)",
        ]
    )
    assert golden.read_text() == BROKEN_BY_HAND
    (item,) = llm_project.report()["items"]
    assert (item["verdict"], item["calls"]["live"], llm_project.report()["summary"]["goldens_written"]) == (
        "ERROR",
        0,
        [],
    )


def test_a_golden_broken_while_the_run_records_is_kept_and_fails_the_gate(llm_project: LLMProject) -> None:
    """The item found no golden, then someone (here the test itself) edits the file before the run ends."""
    llm_project.test_file(
        ENTITY_TEST
        + "\n    golden = llm_golden.path\n    golden.parent.mkdir(parents=True, exist_ok=True)\n"
        + f"    golden.write_text({BROKEN_BY_HAND!r})\n"
    )
    result = llm_project.run("--llm-record")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["gate: FAIL (golden not written: tests/__llm_goldens__/test_llm/test_extracts_city.yaml: not valid YAML *"]
    )
    assert llm_project.golden("test_llm/test_extracts_city.yaml").read_text() == BROKEN_BY_HAND


# -- unused goldens ---------------------------------------------------------------------------------------


@pytest.fixture
def with_unused(llm_project: LLMProject) -> LLMProject:
    """Two recorded tests, then one renamed (its golden is now unused), a module removed, a foreign file."""
    llm_project.test_file(THREE_TESTS.format(city="London", expected="London"))
    llm_project.test_file(ENTITY_TEST, name="test_gone.py")
    llm_project.run("--llm-record").assert_outcomes(passed=4)
    llm_project.test_file(THREE_TESTS.format(city="London", expected="London").replace("test_passes", "test_renamed"))
    (llm_project.path / "tests" / "test_gone.py").unlink()
    llm_project.write("tests/__llm_goldens__/test_llm/notes.yaml", "# our reviewer's notes, not a golden\n")
    llm_project.run("--llm-record", "-k", "renamed").assert_outcomes(passed=1, deselected=2)
    return llm_project


UNUSED = ["tests/__llm_goldens__/test_gone/test_extracts_city.yaml", "tests/__llm_goldens__/test_llm/test_passes.yaml"]


def test_unused_goldens_are_listed_and_kept(with_unused: LLMProject) -> None:
    before = snapshot(with_unused)
    result = with_unused.run()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "2 golden(s) unused, no collected test uses them:",
            f"  {UNUSED[0]}",
            f"  {UNUSED[1]}",
            "  delete them with: pytest --llm-prune-unused",
            "gate: pass",
        ]
    )
    assert with_unused.report()["summary"]["unused_goldens"] == UNUSED
    assert snapshot(with_unused) == before


def test_prune_unused_removes_only_our_unused_files(with_unused: LLMProject) -> None:
    result = with_unused.run("--llm-prune-unused")
    result.stdout.fnmatch_lines(
        ["2 golden(s) removed, no collected test uses them:", f"  {UNUSED[0]}", f"  {UNUSED[1]}"]
    )
    assert sorted(snapshot(with_unused)) == [
        "tests/__llm_goldens__/test_llm/notes.yaml",  # no pytest-llmversion header: never ours to delete
        "tests/__llm_goldens__/test_llm/test_assert_fails.yaml",
        "tests/__llm_goldens__/test_llm/test_check_fails.yaml",
        "tests/__llm_goldens__/test_llm/test_renamed.yaml",
    ]
    assert not (with_unused.path / "tests/__llm_goldens__/test_gone").exists()
    assert with_unused.report()["summary"]["pruned_goldens"] == UNUSED


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["-k", "renamed"], id="k"),
        pytest.param(["-m", "not llm_regression"], id="m"),
        pytest.param(["tests/test_llm.py::test_renamed"], id="node-id"),
        pytest.param(["--deselect", "tests/test_llm.py::test_check_fails[current]"], id="deselect"),
    ],
)
def test_a_narrowed_run_never_takes_the_goldens_of_deselected_tests_for_unused(
    with_unused: LLMProject, args: list[str]
) -> None:
    result = with_unused.run("--llm-prune-unused", *args)
    assert "Traceback" not in result.stdout.str()
    assert set(with_unused.report()["summary"]["unused_goldens"]) <= set(UNUSED)
    for test in ("test_renamed", "test_check_fails", "test_assert_fails"):
        assert with_unused.golden(f"test_llm/{test}.yaml").is_file()


def test_the_golden_of_a_removed_case_is_unused(llm_project: LLMProject) -> None:
    llm_project.write("tests/cases/people.yaml", "- id: ada\n  input: Ada\n- id: alan\n  input: Alan\n")
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression(cases="cases/people.yaml")
        def test_people(llm, llm_case):
            llm.complete(llm_case.input)
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    llm_project.write("tests/cases/people.yaml", "- id: ada\n  input: Ada\n")
    result = llm_project.run("--llm-prune-unused")
    result.stdout.fnmatch_lines(
        ["1 golden(s) removed, no collected test uses them:", "  tests/__llm_goldens__/test_llm/test_people/alan.yaml"]
    )
    assert sorted(p.name for p in llm_project.golden("test_llm/test_people").iterdir()) == ["ada.yaml"]


# -- names: one file per test and case, on any file system ------------------------------------------

PEOPLE_TESTS = """\
import pytest

@pytest.mark.parametrize("who", ["Ada Lovelace", "Ada-Lovelace", "Ada/Lovelace"])
@pytest.mark.llm_regression
def test_person(llm, who):
    llm.complete(f"Who was {who}?")

@pytest.mark.llm_regression(cases="cases/people.yaml")
def test_case(llm, llm_case):
    llm.complete(llm_case.input)
"""
PEOPLE_CASES = "- id: ada\n  input: Who was ada?\n- id: ada.\n  input: Who was ada, full stop?\n"


def golden_names(project: LLMProject, module: str = "test_llm") -> list[str]:
    folder = project.golden(module)
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml"))


def test_ids_that_once_shared_a_file_get_one_golden_each(llm_project: LLMProject) -> None:
    llm_project.write("tests/cases/people.yaml", PEOPLE_CASES)
    llm_project.test_file(PEOPLE_TESTS)
    result = llm_project.run("--llm-record")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["goldens: 5 written, 0 unchanged (review them with git diff, then commit)"])
    assert golden_names(llm_project) == [
        "test_case/ada-bcf09b9f30.yaml",  # a trailing dot, which Windows drops: readable name + hash of the id
        "test_case/ada.yaml",  # plain lower case keeps its name
        "test_person[Ada-Lovelace]-2807f3b176.yaml",
        "test_person[Ada-Lovelace]-60cb00b1f3.yaml",
        "test_person[Ada-Lovelace]-74e53dd150.yaml",
    ]
    owners = {
        (doc["test"], doc.get("case"))
        for doc in (yaml.safe_load(p.read_text()) for p in llm_project.golden("test_llm").rglob("*.yaml"))
    }
    assert len(owners) == 5

    llm_project.model("m1", FAILING_MODEL)
    result = llm_project.run()
    result.assert_outcomes(passed=5)
    assert set(llm_project.verdicts().values()) == {"MATCH"}
    assert "unused" not in result.stdout.str()


def test_ids_that_differ_only_in_case_get_names_that_differ_where_case_is_ignored(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.parametrize("who", ["Ada", "ada"])
        @pytest.mark.llm_regression
        def test_who(llm, who):
            llm.complete(f"Who was {who}?")
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    names = golden_names(llm_project)
    assert names == ["test_who[Ada]-e8890cf190.yaml", "test_who[ada].yaml"]
    assert len({name.casefold() for name in names}) == 2  # macOS and Windows would keep both
    llm_project.run().assert_outcomes(passed=2)
    assert set(llm_project.verdicts().values()) == {"MATCH"}


def test_file_names_are_one_to_one_ascii_and_keep_plain_names() -> None:
    from pytest_llmversion.run.goldens import safe_name

    names = [
        *("Ada Lovelace", "Ada-Lovelace", "Ada/Lovelace", "ada lovelace", "ada-lovelace", "ada", "ada.", "Ada", "ADA"),
        *(".ada", "-ada", "ada-", "nul", "NUL.x", "test_x[ünï]", "test_x[uni]", "a" * 100, "a" * 101, "a" * 102),
        *("test_x[a:b]", "test_x[a\tb]", "test_x[a b]", "ada-" + "5c3cb098d5"),  # the last looks like a hashed name
    ]
    files = [safe_name(name) for name in names]
    assert len({f.casefold() for f in files}) == len(names)
    assert all(f.isascii() and len(f) <= 100 and f[0] not in ".-" and f[-1] not in ". " for f in files)
    assert all(f.split(".")[0].lower() not in ("con", "prn", "aux", "nul") for f in files)
    for plain in ("test_triage", "api-outage", "export-crash", "test_x[0.5]", "test_city[paris-1]", "a" * 100):
        assert safe_name(plain) == plain


LEGACY_TESTS = """\
import pytest

class TestPeople:
    @pytest.mark.llm_regression
    def test_who(self, llm):
        llm.complete("{prompt}")

    @pytest.mark.llm_regression(cases="cases/people.yaml")
    def test_case(self, llm, llm_case):
        llm.complete(llm_case.input)
"""
#: new name -> the name versions before one-to-one names gave the same golden
RENAMES = {
    "TestPeople.test_case-19c21bdec0/ada.yaml": "TestPeople.test_case/ada.yaml",
    "TestPeople.test_who-36c908dc22.yaml": "TestPeople.test_who.yaml",
}


def upgrade_from_legacy_names(project: LLMProject) -> None:
    """The goldens as an earlier version left them: same content, under the legacy names."""
    folder = project.golden("test_llm")
    for new, old in RENAMES.items():
        (folder / old).parent.mkdir(exist_ok=True)
        (folder / new).rename(folder / old)
    (folder / "TestPeople.test_case-19c21bdec0").rmdir()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_golden_under_its_legacy_name_replays_and_recording_renames_it(
    llm_project: LLMProject, workers: list[str]
) -> None:
    llm_project.write("tests/cases/people.yaml", "- id: ada\n  input: Who was Ada?\n")
    llm_project.test_file(LEGACY_TESTS.format(prompt="Who was Alan?"))
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    assert golden_names(llm_project) == sorted(RENAMES)
    content = {new: llm_project.golden(f"test_llm/{new}").read_bytes() for new in RENAMES}
    upgrade_from_legacy_names(llm_project)
    before = snapshot(llm_project)

    run = llm_project.run_subprocess if workers else llm_project.run
    result = run(*workers)
    result.assert_outcomes(passed=2)
    assert set(llm_project.verdicts().values()) == {"MATCH"}
    assert llm_project.report()["summary"]["unused_goldens"] == []  # still read, so not unused
    assert snapshot(llm_project) == before

    llm_project.test_file(LEGACY_TESTS.format(prompt="Who was Grace?"))
    result = run(*workers)
    result.stdout.fnmatch_lines(["  golden: tests/__llm_goldens__/test_llm/TestPeople.test_who.yaml"])  # the file read
    llm_project.test_file(LEGACY_TESTS.format(prompt="Who was Alan?"))

    result = run("--llm-record", *workers)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["goldens: 2 written, 0 unchanged, 2 renamed from legacy names (review them with git diff, then commit)"]
    )
    assert golden_names(llm_project) == sorted(RENAMES)  # legacy files and their folder are gone
    assert not llm_project.golden("test_llm/TestPeople.test_case").exists()
    assert {new: llm_project.golden(f"test_llm/{new}").read_bytes() for new in RENAMES} == content  # a pure rename
    assert sorted(llm_project.report()["summary"]["goldens_renamed"]) == [
        f"tests/__llm_goldens__/test_llm/{old}" for old in sorted(RENAMES.values())
    ]


def test_a_legacy_file_is_read_and_replaced_only_by_the_test_that_wrote_it(llm_project: LLMProject) -> None:
    llm_project.test_file(PEOPLE_TESTS.split("@pytest.mark.llm_regression(cases")[0])
    llm_project.run("--llm-record").assert_outcomes(passed=3)
    # Earlier versions wrote the three goldens to one file; the last one written stayed.
    folder = llm_project.golden("test_llm")
    legacy = folder / "test_person[Ada-Lovelace].yaml"
    (folder / "test_person[Ada-Lovelace]-60cb00b1f3.yaml").rename(legacy)  # Ada/Lovelace's
    for other in ("2807f3b176", "74e53dd150"):
        (folder / f"test_person[Ada-Lovelace]-{other}.yaml").unlink()

    result = llm_project.run()
    result.stdout.fnmatch_lines(
        ["MISSING: no golden at tests/__llm_goldens__/test_llm/test_person[[]Ada-Lovelace]-74e53dd150.yaml"]
    )
    assert llm_project.verdicts() == {
        "tests/test_llm.py::test_person[Ada Lovelace-current]": "MISSING",
        "tests/test_llm.py::test_person[Ada-Lovelace-current]": "MISSING",
        "tests/test_llm.py::test_person[Ada/Lovelace-current]": "MATCH",
    }

    result = llm_project.run("--llm-record", "tests/test_llm.py::test_person[Ada Lovelace-current]")
    result.stdout.fnmatch_lines(["goldens: 1 written, 0 unchanged (review them with git diff, then commit)"])
    assert legacy.is_file()  # Ada/Lovelace's golden: never Ada Lovelace's to remove

    result = llm_project.run("--llm-record")
    result.stdout.fnmatch_lines(["goldens: 2 written, 1 unchanged, 1 renamed from legacy names *"])
    assert not legacy.exists()
    assert len(golden_names(llm_project)) == 3


# -- a reviewed golden is the replayed golden --------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "diff"),
    [
        pytest.param(
            ("      Keep it short.\n", "      Keep it very short.\n"),
            [
                "    @@ -4,3 +4,3 @@",
                "         Write a summary.",
                "    -    Keep it very short.",
                "    +    Keep it short.",
            ],
            id="request",
        ),
        pytest.param(
            ("        content: json please\n", "        content: json please, politely\n"),
            [
                "    @@ -2,3 +2,3 @@",
                "     - role: user",
                "    -  content: json please, politely",
                "    +  content: json please",
            ],
            id="calls-entry",
        ),
    ],
)
def test_a_request_edited_by_hand_is_stale_and_shows_what_the_test_sends(
    llm_project: LLMProject, edit: tuple[str, str], diff: list[str]
) -> None:
    llm_project.model("m1", SUMMARY_MODEL)
    llm_project.test_file(SUMMARY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_summary.yaml")
    text = golden.read_text()
    assert text.count(edit[0]) == 1
    golden.write_text(text.replace(*edit))  # the fingerprint is kept: today's replay would be a MATCH

    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "STALE: the golden's request was edited after recording; its answer is for another request",
            "  golden: tests/__llm_goldens__/test_llm/test_summary.yaml",
            "  request, golden (-) vs now (+):",
            *diff,
            '  re-record: pytest --llm-record "tests/test_llm.py::test_summary[current]"',
        ]
    )
    assert llm_project.verdicts() == {"tests/test_llm.py::test_summary[current]": "STALE"}
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.run().assert_outcomes(passed=1)


def test_a_golden_edited_to_match_a_changed_prompt_is_still_stale(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_extracts_city.yaml")
    golden.write_text(golden.read_text().replace("born in London.", "born in London, England."))
    llm_project.test_file(ENTITY_TEST.replace("born in London.", "born in London, England."))
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "STALE: the golden's request was edited after recording; its answer is for another request",
            "  golden: tests/__llm_goldens__/test_llm/test_extracts_city.yaml",
            "  request, golden (-) vs now (+):",
            "    (none: the edited request is what the test sends now)",
            '  re-record: pytest --llm-record "tests/test_llm.py::test_extracts_city[current]"',
        ]
    )


def test_a_sample_with_its_own_first_request_keeps_it_for_review_and_it_is_checked(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import itertools
        import pytest

        attempts = itertools.count()

        @pytest.mark.llm_regression
        def test_attempts(llm):
            llm.complete(f"attempt {next(attempts)}")
        """
    )
    llm_project.run("--llm-record", "--llm-samples=2").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_attempts.yaml")
    samples = yaml.safe_load(golden.read_text())["samples"]
    assert "request" not in samples[0]
    assert samples[1]["request"]["messages"] == [{"role": "user", "content": "attempt 1"}]
    llm_project.run().assert_outcomes(passed=1)

    golden.write_text(golden.read_text().replace("content: attempt 1", "content: attempt one"))
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "STALE: the golden's request was edited after recording; its answer is for another request",
            "    -  content: attempt one",
            "    +  content: attempt 1",
        ]
    )
