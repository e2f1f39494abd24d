"""Build ``pytest_llmversion/data/catalog.json`` from a LiteLLM price file and the reviewed extras.

    python scripts/build_catalog.py --as-of 2026-11-24
    python scripts/build_catalog.py --litellm path/to/model_prices_and_context_window.json --as-of 2027-01-10

The default input is the filtered LiteLLM 1.110.2 copy in ``scripts/catalog_sources/`` (MIT, Copyright (c)
2023 Berri AI, see the LICENSE-litellm.txt beside it). ``--as-of`` is the day the LiteLLM data was taken;
the same inputs and the same date always give the same bytes (tests/test_catalog_build.py checks the
bundled file against this script). Users refresh their own copy with ``llmversion catalog import FILE``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LITELLM = ROOT / "scripts" / "catalog_sources" / "litellm_catalog_subset.json"
DEFAULT_EXTRAS = ROOT / "pytest_llmversion" / "data" / "catalog_extra.yaml"
DEFAULT_OUTPUT = ROOT / "pytest_llmversion" / "data" / "catalog.json"


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from pytest_llmversion.governance.catalog import CatalogError
    from pytest_llmversion.governance.catalog_build import build_from_file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--litellm", type=Path, default=DEFAULT_LITELLM, help="LiteLLM price file (full or subset)")
    parser.add_argument("--extras", type=Path, default=DEFAULT_EXTRAS, help="reviewed extra entries (YAML)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the catalogue")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="day the LiteLLM data was taken")
    parser.add_argument("--litellm-version", default=None, help="LiteLLM version, when the file does not say")
    args = parser.parse_args(argv)
    try:
        text = build_from_file(
            args.litellm, as_of=args.as_of, litellm_version=args.litellm_version, extras_path=args.extras
        )
    except CatalogError as exc:
        print(f"build_catalog: {exc}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8", newline="\n")
    print(f"build_catalog: wrote {args.output} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
