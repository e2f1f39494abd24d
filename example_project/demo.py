"""The offline demo migration: Acme's triage app, from triage-2024-06 to triage-2024-11.

Run it with ``make demo`` from the repository root. Both models are scripted, synthetic stand-ins
(see models/), so it needs no API key and no network. It exits 0: the failed gate it shows is the
point of the demo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CANDIDATE = "scripted/triage-2024-11"

EXPLAIN = {
    "FORMAT_BREAK": (
        "the candidate's answer no longer has the shape the app relies on: a format check that passed on the "
        "golden fails. Typical causes: the new version wraps JSON in a code fence, or answers in text where "
        "the current one called a tool."
    ),
    "REGRESSED": "the candidate still answers in the right format, but scores lower than the golden on this case.",
    "ERROR": "the provider failed (after retries and fallbacks); this says nothing about quality.",
}


def step(title: str) -> None:
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}== {title}{plain}", flush=True)


#: The models and their retirement date are synthetic; the demo pins "today" so the story it tells
#: (the current model retires in 51 days) does not change as the calendar moves.
DEMO_TODAY = "2026-11-24"


def pytest(*args: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMVERSION_") and k != "CI"}
    env["LLMVERSION_TODAY"] = DEMO_TODAY
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    print(f"$ pytest {' '.join(args)}", flush=True)
    return subprocess.run(command, cwd=HERE, env=env, check=False).returncode


def main() -> int:
    step("1. Today: replay the committed goldens of triage-2024-06 (offline, no key)")
    print("Every [current] test replays its golden: the prompt building, parsing and routing code around")
    print("the model is tested with no provider call. A changed prompt would show up as STALE.")
    replay = pytest("-q", "--no-header")
    if replay != 0:
        print("The replay run failed; the goldens or the code changed. Fix that first.")
        return 1

    step(f"2. The migration question: does {CANDIDATE} regress anything?")
    pytest("--candidate-model", CANDIDATE, "-q", "--no-header", "-rN")

    report = json.loads((HERE / ".llmversion" / "report.json").read_text())
    step("3. What the failed gate means")
    summary = report["summary"]
    print(
        f"Gate: {summary['gate'].upper()}. Candidate pass rate {summary['pass_rate'] * 100:.0f}% "
        f"({summary['passed']}/{summary['total']}); the gate fails on any case that breaks or regresses,"
    )
    print("because an average hides a single broken case.\n")
    for item in report["items"]:
        if item["role"] == "candidate" and not item["passed"]:
            name = item["test"].rsplit("::", 1)[-1] + (f"[{item['case']}]" if item["case"] else "")
            print(f"- {name}: {item['verdict']}: {EXPLAIN.get(item['verdict'], item['message'])}")
            if item.get("error"):
                print(f"    the app raised {item['error']}")
            for check in item["checks"]:
                if check["baseline"] is not None and check["score"] < check["baseline"]:
                    print(f"    {check['name']}: {check['baseline']:.2f} -> {check['score']:.2f} ({check['detail']})")
    improved = [i["case"] for i in report["items"] if i["verdict"] == "IMPROVED"]
    if improved:
        print(f"- {', '.join(improved)}: IMPROVED, the candidate scores higher than today's model here.")
    for judge in (summary.get("cost") or {}).get("check_calls") or []:
        if judge["purpose"] == "judge":
            print(
                f"- judge: test_reply's free-text replies are graded by {judge['model']} against a rubric "
                f"(checks.judge); {judge['calls_replayed']} verdicts were replayed from the goldens, the candidate's "
                f"{judge['calls_live']} "
                "asked live, on a cost line of their own. Edit the rubric and a replay says STALE; a candidate run "
                "judges the golden's reply again and notes that the judge changed, not the model."
            )
    comparison = (summary.get("cost") or {}).get("comparison") or {}
    if comparison.get("cost_ratio"):
        print(
            f"- cost: the candidate would cost x{comparison['cost_ratio']:.2f} per case at the same traffic "
            f"(tokens x{comparison['token_ratio']:.2f}); a budget such as --llm-max-cost-increase=10 gates on it."
        )
    print("\nNext steps a team would take:")
    print(f"  pytest --candidate-model={CANDIDATE} --llm-candidate-prompt=own")
    print("      measures the prompt versions tuned for the candidate (prompts/triage.yaml v2: no code fences;")
    print("      prompts/orders.yaml v2: always call lookup_order);")
    print("  fix or accept the regression, then `llmversion promote` makes the candidate current and")
    print("      turns its recorded answers into the new goldens; `llmversion rollback` undoes it.")
    print("\nThis demo exits 0 on purpose: the failed gate above is what it is here to show.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
