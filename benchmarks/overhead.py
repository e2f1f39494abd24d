"""What the plugin costs: unmarked suites, and replayed LLM items against plain JSON tests.

    .venv/bin/python benchmarks/overhead.py [--runs 7] [--tests 1000]

1. 1,000 unmarked tests with the plugin active vs ``-p no:llmversion`` (target: ratio <= 1.05).
2. 1,000 replayed ``[current]`` items (one case file, goldens recorded once) vs 1,000 plain tests
   that parse a JSON string and assert on it (target: ratio <= 1.5).

Each figure is a whole ``pytest`` process, timed from outside; the runs alternate A B A B so a
drifting machine affects both sides alike. Medians and the median of the pairwise ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_UNMARKED = """
import pytest

@pytest.mark.parametrize("n", range({n}))
def test_unmarked(n):
    assert n >= 0
"""

PLAIN_JSON = """
import json
import pytest

ANSWER = '{{"name": "Ada Lovelace", "city": "London"}}'

@pytest.mark.parametrize("n", range({n}))
def test_plain_json(n):
    data = json.loads(ANSWER)
    assert data["city"] == "London"
"""

LLM_TEST = """
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_replayed(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", "London"))
"""

MODEL = """\
# synthetic
rules:
  - when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
"""


def run(folder: Path, *args: str) -> float:
    # bytecode is cached as on any user's machine: without it, every run compiles pytest, pydantic and the
    # plugin again, which measures the compiler, not the plugin
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LLMVERSION_") and k not in ("CI", "PYTHONDONTWRITEBYTECODE")
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {folder} {args}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def compare(label: str, a: tuple[Path, tuple[str, ...]], b: tuple[Path, tuple[str, ...]], runs: int) -> None:
    run(*[a[0]], *a[1])  # warm-up: imports, bytecode caches
    run(*[b[0]], *b[1])
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(run(a[0], *a[1]))
        times_b.append(run(b[0], *b[1]))
    ratios = [x / y for x, y in zip(times_a, times_b, strict=True)]
    print(
        f"{label}\n  A median {statistics.median(times_a):.3f} s   B median {statistics.median(times_b):.3f} s   "
        f"ratio A/B median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tests", type=int, default=1000)
    args = parser.parse_args()
    n = args.tests
    with tempfile.TemporaryDirectory(prefix="llmversion-bench-") as tmp:
        root = Path(tmp)
        unmarked = root / "unmarked"
        unmarked.mkdir()
        (unmarked / "test_unmarked.py").write_text(PLAIN_UNMARKED.format(n=n))

        plain = root / "plain"
        plain.mkdir()
        (plain / "test_plain.py").write_text(PLAIN_JSON.format(n=n))

        llm = root / "llm"
        (llm / "models").mkdir(parents=True)
        (llm / "pyproject.toml").write_text('[tool.llmversion]\nmodel = "scripted/m1"\nscripted_models = "models"\n')
        (llm / "models" / "m1.yaml").write_text(MODEL)
        cases = [{"id": f"case-{i:04d}", "input": f"Person Number{i} was born in London."} for i in range(n)]
        (llm / "cases.yaml").write_text(json.dumps(cases))
        (llm / "test_replayed.py").write_text(LLM_TEST)
        run(llm, "--llm-record")

        print(f"{n} tests, {args.runs} runs each after one warm-up, python {sys.version.split()[0]}\n")
        compare(
            f"1. {n} unmarked tests: plugin active (A) vs -p no:llmversion (B); target ratio <= 1.05",
            (unmarked, ()),
            (unmarked, ("-p", "no:llmversion")),
            args.runs,
        )
        compare(
            f"2. {n} replayed [current] items (A) vs {n} plain JSON-parsing tests (B); target ratio <= 1.5",
            (llm, ()),
            (plain, ()),
            args.runs,
        )


if __name__ == "__main__":
    main()
