"""Everything the example project's runs write, captured so a refactoring can prove it changed nothing.

    python scripts/example_snapshot.py save /tmp/before.json     # on the commit before the change
    python scripts/example_snapshot.py check /tmp/before.json    # after it: lists every difference

Each scenario runs ``pytest`` (and ``llmversion promote``) in a fresh copy of ``example_project/``, offline,
with the clock pinned as the demo pins it. The snapshot holds, per scenario, the exit status, every golden,
candidate copy and recording byte for byte, and report.json with only what differs between two identical
runs taken out (timestamps, the rootdir, measured latencies). ``--rename old=new`` maps a report field that
was renamed on purpose, so the check still compares its values.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example_project"
CANDIDATE = "scripted/triage-2024-11"
TODAY = "2026-11-24"

#: (name, commands); a command starting with "llmversion" runs the CLI, anything else pytest.
SCENARIOS: list[tuple[str, list[list[str]]]] = [
    ("replay", [[]]),
    ("candidate", [[f"--candidate-model={CANDIDATE}"]]),
    ("candidate-own-prompt", [[f"--candidate-model={CANDIDATE}", "--llm-candidate-prompt=own"]]),
    ("samples", [[f"--candidate-model={CANDIDATE}", "--llm-samples=3"]]),
    ("live", [["--llm-live"]]),
    ("live-samples", [["--llm-live", "--llm-samples=3"]]),
    ("record", [["--llm-record"]]),
    ("promote", [[f"--candidate-model={CANDIDATE}"], ["llmversion", "promote", "--force"], []]),
]
#: Report fields that differ between two runs of the same code.
VOLATILE = {"started_at", "finished_at", "rootdir", "latency_ms", "baseline_latency_ms"}
#: Latency figures measured by the clock (scripted latencies are exact, measured ones are not).
MEASURED = {"latency_p50_ms", "latency_p95_ms", "candidate_latency_p50_ms", "candidate_latency_p95_ms"}


def run_scenario(commands: list[list[str]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "example"
        shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns(".llmversion", "__pycache__"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMVERSION_", "OPENAI_", "ANTHROPIC_"))}
        env.pop("CI", None)
        env["LLMVERSION_TODAY"] = TODAY
        statuses = []
        for args in commands:
            if args[:1] == ["llmversion"]:
                command = [sys.executable, "-m", "pytest_llmversion.cli", *args[1:]]
            else:
                command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q", *args]
            done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)
            statuses.append(done.returncode)
        files = {}
        for path in sorted(work.rglob("*")):
            rel = path.relative_to(work).as_posix()
            if not path.is_file() or "__pycache__" in rel or rel.startswith(".llmversion/cache/"):
                continue
            kept = rel == "pyproject.toml" or "__llm_goldens__" in rel
            if kept or rel.startswith((".llmversion/candidate/", ".llmversion/recordings/")):
                files[rel] = path.read_text(encoding="utf-8")
        report_path = work / ".llmversion" / "report.json"
        report = _normalised(json.loads(report_path.read_text())) if report_path.exists() else None
        return {"exit": statuses, "files": files, "report": report}


def _normalised(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in VOLATILE:
                continue
            out[key] = "<measured>" if key in MEASURED and item is not None else _normalised(item)
        return out
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    return value


def snapshot() -> dict[str, Any]:
    return {name: run_scenario(commands) for name, commands in SCENARIOS}


def _renamed(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {renames.get(k, k): _renamed(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renames) for v in value]
    return value


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in after:
                out.append(f"{where}/{key}: gone")
            elif key not in before:
                out.append(f"{where}/{key}: new")
            else:
                out += differences(before[key], after[key], f"{where}/{key}")
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            line
            for i, (a, b) in enumerate(zip(before, after, strict=True))
            for line in differences(a, b, f"{where}[{i}]")
        ]
    return [] if before == after else [f"{where}: {json.dumps(before)[:200]} -> {json.dumps(after)[:200]}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("save", "check"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW", help="a report field renamed")
    args = parser.parse_args(argv)
    current = snapshot()
    if args.action == "save":
        args.path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        print(f"saved {len(current)} scenarios to {args.path}")
        return 0
    renames = dict(pair.split("=", 1) for pair in args.rename)
    before = _renamed(json.loads(args.path.read_text()), renames)
    found = differences(before, json.loads(json.dumps(current)))
    for line in found:
        print(line)
    print(f"{len(found)} differences in {len(current)} scenarios")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
