"""Command-line options with their ini twins, and resolving them with pyproject.toml and the environment.

Precedence, decided once here: command line > ``LLMVERSION_*`` environment > pytest's ini options
(``[tool.pytest.ini_options]``, pytest.ini, ``-o``: the ``llm_*`` twin of each option) > ``[tool.llmversion]``
> defaults. pytest's own configuration outranks ``[tool.llmversion]`` because that table is shared with
production (``connect()``), while the ini options configure test runs only. The header says where each value
came from. Every bad value is a ``pytest.UsageError`` of one line naming the option, variable or key at fault.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_llmversion.config import ResolvedConfig
    from pytest_llmversion.governance.startup import Governance
    from pytest_llmversion.run.context import RunContext
    from pytest_llmversion.run.recordings import RecordMode
    from pytest_llmversion.run.spec import Mode

#: The record modes of the candidate's recordings (``run.recordings.RECORD_MODES``; kept here so that
#: registering the options imports nothing but pytest).
RECORD_MODES = ("none", "once", "new", "all")
#: --llm-intercept: which tests have the SDK clients the application built taken over (``sdk.intercept``).
INTERCEPT_MODES = ("marked", "all", "off")

GROUP = "llmversion"

HELP = {
    "current_model": "Current model, 'provider/model-id' (overrides model in [tool.llmversion] and LLMVERSION_MODEL).",
    "candidate_model": (
        "Candidate model to judge against the goldens; adds a [candidate] item beside each [current] one."
    ),
    "judge_model": (
        "The LLM judge of checks.judge() when a test names none, 'provider/model-id', pinned (judge_model in "
        "[tool.llmversion], LLMVERSION_JUDGE_MODEL)."
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
    "report_md": (
        "Also write the report as Markdown (for a pull-request comment: failures first, under 65,536 characters)."
    ),
    "no_step_summary": (
        "Do not append the Markdown report to $GITHUB_STEP_SUMMARY (GitHub Actions sets it; the report is appended "
        "at the end of the run by default)."
    ),
    "report_html": "Also write the report as one self-contained HTML page with side-by-side diffs.",
    "allow_passthrough": (
        "Let an SDK fixture's call the plugin cannot record (tools, embeddings, token counts, ...) go to the "
        "network as it is, from items that call models anyway (--llm-record, --llm-live, a candidate called live). "
        "A replay never sends anything. Default: such calls fail the item."
    ),
    "intercept": (
        "Which tests have the official SDK clients the application builds itself (openai, anthropic, google-genai) "
        "taken over by the plugin: 'marked' (default: tests marked llm_regression, whose calls are replayed, "
        "recorded or sent to the candidate), 'all' (also refuse every SDK call of an unmarked test: nothing can "
        "record it), or 'off' (only the llm_* fixtures' clients)."
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
    "concurrency": (
        "Live calls in flight at once, per provider (default 8; a provider table's concurrency overrides it). "
        "The calls a golden lets the plugin predict are sent ahead, while earlier test bodies run; 1 is serial."
    ),
    "candidate_recordings": (
        "Recordings of the candidate's answers in <report_dir>/recordings, as pytest-recording's record modes: "
        "none = replay only, once = replay if recorded else call and record, new = replay and record what is "
        "missing, all = call and re-record (default: none when CI is set, else once)."
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


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(allowed)}")
        return text

    return parse


@dataclass(frozen=True)
class Option:
    """One command-line option and its ini twin (``[tool.pytest.ini_options]``, pytest.ini, ``-o``)."""

    flag: str
    help: str
    #: The ``[tool.llmversion]`` key it sets, when it sets one (then ``LLMVERSION_<KEY>`` may set it too).
    key: str | None = None
    #: Parses a value (command line and ini); None for an on/off switch.
    parse: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    #: Earlier spellings, still accepted with a deprecation warning.
    old_flags: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def ini(self) -> str:
        return self.dest if self.dest.startswith("llm_") else f"llm_{self.dest}"


OPTIONS: tuple[Option, ...] = (
    Option("--current-model", HELP["current_model"], "model", str, metavar="PROVIDER/MODEL"),
    Option("--candidate-model", HELP["candidate_model"], "candidate_model", str, metavar="PROVIDER/MODEL"),
    Option("--llm-judge-model", HELP["judge_model"], "judge_model", str, metavar="PROVIDER/MODEL"),
    Option("--llm-record", HELP["record"]),
    Option("--llm-live", HELP["live"]),
    Option("--llm-samples", HELP["samples"], "samples", _positive_int, metavar="K"),
    Option("--llm-max-samples", HELP["max_samples"], "max_samples", _positive_int, metavar="K"),
    Option("--llm-baseline", HELP["baseline"], "baseline", _choice("golden", "live"), ("golden", "live")),
    Option("--llm-margin", HELP["margin"], "margin", _fraction, metavar="FRACTION"),
    Option("--llm-noninferiority", HELP["noninferiority"], "noninferiority"),
    Option("--llm-tolerance", HELP["tolerance"], "tolerance", _fraction, metavar="FRACTION"),
    Option("--llm-candidate-prompt", HELP["candidate_prompt"], None, _choice("current", "own"), ("current", "own")),
    Option("--llm-prune-unused", HELP["prune"]),
    Option("--llm-report", HELP["report"], None, str, metavar="PATH"),
    Option("--llm-report-md", HELP["report_md"], None, str, metavar="PATH"),
    Option("--llm-report-html", HELP["report_html"], None, str, metavar="PATH"),
    Option("--llm-no-step-summary", HELP["no_step_summary"]),
    Option("--llm-allow-unpinned", HELP["allow_unpinned"], "allow_unpinned"),
    Option("--llm-allow-passthrough", HELP["allow_passthrough"], "allow_passthrough"),
    Option("--llm-intercept", HELP["intercept"], None, _choice(*INTERCEPT_MODES), INTERCEPT_MODES),
    Option("--llm-max-cost-increase", HELP["max_cost_increase"], "max_cost_increase", _percent, metavar="PCT"),
    Option("--llm-max-latency-increase", HELP["max_latency_increase"], "max_latency_increase", _percent, metavar="PCT"),
    Option("--llm-max-token-increase", HELP["max_token_increase"], "max_token_increase", _percent, metavar="PCT"),
    Option("--llm-budget-usd", HELP["budget_usd"], "budget_usd", _usd, metavar="USD"),
    Option("--llm-concurrency", HELP["concurrency"], "concurrency", _positive_int, metavar="N"),
    Option(
        "--llm-candidate-recordings",
        HELP["candidate_recordings"],
        "candidate_recordings",
        _choice(*RECORD_MODES),
        RECORD_MODES,
        old_flags=("--llm-record-mode",),
    ),
)
BY_DEST = {option.dest: option for option in OPTIONS}


def add_options(parser: pytest.Parser) -> None:
    """Each option on the command line, in one group, with its ini twin (same help)."""
    group = parser.getgroup(GROUP, "pytest-llmversion: golden outputs and candidate-model regression gates")
    for option in OPTIONS:
        if option.parse is None:
            group.addoption(option.flag, action="store_const", const=True, default=None, help=option.help)
            parser.addini(option.ini, option.help, type="bool", default=None)
            continue
        kwargs: dict[str, Any] = {"default": None, "help": option.help, "metavar": option.metavar}
        if option.choices is not None:
            kwargs["choices"] = option.choices
            kwargs.pop("metavar")
        elif option.parse is not str:
            kwargs["type"] = option.parse
        group.addoption(option.flag, **kwargs)
        for old in option.old_flags:
            group.addoption(old, dest=f"{option.dest}_deprecated", **{**kwargs, "help": argparse.SUPPRESS})
        parser.addini(option.ini, option.help, type="string", default=None)


def value(config: pytest.Config, dest: str) -> tuple[Any, str] | None:
    """An option's value and where it came from (the command line, then its ini twin); None when unset.

    Options that set a ``[tool.llmversion]`` key go through ``load_config`` instead, where the environment
    ranks between the two.
    """
    option = BY_DEST[dest]
    given = config.getoption(dest)
    if given is not None:
        return given, option.flag
    for old in option.old_flags:
        given = config.getoption(f"{dest}_deprecated")
        if given is not None:
            return given, old
    raw = config.getini(option.ini)
    if raw is None or raw == [] or raw == "":
        return None
    where = f"ini option {option.ini}" + (f" in {config.inipath.name}" if config.inipath is not None else "")
    if option.parse is None or isinstance(raw, bool):
        return bool(raw), where
    try:
        return option.parse(str(raw).strip()), where
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"pytest-llmversion: {where}: {exc}") from None


def flag(config: pytest.Config, dest: str) -> bool:
    found = value(config, dest)
    return bool(found and found[0])


def project_uses_plugin(config: pytest.Config) -> bool:
    """Cheap test (no TOML parse, no pydantic) for whether this run is configured for the plugin."""
    if any(value(config, option.dest) is not None for option in OPTIONS):
        return True
    if any(name.startswith("LLMVERSION_") and name != "LLMVERSION_TODAY" for name in os.environ):
        return True
    path = pyproject_of(config)
    return path is not None and "[tool.llmversion" in path.read_text(encoding="utf-8", errors="replace")


def resolve_at_start(config: pytest.Config) -> bool:
    """Whether to resolve the config in ``pytest_configure`` rather than at the first LLM test collected: when
    an ``--llm-*`` option is on the command line (the user asked for the plugin), or on a pytest-xdist
    controller of a project that uses it (it collects nothing itself, and a bad value should stop the run
    before workers start)."""
    if any(config.getoption(option.dest) is not None for option in OPTIONS):
        return True
    return distributes(config) and project_uses_plugin(config)


def distributes(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist controller (it runs no test; its workers do)."""
    return getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")


#: pytest options after which a run makes no call (help, a listing, a plan).
_NO_RUN = ("help", "version", "collectonly", "markers", "showfixtures", "show_fixtures_per_test", "setupplan")


def early_call_process(config: pytest.Config, cores: int | None) -> list[str] | None:
    """Whether to start the call process before pytest configures (``child_process``), and the adapter kinds
    whose SDKs it should import meanwhile; None to leave it to the run's context, at configure.

    A guess, made before the config is resolved, from what is cheap to read: the command line asks for live
    calls (``--candidate-model``, ``--llm-live``, ``--llm-record``), and neither the environment nor the ini
    options nor ``[tool.llmversion]`` (read as TOML) turn the call process off or the concurrency down to one.
    The models named there give the SDKs. A wrong guess costs a child that the context ends at configure."""
    if os.name != "posix" or distributes(config) or hasattr(config, "workerinput"):
        return None
    if any(config.getoption(name, None) for name in _NO_RUN):
        return None
    if not any(config.getoption(dest) for dest in ("candidate_model", "llm_live", "llm_record")):
        return None
    table = _llmversion_table(config)

    def setting(key: str, dest: str | None = None) -> Any:
        if dest is not None:
            try:
                found = value(config, dest)
            except pytest.UsageError:
                return None  # said with its line at configure
            if found is not None:
                return found[0]
        given = os.environ.get(f"LLMVERSION_{key.upper()}")
        return given if given is not None else table.get(key)

    from pytest_llmversion.child_process import http_mock_loaded  # only now: a run that asks for no calls pays nothing

    call_process = str(setting("call_process") or "auto").strip().lower()
    if call_process == "off" or str(setting("concurrency", "llm_concurrency")).strip() == "1":
        return None
    if call_process != "on" and ((cores or 1) < 2 or http_mock_loaded() is not None):
        return None
    providers = table.get("providers")
    providers = providers if isinstance(providers, dict) else {}
    fallbacks = table.get("fallback_models")
    models = [setting("model", "current_model"), setting("candidate_model", "candidate_model")]
    models += fallbacks if isinstance(fallbacks, list) else []
    kinds = set()
    for model in models:
        if isinstance(model, str) and "/" in model:
            name = model.split("/", 1)[0].strip()
            settings = providers.get(name)
            kind = settings.get("kind") if isinstance(settings, dict) else None
            kinds.add(kind if isinstance(kind, str) and kind else name)
    return sorted(kinds)


def _llmversion_table(config: pytest.Config) -> dict[str, Any]:
    """``[tool.llmversion]`` as TOML gives it, without checking it; empty when there is none or it does not
    parse (the run's context says why, with its line)."""
    path = pyproject_of(config)
    if path is None:
        return {}
    import tomllib

    try:
        table = tomllib.loads(path.read_text(encoding="utf-8", errors="replace")).get("tool", {}).get("llmversion")
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return table if isinstance(table, dict) else {}


#: The golden folder's name when the config names none (``config.LLMConfig.goldens``).
DEFAULT_GOLDENS = "__llm_goldens__"
_GOLDEN_NAMES = pytest.StashKey[frozenset[str]]()


def is_golden_folder(config: pytest.Config, path: Path) -> bool:
    """Whether ``path`` is a golden folder: named as ``goldens`` is (in ``[tool.llmversion]`` or the environment,
    read as text without checking the config), or by default, and holding no Python file at any depth, so that
    pruning it can never hide a test module. Asked of every path collection meets: the name is checked first."""
    names = config.stash.get(_GOLDEN_NAMES, None)
    if names is None:
        configured = (_llmversion_table(config).get("goldens"), os.environ.get("LLMVERSION_GOLDENS"))
        names = frozenset({DEFAULT_GOLDENS, *(name for name in configured if isinstance(name, str) and name)})
        config.stash[_GOLDEN_NAMES] = names
    if path.name not in names or not path.is_dir():
        return False
    # os.walk lists names only (no hooks, no stat per file): about 1 ms for a thousand goldens
    return not any(name.endswith(".py") for _, _, files in os.walk(path) for name in files)


#: The keys of ``[tool.llmversion]`` (``config.LLMConfig``'s fields, its extra tables and renamed keys), here so
#: that a run without LLM tests can check the table's names without importing pydantic (a test keeps the two
#: lists equal).
CONFIG_KEYS = frozenset(
    [
        "model",
        "candidate_model",
        "previous_model",
        "fallback_models",
        "judge_model",
        "embedding_model",
        "temperature",
        "max_tokens",
        "seed",
        "tolerance",
        "samples",
        "max_samples",
        "baseline",
        "threshold",
        "alpha",
        "margin",
        "noninferiority",
        "goldens",
        "prompts",
        "scripted_models",
        "report_dir",
        "openai_api",
        "candidate_recordings",
        "timeout",
        "concurrency",
        "call_process",
        "max_retries",
        "retry_base_delay",
        "retry_max_delay",
        "retry_after_cap",
        "providers",
        "allow_unpinned",
        "allow_passthrough",
        "deprecation_warn_days",
        "deprecation_urgent_days",
        "max_cost_increase",
        "max_latency_increase",
        "max_token_increase",
        "budget_usd",
        "catalog_file",
        "catalog",
        "rollout",
        "record_mode",
    ]
)


def unchecked_config_warning(config: pytest.Config) -> tuple[str, Path, int] | None:
    """For a run that collected no LLM test: what is wrong with ``[tool.llmversion]`` that a cheap look finds
    (not TOML, unknown keys), with the file and line to show it at; the values are checked when a run
    collects an LLM test."""
    path = pyproject_of(config)
    if path is None:
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    if "[tool.llmversion" not in text:
        return None
    line = text[: text.index("[tool.llmversion")].count("\n") + 1
    import tomllib

    try:
        table = tomllib.loads(text).get("tool", {}).get("llmversion", {})
    except tomllib.TOMLDecodeError as exc:
        return f"pytest-llmversion: not valid TOML: {exc}", path, line
    if not isinstance(table, dict):
        return "pytest-llmversion: [tool.llmversion] must be a table", path, line
    unknown = sorted(set(table) - CONFIG_KEYS)
    if not unknown:
        return None
    message = (
        f"pytest-llmversion: unknown key{'s' if len(unknown) > 1 else ''} in [tool.llmversion]: "
        f"{', '.join(unknown)} (this run collected no llm_regression test, so its values were not checked)"
    )
    return message, path, line


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

    record, live = flag(config, "llm_record"), flag(config, "llm_live")
    if record and live:
        raise pytest.UsageError("pytest-llmversion: --llm-record and --llm-live cannot be combined")
    cli: dict[str, tuple[Any, str]] = {}
    ini: dict[str, tuple[Any, str]] = {}
    for option in OPTIONS:
        found = value(config, option.dest) if option.key is not None else None
        if found is not None:
            (cli if found[1].startswith("-") else ini)[option.key] = found  # type: ignore[index]
    try:
        resolved = load_config(config.rootpath, cli=cli, pyproject=pyproject_of(config), ini=ini)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    deprecations = list(resolved.deprecations)
    for option in OPTIONS:
        for old in option.old_flags:
            if config.getoption(f"{option.dest}_deprecated") is not None:
                deprecations.append(f"{old} is now {option.flag}; the old spelling will go in a later release")
    for warning in deprecations:
        config.issue_config_time_warning(pytest.PytestDeprecationWarning(f"pytest-llmversion: {warning}"), stacklevel=2)
    settings = resolved.config
    mode: Mode = "record" if record else "live" if live else "replay"
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
    recordings, recordings_source = _candidate_recordings(resolved)
    prompt = value(config, "llm_candidate_prompt")
    ctx = RunContext(
        resolved=resolved,
        recordings=recordings,
        recordings_source=recordings_source,
        rootpath=config.rootpath,
        mode=mode,
        current=current,
        candidate=candidate,
        samples=settings.samples,
        tolerance=settings.tolerance,
        candidate_prompt=prompt[0] if prompt is not None else "current",
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
        check_report_paths(config, ctx)
        ctx.governance = start_governance(config, ctx)
    elif workerinput.get("llmversion_ledger"):
        ctx.ledger_path = Path(workerinput["llmversion_ledger"])
    return ctx


def start_governance(config: pytest.Config, ctx: RunContext) -> Governance:
    """Catalogue, pinning, deprecations and the cost estimate, before anything is collected or called."""
    from pytest_llmversion.governance.startup import GovernanceError, RunModels, start

    settings = ctx.config
    fallbacks = tuple(settings.ref(t) for t in settings.fallback_models)
    judge = settings.ref(settings.judge_model) if settings.judge_model else None
    models = RunModels(ctx.mode, ctx.current, ctx.candidate, fallbacks, judge)
    try:
        return start(ctx.resolved, ctx.base, models)
    except GovernanceError as exc:
        raise pytest.UsageError(str(exc)) from None


def _candidate_recordings(resolved: ResolvedConfig) -> tuple[RecordMode, str]:
    """What the candidate's recordings do, and where that came from (option, variable, ini, pyproject, or the
    CI-dependent default)."""
    from pytest_llmversion.run.recordings import default_record_mode

    if resolved.config.candidate_recordings is not None:
        return resolved.config.candidate_recordings, resolved.source("candidate_recordings")
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
        parts.append(f"recordings {ctx.recordings} ({ctx.recordings_source})")
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


def report_path(config: pytest.Config, ctx: RunContext) -> Path:
    """``--llm-report`` (relative to the rootdir), else ``<report_dir>/report.json``."""
    return view_path(config, ctx, "llm_report") or ctx.base / ctx.config.report_dir / "report.json"


def check_report_paths(config: pytest.Config, ctx: RunContext) -> None:
    """A report path that names a folder could only fail at the end of the run, after every call was paid for:
    it is a usage error before the first."""
    for dest, example in (
        ("llm_report", "report.json"),
        ("llm_report_md", "report.md"),
        ("llm_report_html", "report.html"),
    ):
        path = view_path(config, ctx, dest)
        if path is not None and path.is_dir():
            given, where = value(config, dest) or ("", dest)
            raise pytest.UsageError(
                f"pytest-llmversion: {where}: {given!r} is a folder; name the file to write (e.g. "
                f"{PurePosixPath(given) / example})"
            )


def step_summary_path(config: pytest.Config) -> Path | None:
    """GitHub Actions' step summary file (``$GITHUB_STEP_SUMMARY``), unless ``--llm-no-step-summary``."""
    target = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if not target or flag(config, "llm_no_step_summary"):
        return None
    return Path(target)


def view_path(config: pytest.Config, ctx: RunContext, dest: str) -> Path | None:
    """Where ``--llm-report``, ``--llm-report-md`` or ``--llm-report-html`` write: relative to the rootdir."""
    found = value(config, dest)
    if found is None:
        return None
    path = Path(found[0])
    return path if path.is_absolute() else ctx.rootpath / path


_INTERCEPT_MODE = pytest.StashKey[str]()


def intercept_mode(config: pytest.Config) -> str:
    """``--llm-intercept`` (or its ini twin), ``marked`` by default; read once (every LLM item asks)."""
    mode = config.stash.get(_INTERCEPT_MODE, None)
    if mode is None:
        found = value(config, "llm_intercept")
        mode = config.stash[_INTERCEPT_MODE] = str(found[0]) if found is not None else "marked"
    return mode
