"""Command-line options, and resolving them with pyproject.toml and the environment into a run.

Precedence: command line > ``LLMVERSION_*`` environment > pytest ini option (``llm_allow_passthrough``
only) > ``[tool.llmversion]`` > defaults. Every bad value is a ``pytest.UsageError`` of one line naming the
option, variable or key at fault.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_llmversion.config import ResolvedConfig
    from pytest_llmversion.governance.startup import Governance
    from pytest_llmversion.run.context import RunContext
    from pytest_llmversion.run.recordings import RecordMode
    from pytest_llmversion.run.spec import Mode

GROUP = "llmversion"
INI_ALLOW_PASSTHROUGH = "llm_allow_passthrough"

HELP = {
    "current_model": "Current model, 'provider/model-id' (overrides model in [tool.llmversion] and LLMVERSION_MODEL).",
    "candidate_model": (
        "Candidate model to judge against the goldens; adds a [candidate] item beside each [current] one."
    ),
    "record": "Call the current model and write the goldens of passing tests (review, then commit them).",
    "live": "Call the current model instead of replaying goldens; report MATCH or DRIFT.",
    "samples": (
        "Samples (runs of each test body) per model and case (default: samples in [tool.llmversion], else 1). "
        "With 2 or more, candidate cases get exact tests and the suite a statistical gate; 5 is a good start."
    ),
    "max_samples": (
        "Samples per model for cases whose first samples disagree between the models (default 20); "
        "cases where both models agree stop at --llm-samples."
    ),
    "baseline": (
        "What the candidate is compared with: 'golden' replays the goldens' samples and calls the current model "
        "only for samples they lack (default); 'live' samples the current model live too."
    ),
    "margin": "Non-inferiority margin on the mean pass-rate difference, reported with samples (default 0.05).",
    "noninferiority": "Fail the gate unless non-inferiority within --llm-margin is shown (samples >= 2).",
    "tolerance": "Score drop a candidate may show before it is REGRESSED (default 0).",
    "candidate_prompt": (
        "Prompt versions for candidate items: 'current' uses the current model's prompt so the model change "
        "is measured alone (default); 'own' uses the version tuned for the candidate."
    ),
    "prune": "Delete golden files that no collected test uses (they are only listed otherwise).",
    "report": "Where to write the JSON report (default: <report_dir>/report.json, i.e. .llmversion/report.json).",
    "report_md": 'Also write the report as Markdown (e.g. "$GITHUB_STEP_SUMMARY" or a PR comment file).',
    "report_html": "Also write the report as one self-contained HTML page with side-by-side diffs.",
    "allow_passthrough": (
        "Let an SDK fixture's call the plugin cannot record (tools, embeddings, token counts, ...) go to the "
        "network as it is, from items that call models anyway (--llm-record, --llm-live, a candidate called live). "
        "A replay never sends anything. Default: such calls fail the item."
    ),
    "allow_unpinned": (
        "Run even when the current model or a fallback is an alias or rolling id (goldens from it will not reproduce)."
    ),
    "max_cost_increase": "Fail the gate when the candidate costs more than PCT percent above the current model.",
    "max_latency_increase": (
        "Fail the gate when the candidate's p50 latency is more than PCT percent above the current model's "
        "(live calls only: add --llm-live so the current model is called too)."
    ),
    "max_token_increase": "Fail the gate when the candidate uses more than PCT percent more tokens than the current.",
    "budget_usd": (
        "A cap on what the run spends: it refuses to start when the worst case of every call its items may make "
        "(top-ups and live baselines included) is above USD, and sends no call whose worst case no longer fits."
    ),
    "record_mode": (
        "Recordings of candidate calls in <report_dir>/recordings, as pytest-recording: none = replay only, "
        "once = replay if recorded else call and record, new = replay and record what is missing, all = call and "
        "re-record (default: none when CI is set, else once)."
    ),
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value:g}")
    return value


def _percent(text: str) -> float:
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (e.g. 20 for +20%)") from None
    if value <= -100:
        raise argparse.ArgumentTypeError(f"must be more than -100, got {value:g}")
    return value


def _usd(text: str) -> float:
    try:
        value = float(text.strip().lstrip("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in USD (e.g. 5 or 0.50)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value:g}")
    return value


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "pytest-llmversion: golden outputs and candidate-model regression gates")
    group.addoption("--current-model", metavar="PROVIDER/MODEL", default=None, help=HELP["current_model"])
    group.addoption("--candidate-model", metavar="PROVIDER/MODEL", default=None, help=HELP["candidate_model"])
    group.addoption("--llm-record", action="store_true", default=False, help=HELP["record"])
    group.addoption("--llm-live", action="store_true", default=False, help=HELP["live"])
    group.addoption("--llm-samples", type=_positive_int, default=None, metavar="K", help=HELP["samples"])
    group.addoption("--llm-max-samples", type=_positive_int, default=None, metavar="K", help=HELP["max_samples"])
    group.addoption("--llm-baseline", choices=("golden", "live"), default=None, help=HELP["baseline"])
    group.addoption("--llm-margin", type=_fraction, default=None, metavar="FRACTION", help=HELP["margin"])
    group.addoption("--llm-noninferiority", action="store_true", default=None, help=HELP["noninferiority"])
    group.addoption("--llm-tolerance", type=_fraction, default=None, metavar="FRACTION", help=HELP["tolerance"])
    group.addoption(
        "--llm-candidate-prompt", choices=("current", "own"), default="current", help=HELP["candidate_prompt"]
    )
    group.addoption("--llm-prune-unused", action="store_true", default=False, help=HELP["prune"])
    group.addoption("--llm-report", metavar="PATH", default=None, help=HELP["report"])
    group.addoption("--llm-report-md", metavar="PATH", default=None, help=HELP["report_md"])
    group.addoption("--llm-report-html", metavar="PATH", default=None, help=HELP["report_html"])
    group.addoption("--llm-allow-unpinned", action="store_const", const=True, default=None, help=HELP["allow_unpinned"])
    group.addoption(
        "--llm-allow-passthrough", action="store_const", const=True, default=None, help=HELP["allow_passthrough"]
    )
    # pytest 8 answers [] for an unset bool ini without a default, pytest 9 None: both mean "not set"
    parser.addini(INI_ALLOW_PASSTHROUGH, HELP["allow_passthrough"], type="bool", default=None)
    for name in ("max_cost_increase", "max_latency_increase", "max_token_increase"):
        option = "--llm-" + name.replace("_", "-")
        group.addoption(option, type=_percent, default=None, metavar="PCT", help=HELP[name])
    group.addoption("--llm-budget-usd", type=_usd, default=None, metavar="USD", help=HELP["budget_usd"])
    group.addoption("--llm-record-mode", choices=("none", "once", "new", "all"), default=None, help=HELP["record_mode"])


_OPTION_KEYS = {
    "model": ("current_model", "--current-model"),
    "candidate_model": ("candidate_model", "--candidate-model"),
    "samples": ("llm_samples", "--llm-samples"),
    "max_samples": ("llm_max_samples", "--llm-max-samples"),
    "baseline": ("llm_baseline", "--llm-baseline"),
    "margin": ("llm_margin", "--llm-margin"),
    "noninferiority": ("llm_noninferiority", "--llm-noninferiority"),
    "tolerance": ("llm_tolerance", "--llm-tolerance"),
    "allow_unpinned": ("llm_allow_unpinned", "--llm-allow-unpinned"),
    "allow_passthrough": ("llm_allow_passthrough", "--llm-allow-passthrough"),
    "max_cost_increase": ("llm_max_cost_increase", "--llm-max-cost-increase"),
    "max_latency_increase": ("llm_max_latency_increase", "--llm-max-latency-increase"),
    "max_token_increase": ("llm_max_token_increase", "--llm-max-token-increase"),
    "budget_usd": ("llm_budget_usd", "--llm-budget-usd"),
    "record_mode": ("llm_record_mode", "--llm-record-mode"),
}


def project_uses_plugin(config: pytest.Config) -> bool:
    """Cheap test (no TOML parse, no pydantic) for whether to resolve the config at start-up."""
    if any(config.getoption(dest) for dest, _ in _OPTION_KEYS.values()):
        return True
    if config.getoption("llm_record") or config.getoption("llm_live"):
        return True
    if any(name.startswith("LLMVERSION_") and name != "LLMVERSION_TODAY" for name in os.environ):
        return True
    path = pyproject_of(config)
    return path is not None and "[tool.llmversion" in path.read_text(encoding="utf-8", errors="replace")


def pyproject_of(config: pytest.Config) -> Path | None:
    """pytest's own config file when it is a pyproject.toml, else the nearest one above the rootdir."""
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    for folder in (config.rootpath, *config.rootpath.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / "pyproject.toml"
    return None


def build_context(config: pytest.Config) -> RunContext:
    from pytest_llmversion.config import ConfigError, load_config
    from pytest_llmversion.judge.comparison import GatePolicy
    from pytest_llmversion.run.context import RunContext

    if config.getoption("llm_record") and config.getoption("llm_live"):
        raise pytest.UsageError("pytest-llmversion: --llm-record and --llm-live cannot be combined")
    cli = {key: (config.getoption(dest), option) for key, (dest, option) in _OPTION_KEYS.items()}
    try:
        resolved = load_config(config.rootpath, cli=cli, pyproject=pyproject_of(config), ini=ini_values(config))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    settings = resolved.config
    mode: Mode = "record" if config.getoption("llm_record") else "live" if config.getoption("llm_live") else "replay"
    current = settings.ref(settings.model) if settings.model else None
    candidate = settings.ref(settings.candidate_model) if settings.candidate_model else None
    if candidate is not None and candidate == current:
        candidate = None  # the same model twice would only duplicate every item
    if candidate is not None and mode == "record":
        # goldens are written at session end: a candidate in the same run would have no baseline
        if resolved.source("candidate_model") == "--candidate-model":
            raise pytest.UsageError(
                "pytest-llmversion: --llm-record writes the current model's goldens at the end of the run, so a "
                f"candidate has nothing to be judged against yet; record first, then run: pytest --candidate-model="
                f"{candidate}"
            )
        candidate = None
    record_mode, record_mode_source = _record_mode(resolved)
    ctx = RunContext(
        resolved=resolved,
        record_mode=record_mode,
        record_mode_source=record_mode_source,
        rootpath=config.rootpath,
        mode=mode,
        current=current,
        candidate=candidate,
        samples=settings.samples,
        tolerance=settings.tolerance,
        candidate_prompt=config.getoption("llm_candidate_prompt"),
        policy=GatePolicy(
            max_samples=settings.max_samples,
            baseline=settings.baseline,
            threshold=settings.threshold,
            alpha=settings.alpha,
            margin=settings.margin,
            noninferiority=settings.noninferiority,
        ),
    )
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:  # the controller decides; workers only run items
        ctx.governance = start_governance(config, ctx)
    elif workerinput.get("llmversion_ledger"):
        ctx.ledger_path = Path(workerinput["llmversion_ledger"])
    return ctx


def ini_values(config: pytest.Config) -> dict[str, tuple[object, str]]:
    """The config keys pytest's own configuration (an ini file, ``[tool.pytest.ini_options]``, ``-o``) may set."""
    value = config.getini(INI_ALLOW_PASSTHROUGH)
    if not isinstance(value, bool):
        return {}
    where = f" in {config.inipath.name}" if config.inipath is not None else ""
    return {"allow_passthrough": (value, f"ini option {INI_ALLOW_PASSTHROUGH}{where}")}


def start_governance(config: pytest.Config, ctx: RunContext) -> Governance:
    """Catalogue, pinning, deprecations and the cost estimate, before anything is collected or called."""
    from pytest_llmversion.governance.startup import GovernanceError, RunModels, start

    settings = ctx.config
    models = RunModels(ctx.mode, ctx.current, ctx.candidate, tuple(settings.ref(t) for t in settings.fallback_models))
    try:
        return start(ctx.resolved, ctx.base, models)
    except GovernanceError as exc:
        raise pytest.UsageError(str(exc)) from None


def _record_mode(resolved: ResolvedConfig) -> tuple[RecordMode, str]:
    """The record mode and where it came from (option, variable, pyproject, or the CI-dependent default)."""
    from pytest_llmversion.run.recordings import default_record_mode

    if resolved.config.record_mode is not None:
        return resolved.config.record_mode, resolved.source("record_mode")
    mode = default_record_mode(os.environ)
    return mode, "the default when CI is set" if mode == "none" else "the default"


def header_lines(ctx: RunContext) -> list[str]:
    resolved = ctx.resolved
    parts = [f"current {ctx.current} ({resolved.source('model')})" if ctx.current else "current: not configured"]
    if ctx.candidate:
        parts.append(f"candidate {ctx.candidate} ({resolved.source('candidate_model')})")
    elif resolved.config.candidate_model and ctx.mode == "record":
        parts.append(f"candidate {resolved.config.candidate_model} not run while recording")
    elif resolved.config.candidate_model and ctx.current:
        parts.append(f"candidate {ctx.current} is the current model, so no [candidate] items")
    parts.append(f"mode {ctx.mode}")
    if ctx.config.allow_passthrough:
        parts.append(f"pass-through allowed ({resolved.source('allow_passthrough')}; never from a replay)")
    if ctx.candidate and ctx.candidate.provider != "scripted":  # scripted models are never recorded
        parts.append(f"recordings {ctx.record_mode} ({ctx.record_mode_source})")
    if ctx.samples > 1:
        parts.append(f"samples {ctx.samples} ({resolved.source('samples')})")
        if ctx.candidate:
            parts.append(f"up to {max(ctx.samples, ctx.policy.max_samples)} where the models disagree")
            parts.append(f"baseline {ctx.policy.baseline}")
    notices = ctx.governance.notices if ctx.governance is not None else []
    lines = ["llmversion: " + ", ".join(parts), *(f"llmversion: {notice}" for notice in notices)]
    if ctx.samples > 1 and ctx.config.seed is not None:
        lines.append(
            f"llmversion: seed = {ctx.config.seed} is fixed; a provider that honours it may answer every sample "
            "alike, and the statistics assume independent samples"
        )
    return lines


def report_path(ctx: RunContext, option: str | None) -> Path:
    """``--llm-report`` (relative to the rootdir), else ``<report_dir>/report.json``."""
    return view_path(ctx, option) or ctx.base / ctx.config.report_dir / "report.json"


def view_path(ctx: RunContext, option: str | None) -> Path | None:
    """Where ``--llm-report-md`` / ``--llm-report-html`` write: relative paths from the rootdir."""
    if not option:
        return None
    path = Path(option)
    return path if path.is_absolute() else ctx.rootpath / path
