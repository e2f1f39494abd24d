"""How big the reports get: the Markdown of a real 600-case candidate run, and the HTML page of 5,000 cases.

    .venv/bin/python benchmarks/report_sizes.py              # --cases 600 --html-cases 5000

1. A generated project of ``--cases`` cases (scripted models, no key): recorded, then run against a candidate
   that answers a fifth of the cases with another city and fences every seventh answer in a code fence, with
   ``--llm-report-md`` and ``--llm-report-html``. Prints the Markdown's size (characters and UTF-16 code units;
   GitHub refuses a comment over 65,536), what it left out, and the HTML page's size.
2. ``--html-cases`` typed items built directly (tests/report_factory.py: a tenth REGRESSED, short JSON answers),
   rendered to HTML: the page's size against the 15 MB budget, and the time to render it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

CURRENT = """\
# synthetic
rules:
  - name: city
    when: {regex: "(?P<name>Person \\\\d+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}", "note": "born in {{city}}, as the ticket says"}'
"""

CANDIDATE = """\
# synthetic
extends: current
rules:
  - when: {contains: "(moved)"}
    respond: '{"name": "someone", "city": "Elsewhere", "note": "moved"}'
  - when: {contains: "(fenced)"}
    respond: '{"name": "someone", "city": "Fenced", "note": "fenced"}'
    transform: {fence: json}
"""

TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml", tags=["people"])
def test_person(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", llm_case.expected["city"]))
"""


def make_project(folder: Path, cases: int) -> None:
    (folder / "pyproject.toml").write_text(
        '[tool.llmversion]\nmodel = "scripted/current"\nscripted_models = "models"\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
    )
    (folder / "models").mkdir()
    (folder / "models" / "current.yaml").write_text(CURRENT)
    (folder / "models" / "candidate.yaml").write_text(CANDIDATE)
    (folder / "tests").mkdir()
    (folder / "tests" / "test_people.py").write_text(textwrap.dedent(TEST))
    tags = ("happy-path", "edge", "format", "regression")
    lines = []
    for n in range(cases):
        marks = (" (moved)" if n % 5 == 0 else "") + (" (fenced)" if n % 7 == 3 else "")
        lines += [
            f"- id: case-{n:04d}",
            f'  input: "Person {n} was born in City{n}.{marks}"',
            f"  expected: {{city: City{n}}}",
            f"  tags: [{tags[n % 4]}]",
        ]
    (folder / "tests" / "cases.yaml").write_text("\n".join(lines) + "\n")


def pytest_run(folder: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        check=False,
    )


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--html-cases", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_project(folder, args.cases)
        pytest_run(folder, "--llm-record")
        pytest_run(folder, "--candidate-model=scripted/candidate", "--llm-report-md=s.md", "--llm-report-html=r.html")
        markdown = (folder / "s.md").read_text()
        left = re.search(r"_Left out to stay under [^:]*: ([^.]*)\.", markdown)
        print(f"{args.cases}-case candidate run:")
        print(f"  Markdown  {len(markdown):,} characters, {utf16(markdown):,} UTF-16 units (limit 65,536)")
        print(f"            left out: {left.group(1) if left else 'nothing'}")
        print(f"  HTML      {(folder / 'r.html').stat().st_size:,} bytes")

    from report_factory import big_report

    from pytest_llmversion.report.html import render_html

    report = big_report(args.html_cases, regressed=args.html_cases // 10)
    started = time.perf_counter()
    page = render_html(report)
    took = time.perf_counter() - started
    print(f"{args.html_cases} generated cases ({args.html_cases // 10} REGRESSED):")
    print(f"  HTML      {len(page.encode()):,} bytes (budget 15,000,000), rendered in {took:.2f} s")


if __name__ == "__main__":
    main()
