"""The progress of a live run, in place on a terminal: drawn after pytest's line while a body waits on a model,
erased before the body goes on, never left on the screen; a pipe, CI or -q get lines or nothing instead."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
from conftest import LLMProject
from test_call_pool import CANDIDATE, CANDIDATE_MODEL, emulated_project

from pytest_llmversion.run.status_line import StatusLine
from pytest_llmversion.testing import Emulator

CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")
OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def screen(output: str, width: int = 120) -> list[str]:
    """What a terminal shows after ``output``: text, line feeds, carriage returns, and the sequences the status
    line and pytest write (colours and OSC progress are dropped; erase to the end of the line, cursor left)."""
    output = OSC.sub("", output.replace("\r\n", "\n"))
    lines: list[list[str]] = [[]]
    row, col, pos = 0, 0, 0
    while pos < len(output):
        match = CSI.match(output, pos)
        if match:
            argument, command = match.groups()
            if command == "K":
                del lines[row][col:]
            elif command == "D":
                col = max(0, col - int(argument or 1))
            pos = match.end()
            continue
        char = output[pos]
        pos += 1
        if char == "\n":
            row, col = row + 1, 0
            lines.extend([] for _ in range(row + 1 - len(lines)))
        elif char == "\r":
            col = 0
        elif char >= " ":
            line = lines[row]
            line.extend(" " for _ in range(col + 1 - len(line)))
            line[col] = char
            col += 1
            if col >= width:
                row, col = row + 1, 0
                lines.extend([] for _ in range(row + 1 - len(lines)))
    return ["".join(line).rstrip() for line in lines]


def drawn(write_end: int, read_end: int) -> str:
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        return pipe.read().decode()


def test_a_long_wait_is_drawn_after_the_line_redrawn_and_erased_before_the_body_goes_on() -> None:
    read_end, write_end = os.pipe()
    seconds: list[float] = []

    def text(waited: float) -> str:
        seconds.append(waited)
        return f"llmversion: waiting {len(seconds)}"

    status = StatusLine(write_end, text, columns=lambda: 80, column=lambda: 14, delay=0.05, every=0.01)
    with status.waiting():
        time.sleep(0.3)
    status.close()
    output = drawn(write_end, read_end)
    assert len(seconds) >= 3  # drawn again and again
    assert min(seconds) >= 0.05  # not before the delay
    assert output.startswith("\x1b[K llmversion: waiting 1\x1b[22D\x1b[K llmversion: waiting 2\x1b[22D")
    assert output.endswith("\x1b[K")  # erased as the wait ended
    assert screen("test_x.py ...." + output) == ["test_x.py ...."]  # the cursor never moved


def test_a_quick_answer_a_narrow_terminal_and_a_closed_status_draw_nothing() -> None:
    read_end, write_end = os.pipe()
    calls: list[float] = []
    status = StatusLine(
        write_end, lambda s: calls.append(s) or "x" * 40, columns=lambda: 60, column=lambda: 14, delay=0.2, every=0.01
    )
    with status.waiting():
        time.sleep(0.05)  # answered before the delay
    status.close()
    with status.waiting():
        time.sleep(0.05)  # after close: the run's end
    assert drawn(write_end, read_end) == ""
    assert calls == []

    read_end, write_end = os.pipe()
    narrow = StatusLine(write_end, lambda s: "x" * 40, columns=lambda: 30, column=lambda: 14, delay=0, every=0.01)
    with narrow.waiting():
        time.sleep(0.1)  # 15 columns left: too few for a useful status
    narrow.close()
    assert drawn(write_end, read_end) == ""


def test_a_status_is_cut_to_the_room_left_on_the_line() -> None:
    read_end, write_end = os.pipe()
    status = StatusLine(write_end, lambda s: "y" * 100, columns=lambda: 60, column=lambda: 14, delay=0, every=0.01)
    with status.waiting():
        time.sleep(0.1)
    status.close()
    output = drawn(write_end, read_end)
    assert f"\x1b[K {'y' * 44}\x1b[45D" in output  # 60 - 14 - 1 columns: the last one is never written
    assert screen("test_x.py ...." + output, width=60) == ["test_x.py ...."]


def in_a_terminal(
    project: LLMProject,
    *args: str,
    env: dict[str, str] | None = None,
    interrupt_at: str | None = None,
    columns: int = 120,
) -> str:
    """``pytest`` as a user runs it in a terminal window (120 columns): its whole output, escapes and all;
    ``interrupt_at``: Ctrl-C as soon as that text has been shown."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "COLUMNS", "LINES", "PYTEST_ADDOPTS")}
    environ |= {"TERM": "xterm-256color", **(env or {})}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args]
    process = subprocess.Popen(
        command, cwd=project.path, stdin=terminal, stdout=terminal, stderr=terminal, env=environ, close_fds=True
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
        if interrupt_at is not None and interrupt_at.encode() in b"".join(chunks):
            process.send_signal(signal.SIGINT)
            interrupt_at = None
    os.close(controller)
    assert process.wait(timeout=120) in (0, 1, 2)
    return b"".join(chunks).decode("utf-8", "replace")


def slow_candidate(
    llm_project: LLMProject, emu: Emulator, latency_ms: float, cases: str
) -> tuple[LLMProject, tuple[str, ...]]:
    """The project with its goldens, a candidate answering in ``latency_ms`` (each body waits on it), and the
    arguments of a candidate run of ``cases`` that calls it every time."""
    project = emulated_project(llm_project, emu)
    emu.add_model(CANDIDATE_MODEL, CANDIDATE, latency_ms=latency_ms)
    args = (f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-candidate-recordings=all", "-k", cases)
    return project, args


def status_left(shown: list[str]) -> bool:
    return any("llmversion: waiting" in line for line in shown)


@pytest.mark.parametrize("concurrency", ["1", "8"])
def test_a_live_run_in_a_terminal_shows_its_progress_in_place_and_leaves_pytests_output_as_it_was(
    llm_project: LLMProject, emu: Emulator, concurrency: str
) -> None:
    project, args = slow_candidate(llm_project, emu, 1600, "candidate and (c00 or c01)")
    output = in_a_terminal(project, *args, f"--llm-concurrency={concurrency}")
    assert re.search(r"\x1b\[K llmversion: waiting [12] s; \d/2 LLM items, \d live calls?", output)
    shown = screen(output)
    assert not status_left(shown)  # nothing left behind
    assert any(re.fullmatch(r"tests/test_llm\.py \.\. +\[100%\]", line) for line in shown)
    assert not any(line.startswith("llmversion: ") and "LLM items" in line for line in shown)  # no lines either

    piped = llm_project.run(*args)  # not a terminal: the lines of a CI log, and nothing in place
    assert "2 live calls" in piped.stdout.str()
    assert "\x1b[" not in piped.stdout.str()


def test_ci_and_quiet_runs_in_a_terminal_draw_nothing_in_place(llm_project: LLMProject, emu: Emulator) -> None:
    project, args = slow_candidate(llm_project, emu, 1300, "candidate and c00")
    assert "llmversion: waiting" not in in_a_terminal(project, *args, env={"CI": "true"})
    assert "llmversion: waiting" not in in_a_terminal(project, *args, "-q")


def test_ctrl_c_while_the_status_is_shown_leaves_none_of_it_on_the_screen(
    llm_project: LLMProject, emu: Emulator
) -> None:
    project, args = slow_candidate(llm_project, emu, 5000, "candidate")
    shown = screen(in_a_terminal(project, *args, interrupt_at="llmversion: waiting 2 s"))
    assert any("KeyboardInterrupt" in line for line in shown)
    assert not status_left(shown)
    assert any(re.fullmatch(r"tests/test_llm\.py *", line) for line in shown)  # pytest's line, as it was


def test_in_a_narrow_terminal_the_status_is_cut_to_the_line_and_never_wraps(
    llm_project: LLMProject, emu: Emulator
) -> None:
    project, args = slow_candidate(llm_project, emu, 1600, "candidate and c00")
    output = in_a_terminal(project, *args, columns=60)  # while a body runs, fd 1 is captured: not the terminal
    drawn = re.findall(r"\x1b\[K( llmversion: waiting[^\x1b]*)\x1b\[(\d+)D", output)
    assert drawn
    room = 60 - len("tests/test_llm.py ") - 1
    assert all(len(status) == int(back) <= room for status, back in drawn)
    shown = screen(output, width=60)
    assert not status_left(shown)
    assert any(re.fullmatch(r"tests/test_llm\.py \. +\[100%\]", line) for line in shown)
