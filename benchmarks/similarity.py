"""``checks.similarity`` on long and repetitive answers: rapidfuzz (today) beside difflib (before).

    .venv/bin/python benchmarks/similarity.py [--kb 14] [--runs 5]

Two answers of ``--kb`` kilobytes each, compared with the golden's answer of the same kind:

1. ordinary words (a random draw from a small vocabulary, as a support reply repeats its words);
2. repeated text (one short phrase over and over; the other answer repeats a slightly different one), difflib's
   worst case: its matching-block search goes quadratic without its junk heuristic, which similarity cannot use.

Prints the median time of each and the scores (rapidfuzz's Indel ratio is at least difflib's ratio: both are
2 x matched / total, rapidfuzz with the longest common subsequence). difflib is timed once per case only when
``--difflib`` is given: on repeated text it takes minutes.
"""

from __future__ import annotations

import argparse
import difflib
import random
import statistics
import time

from pytest_llmversion import checks


def _texts(kind: str, size: int) -> tuple[str, str]:
    if kind == "words":
        vocabulary = ["refund", "approved", "customer", "order", "shipping", "delayed", "apology", "voucher"]
        rng = random.Random(7)

        def make() -> str:
            return " ".join(rng.choice(vocabulary) for _ in range(size // 6))[:size]

        return make(), make()
    golden, answer = "your order is on its way. ", "your parcel is on the way. "
    return (golden * (size // len(golden) + 1))[:size], (answer * (size // len(answer) + 1))[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kb", type=int, default=14)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--difflib", action="store_true", help="also time difflib once per case (slow)")
    args = parser.parse_args()
    size = args.kb * 1000
    for kind in ("words", "repeated"):
        golden, answer = _texts(kind, size)
        check = checks.similarity(golden, threshold=0.5)
        times, score = [], 0.0
        for _ in range(args.runs):
            started = time.perf_counter()
            score = check.evaluate(answer).score
            times.append(time.perf_counter() - started)
        median_ms = statistics.median(times) * 1000
        line = f"{kind:9} {len(golden):6} chars  similarity {score:.3f}  median {median_ms:8.1f} ms"
        if args.difflib:
            started = time.perf_counter()
            ratio = difflib.SequenceMatcher(None, golden, answer, autojunk=False).ratio()
            line += f"   difflib {ratio:.3f} in {time.perf_counter() - started:8.1f} s"
        print(line, flush=True)


if __name__ == "__main__":
    main()
