"""Live runs at the provider's pace: the plugin's call pool beside a plain ``AsyncOpenAI`` loop.

    .venv/bin/python benchmarks/concurrency.py [--cases 200] [--latency-ms 200] [--concurrency 32] [--runs 3]

The loopback emulator (``pytest_llmversion.testing.Emulator``) answers every OpenAI chat call after
``--latency-ms``. A project of ``--cases`` cases has goldens of the current model (recorded once, not timed).
Then, each timed as a whole process, alternating A B A B:

1. ``pytest --candidate-model=... --llm-baseline=live --llm-concurrency=C``: the candidate against a live
   baseline, 2 x cases calls (A), beside a script that makes the same calls with ``AsyncOpenAI`` and a
   semaphore of C (B). Target: A / B <= 1.2; the ideal is 2N x latency / C.
2. The same with ``--llm-samples=5`` (10 x cases calls; the two models agree, so no top-ups).
3. Optionally (``--serial``) the run of 1. at ``--llm-concurrency=1``: what a run took before the pool.

The calls each side made are counted by the emulator and must be equal. No key or network is needed.
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

from pytest_llmversion.testing import Emulator

CURRENT, CANDIDATE = "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"
SCRIPT = """\
# synthetic
rules:
  - when: {regex: "(?P<name>Person \\\\d+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
"""

TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.json")
def test_city(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", "London"))
"""

LOOP = """\
import asyncio, json, sys
import openai

base_url, models, samples, concurrency, path = sys.argv[1:6]
cases = json.load(open(path))
prompts = [(m, c["input"]) for c in cases for m in models.split(",") for _ in range(int(samples))]

async def run_all():
    gate = asyncio.Semaphore(int(concurrency))
    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)

    async def one(model, prompt):
        async with gate:
            reply = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": prompt}], temperature=0.0,
                max_completion_tokens=1024,
            )
            return json.loads(reply.choices[0].message.content)["city"] == "London"

    results = await asyncio.gather(*(one(m, p) for m, p in prompts))
    await client.close()
    assert all(results)

asyncio.run(run_all())
"""


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMVERSION_", "OPENAI_")) and k != "CI"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as on a user's machine
    env["OPENAI_API_KEY"] = "sk-bench"
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=environment(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args]


def compare(
    label: str, emu: Emulator, plugin: tuple[list[str], Path], loop: tuple[list[str], Path], runs: int, ideal: float
) -> None:
    plugin_times, loop_times, calls = [], [], set()
    for _ in range(runs):
        emu.clear_requests()
        plugin_times.append(timed(*plugin))
        plugin_calls = len(emu.requests())
        emu.clear_requests()
        loop_times.append(timed(*loop))
        calls.add((plugin_calls, len(emu.requests())))
    if len(calls) != 1 or len({n for pair in calls for n in pair}) != 1:
        raise SystemExit(f"{label}: the two sides made different calls: {sorted(calls)} (plugin, loop)")
    ratios = [a / b for a, b in zip(plugin_times, loop_times, strict=True)]
    count = calls.pop()[0]
    print(
        f"{label} ({count} calls)\n"
        f"  plugin median {statistics.median(plugin_times):.2f} s   AsyncOpenAI loop median "
        f"{statistics.median(loop_times):.2f} s   ratio median {statistics.median(ratios):.2f} "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f})   ideal {ideal:.2f} s, plugin/ideal "
        f"{statistics.median(plugin_times) / ideal:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serial", action="store_true", help="also time the run at --llm-concurrency=1")
    args = parser.parse_args()
    n, c, latency = args.cases, args.concurrency, args.latency_ms / 1000
    with Emulator(latency_ms=args.latency_ms) as emu, tempfile.TemporaryDirectory(prefix="llmversion-bench-") as tmp:
        emu.add_model(CURRENT, SCRIPT)
        emu.add_model(CANDIDATE, SCRIPT)
        root = Path(tmp)
        cases = [{"id": f"c{i:04d}", "input": f"Person {i} was born in London."} for i in range(n)]
        (root / "cases.json").write_text(json.dumps(cases))
        (root / "test_city.py").write_text(TEST)
        (root / "pyproject.toml").write_text(
            f'[tool.llmversion]\nmodel = "openai/{CURRENT}"\nmax_retries = 0\n'
            f'[tool.llmversion.providers.openai]\nbase_url = "{emu.openai_base_url}"\n'
        )
        (root / "loop.py").write_text(LOOP)
        print(f"recording {n} goldens of openai/{CURRENT} ...", flush=True)
        timed(pytest_command("--llm-record", f"--llm-concurrency={c}", "--llm-samples=5"), root)
        print(f"{n} cases, {args.latency_ms:.0f} ms a call, {c} in flight, {args.runs} runs each\n", flush=True)
        candidate = (f"--candidate-model=openai/{CANDIDATE}", "--llm-candidate-recordings=all")
        loop = [sys.executable, "loop.py", emu.openai_base_url, f"{CURRENT},{CANDIDATE}"]
        compare(
            "1. candidate against a live baseline",
            emu,
            (pytest_command(*candidate, "--llm-baseline=live", f"--llm-concurrency={c}"), root),
            ([*loop, "1", str(c), "cases.json"], root),
            args.runs,
            2 * n * latency / c,
        )
        compare(
            "2. the same with --llm-samples=5",
            emu,
            (pytest_command(*candidate, "--llm-baseline=live", "--llm-samples=5", f"--llm-concurrency={c}"), root),
            ([*loop, "5", str(c), "cases.json"], root),
            args.runs,
            10 * n * latency / c,
        )
        if args.serial:
            seconds = timed(pytest_command(*candidate, "--llm-baseline=live", "--llm-concurrency=1"), root)
            print(f"3. the run of 1. at --llm-concurrency=1: {seconds:.1f} s ({2 * n} calls)")


if __name__ == "__main__":
    main()
