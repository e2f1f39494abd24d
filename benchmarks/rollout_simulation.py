"""Operating characteristics of the rollout's sequential error-rate test, on many simulated rollouts.

    .venv/bin/python benchmarks/rollout_simulation.py               # 2,000 rollouts per row, ~6 minutes
    .venv/bin/python benchmarks/rollout_simulation.py --runs 200    # the size the unit tests use

Each rollout reads the test after every 100 calls per arm (as if ``llmversion rollout status`` ran
that often) with the default ``[tool.llmversion.rollout]`` thresholds, and stops at the first roll
back or advance. ``rates tested = 2`` is status with quality checks measured too (alpha split in two).
"""

from __future__ import annotations

import argparse
import time

from pytest_llmversion.rollout import Rollout
from pytest_llmversion.rollout.simulate import simulate

ROWS = [
    (0.02, 0.02, "equal arms"),
    (0.02, 0.07, "candidate 2 % -> 7 %"),
    (0.02, 0.03, "at the +50 % tolerance"),
    (0.05, 0.05, "equal arms, 5 %"),
    (0.0, 0.0, "no failures"),
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--max-calls", type=int, default=40_000)
    args = parser.parse_args()
    rollout = Rollout(candidate_percent=50)
    print(f"{args.runs} rollouts per row, read every {args.every} calls per arm, up to {args.max_calls:,} per arm")
    print(
        "| case | current | candidate | rates tested | roll back | advance | hold | calls/arm to roll back "
        "(median, 95 %) | calls/arm to advance (median, 95 %) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    started = time.perf_counter()
    for current, candidate, name in ROWS:
        for rates in (1, 2):
            result = simulate(
                current, candidate, rollout, runs=args.runs, every=args.every, max_calls=args.max_calls, seed=11,
                rates_tested=rates,
            )  # fmt: skip

            def when(action: str, result=result) -> str:  # type: ignore[no-untyped-def]
                median, late = result.calls(action, 0.5), result.calls(action, 0.95)
                return "-" if median is None else f"{median:,}, {late:,}"

            print(
                f"| {name} | {current:.0%} | {candidate:.0%} | {rates} | {result.share('rollback'):.1%} | "
                f"{result.share('advance'):.1%} | {result.share('hold'):.1%} | {when('rollback')} | {when('advance')} |"
            )
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
