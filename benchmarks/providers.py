"""Providers benchmark, against the loopback emulator answering after 200 ms.

1. Overhead of the adapter + router per call over a bare SDK call (target: <= 2 ms median). Calls alternate
   (bare, ours, bare, ours, ...) so drift in the machine's load hits both sides alike; the figure is the
   median of the paired differences. A 0 ms-latency run gives a tighter figure for the same quantity.
2. 200 candidate calls through pytest, serially and with ``pytest -n 8`` (target: ratio >= 6x). Two clocks:
   the calls themselves (the emulator's first request to its last answer; the target applies to this one)
   and the whole pytest process, where starting 8 workers that each import pytest, pydantic and the SDK
   weighs heavily on a small machine.

Run: ``.venv/bin/python benchmarks/providers.py`` (about two minutes). No key or network needed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_llmversion.config import LLMConfig
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers import ProviderFactory
from pytest_llmversion.providers.base import Message, Request
from pytest_llmversion.testing import Emulator

KEY = "sk-bench-key"
MODEL = "bench-model"
ANSWER = '{"ok": true}'
PROMPT = "Reply with a small JSON object."


def bare_calls(emu: Emulator) -> dict[str, Callable[[], Any]]:
    """One plain SDK call per provider, configured as the adapters configure theirs (no SDK retries)."""
    import anthropic
    import openai
    from google import genai
    from google.genai import types

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import google.generativeai as legacy

    chat = openai.OpenAI(api_key=KEY, base_url=emu.openai_base_url, max_retries=0, timeout=60)
    claude = anthropic.Anthropic(api_key=KEY, base_url=emu.url, max_retries=0, timeout=60)
    gemini = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=emu.url, api_version="v1beta"))
    legacy.configure(api_key=KEY, transport="rest", client_options={"api_endpoint": emu.url})
    messages = [{"role": "user", "content": PROMPT}]
    return {
        "openai": lambda: (
            chat.chat.completions.create(model=MODEL, messages=messages, temperature=0.0, max_completion_tokens=64)
            .choices[0]
            .message.content
        ),
        "anthropic": lambda: (
            claude.messages.create(model=MODEL, messages=messages, max_tokens=64, extra_body={"temperature": 0.0})
            .content[0]
            .text
        ),
        "gemini": lambda: (
            gemini.models.generate_content(
                model=MODEL, contents=PROMPT, config=types.GenerateContentConfig(temperature=0.0, max_output_tokens=64)
            ).text
        ),
        "google-legacy": lambda: (
            legacy.GenerativeModel(MODEL, generation_config={"temperature": 0.0})
            .generate_content(PROMPT, request_options={"retry": None})
            .text
        ),
    }


def routed_calls(emu: Emulator) -> dict[str, Callable[[], Any]]:
    """The same call through the plugin: router (retry policy, fallback chain) -> adapter -> SDK."""
    tables = {
        "openai": {"base_url": emu.openai_base_url},
        "anthropic": {"base_url": emu.url},
        "gemini": {"base_url": emu.url},
        "google-legacy": {"base_url": emu.url},
    }
    config = LLMConfig.model_validate({"providers": tables})
    factory = ProviderFactory(config, Path.cwd())
    request = Request((Message("user", PROMPT),), {"temperature": 0.0, "max_tokens": 64})
    routers = {name: factory.router(ModelRef(name, MODEL)) for name in tables}
    return {name: (lambda r=router: r.complete(request).text) for name, router in routers.items()}


def overhead(emu: Emulator, pairs: int) -> dict[str, tuple[float, float, float]]:
    """provider -> (median bare ms, median routed ms, median paired difference ms)."""
    bare, routed = bare_calls(emu), routed_calls(emu)
    results = {}
    for name in bare:
        assert bare[name]() == routed[name]() == ANSWER  # warm both connection pools
        plain, ours, diffs = [], [], []
        for index in range(pairs):
            order = [(bare[name], plain), (routed[name], ours)]
            if index % 2:
                order.reverse()
            times = []
            for call, sink in order:
                started = time.perf_counter()
                call()
                sink.append((time.perf_counter() - started) * 1000)
                times.append(sink[-1])
            diffs.append(ours[-1] - plain[-1])
        results[name] = (statistics.median(plain), statistics.median(ours), statistics.median(diffs))
    return results


PROJECT_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_case(llm, llm_case, llm_golden):
    out = llm.complete(f"case {llm_case.input}: " + "Reply with a small JSON object.")
    llm_golden.check(out, checks.valid_json())
"""


def candidate_runs(emu: Emulator, calls: int, workers: int) -> list[tuple[float, float]]:
    """(wall clock of the pytest process, first request to last answer at the emulator) in seconds, for one
    candidate run of ``calls`` items serially and one with ``-n workers``."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "pyproject.toml").write_text(
            textwrap.dedent(
                f"""\
                [tool.llmversion]
                model = "scripted/current"
                scripted_models = "models"
                max_retries = 0

                [tool.llmversion.providers.openai]
                base_url = "{emu.openai_base_url}"
                """
            )
        )
        (root / "models").mkdir()
        (root / "models" / "current.yaml").write_text(f"default: {{respond: '{ANSWER}'}}\n")
        (root / "tests").mkdir()
        (root / "tests" / "test_bench.py").write_text(PROJECT_TEST)
        (root / "tests" / "cases.yaml").write_text("".join(f"- {{id: c{i}, input: {i}}}\n" for i in range(calls)))
        env = dict(os.environ, OPENAI_API_KEY=KEY, NO_PROXY="127.0.0.1,localhost")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
        subprocess.run([*base, "--llm-record"], cwd=root, env=env, check=True, capture_output=True)
        timings = []
        for extra in ([], ["-n", str(workers)]):
            command = [*base, "--candidate-model=openai/" + MODEL, "--llm-candidate-recordings=all", *extra]
            emu.clear_requests()
            started = time.perf_counter()
            done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - started
            seen = emu.requests()
            if done.returncode != 0 or len(seen) != calls:
                raise SystemExit(f"candidate run failed ({len(seen)} calls):\n{done.stdout[-2000:]}")
            timings.append((wall, max(r.answered_at for r in seen) - min(r.received_at for r in seen)))
        return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=25, help="paired calls per provider at 200 ms (default 25)")
    parser.add_argument("--calls", type=int, default=200, help="candidate calls through pytest (default 200)")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        os.environ[variable] = KEY  # the emulator takes any key
    random.seed(0)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for latency, pairs in ((200, args.pairs), (0, 200)):
        with Emulator(latency_ms=latency) as emu:
            emu.add_model(MODEL, respond=ANSWER)
            print(f"\nadapter + router overhead per call, emulator latency {latency} ms, {pairs} paired calls")
            print(f"  {'provider':<14} {'bare SDK':>10} {'plugin':>10} {'overhead (median of pairs)':>28}")
            for name, (plain, ours, diff) in overhead(emu, pairs).items():
                verdict = "ok" if diff <= 2.0 else "ABOVE TARGET"
                print(f"  {name:<14} {plain:>8.2f}ms {ours:>8.2f}ms {diff:>+25.2f}ms  {verdict}")
    with Emulator(latency_ms=200) as emu:
        emu.add_model(MODEL, respond=ANSWER)
        (serial_wall, serial_calls), (parallel_wall, parallel_calls) = candidate_runs(emu, args.calls, args.workers)
    print(f"\n{args.calls} candidate calls of 200 ms through pytest")
    print(f"  {'':<12} {'calls (first request to last answer)':>38} {'whole pytest process':>22}")
    print(f"  {'serial':<12} {serial_calls:>37.1f}s {serial_wall:>21.1f}s")
    print(f"  {'-n ' + str(args.workers):<12} {parallel_calls:>37.1f}s {parallel_wall:>21.1f}s")
    ratio, wall_ratio = serial_calls / parallel_calls, serial_wall / parallel_wall
    print(f"  {'ratio':<12} {ratio:>37.1f}x {wall_ratio:>21.1f}x  {'ok' if ratio >= 6 else 'BELOW TARGET (6x)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
