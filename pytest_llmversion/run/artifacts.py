"""Session end, first step: the files a run writes (goldens, the candidate's answers for ``llmversion
promote``, recordings), and the goldens no collected test uses. Each file is written whole (``atomic``),
by the controller only, and only when its content changed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytest_llmversion.atomic import write_atomic
from pytest_llmversion.run.gather import Collected
from pytest_llmversion.run.goldens import (
    GoldenKept,
    belongs_to,
    golden_files,
    is_golden_file,
    render_golden,
    write_golden,
)
from pytest_llmversion.run.recordings import write_recording
from pytest_llmversion.run.result import ItemReport


def unused_goldens(collected: Collected) -> list[Path]:
    """Golden files no collected test can use: only in folders whose whole module was collected."""
    unused: list[Path] = []
    roots: set[Path] = set()
    still_read = collected.still_read()
    for folder, expected in sorted(collected.expected.items()):
        roots.add(Path(folder).parent)
        if folder in collected.partial:
            continue
        used = expected | still_read
        unused += [p for p in golden_files(Path(folder)) if str(p) not in used and is_golden_file(p)]
    for goldens_root in sorted(r for r in roots if r.is_dir()):
        # a folder whose test module is gone can never be used again
        for module_folder in sorted(p for p in goldens_root.iterdir() if p.is_dir()):
            if not (goldens_root.parent / f"{module_folder.name}.py").exists():
                unused += [p for p in golden_files(module_folder) if is_golden_file(p)]
    return sorted(set(unused))


@dataclass
class GoldenWrites:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: legacy-named files replaced by the golden just written under the new name (a rename in the diff)
    renamed: list[str] = field(default_factory=list)
    #: why a golden was not written: the file there is not valid YAML (kept for its owner to fix)
    kept: list[str] = field(default_factory=list)


def write_recorded_goldens(
    reports: Iterable[ItemReport], rootpath: Path, legacy: Mapping[str, str] | None = None
) -> GoldenWrites:
    """Write the golden of every item that recorded and passed; each file whole, atomically.

    ``legacy`` maps a golden path to its name in earlier versions: that file is removed once the golden
    is written, when it is this test's (legacy names collided: it may be another test's golden).
    """
    result = GoldenWrites()
    for report in reports:
        doc, item = report.artifacts.golden_doc, report.result
        if not doc or item.golden is None:
            continue
        path = rootpath / item.golden
        try:
            changed = write_golden(path, doc, report.artifacts.rerecord or item.nodeid)
        except GoldenKept as exc:  # made unreadable while the run went on (the item checked it at its start)
            result.kept.append(str(exc).replace(str(path), item.golden, 1))
            continue
        (result.written if changed else result.unchanged).append(item.golden)
        old = (legacy or {}).get(str(path))
        if old is not None and belongs_to(Path(old), doc["test"], doc.get("case")):
            result.renamed += [_rel(p, rootpath) for p in prune([Path(old)])]
    return result


def write_candidate_goldens(reports: Iterable[ItemReport], folder: Path, rel: Callable[[Path], str]) -> dict[str, str]:
    """Keep each candidate item's answers, in golden form, for ``llmversion promote``: under ``folder``
    (``<report_dir>/candidate``), which holds only this run's files. Returns each item's file, by node id."""
    reports = list(reports)
    if not any(r.result.role == "candidate" for r in reports):
        return {}
    before = [p for p in folder.rglob("*") if not p.is_dir()] if folder.is_dir() else []
    written, kept = {}, set()
    for report in reports:
        doc, item = report.artifacts.candidate_doc, report.result
        if doc and item.golden is not None:
            golden = Path(item.golden)
            # a golden outside pytest's rootdir is shown by its absolute path: kept under the folder all the same
            path = folder / (Path(*golden.parts[1:]) if golden.is_absolute() else golden)
            # a file that already holds these answers is left as it is (a re-run rewrites nothing)
            write_atomic(path, render_golden(doc, report.artifacts.rerecord or item.nodeid))
            written[item.nodeid] = rel(path)
            kept.add(_identity(path))
    for stale in before:  # the last run's, or anything else put there; compared as files, not as spellings
        with contextlib.suppress(FileNotFoundError):
            if _identity(stale) not in kept:
                stale.unlink()
    for directory in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
        with contextlib.suppress(OSError):
            if not any(directory.iterdir()):
                directory.rmdir()
    return written


def _identity(path: Path) -> tuple[int, int]:
    """The file itself (a case-insensitive file system spells one file two ways)."""
    info = path.stat()
    return info.st_dev, info.st_ino


def write_recordings(reports: Iterable[ItemReport], rootpath: Path) -> list[str]:
    """Each candidate item's recording, whole; the paths written."""
    written = []
    for report in reports:
        doc, shown = report.artifacts.recording_doc, report.result.recording
        if doc and shown and write_recording(rootpath / shown, doc):
            written.append(shown)
        for shown, doc in report.artifacts.check_recordings.items():  # a judge's, an embedding model's
            if write_recording(rootpath / shown, doc):
                written.append(shown)
    return written


def prune(paths: Iterable[Path]) -> list[Path]:
    removed = []
    for path in paths:
        if is_golden_file(path):
            path.unlink()
            removed.append(path)
            parent = path.parent
            while parent.name and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    return removed


def _rel(path: Path, rootpath: Path) -> str:
    try:
        return str(path.relative_to(rootpath))
    except ValueError:
        return str(path)
