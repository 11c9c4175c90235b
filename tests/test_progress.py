"""mlmd.progress: a bar with ETA on a terminal, nothing in pipes, logs or under --json."""

from __future__ import annotations

import io

import pytest

from mlmd import progress
from mlmd.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _automatic(monkeypatch):
    monkeypatch.delenv("MLMD_PROGRESS", raising=False)
    progress.silence(False)
    yield
    progress.silence(False)


def test_terminal_gets_one_redrawn_line_with_eta_and_statuses():
    out = Terminal()
    bar = Progress(4, label="label[teacher]", unit="frame", stream=out, interval_s=0.0)
    bar.update(["ok", "ok"])
    bar.advance(1, note="epoch 3/4")
    bar.update(["failed"])
    bar.close()
    text = out.getvalue()
    assert text.startswith("\rlabel[teacher] [") and text.endswith("\n")
    assert text.count("\n") == 1  # redrawn in place, one newline at the end
    last = text.split("\r")[-1]
    assert "4/4 100%" in last and "ETA 0:00:00" in last and "frame/s" in last
    assert "failed 1, ok 2" in last and "epoch 3/4" in last
    assert "0/4   0%" in text.split("\r")[1]  # drawn at once, before the first item


def test_pipes_logs_and_silence_get_nothing(monkeypatch):
    piped = io.StringIO()
    Progress(3, stream=piped).update(["ok"] * 3)
    assert piped.getvalue() == ""
    out = Terminal()
    progress.silence()
    with Progress(3, stream=out) as bar:
        bar.advance(3)
    assert out.getvalue() == ""
    progress.silence(False)
    with Progress(3, stream=out, enabled=False) as bar:
        bar.advance(3)
    assert out.getvalue() == ""
    monkeypatch.setenv("MLMD_PROGRESS", "0")
    with Progress(3, stream=out) as bar:
        bar.advance(3)
    assert out.getvalue() == ""


def test_forced_on_a_pipe_prints_plain_lines(monkeypatch):
    monkeypatch.setenv("MLMD_PROGRESS", "1")
    piped = io.StringIO()
    with Progress(2, label="train", stream=piped, interval_s=0.0) as bar:
        bar.advance()
        bar.advance()
    lines = piped.getvalue().splitlines()
    assert "\r" not in piped.getvalue() and lines[-1].startswith("train [")
    assert "2/2 100%" in lines[-1]


def test_eta_of_half_done_work_is_the_time_spent_so_far():
    bar = Progress(10, stream=Terminal(), enabled=False)
    bar.start -= 30.0  # 5 items took 30 s: the other 5 take 30 s more
    bar.advance(5)
    assert "ETA 0:00:30" in bar.line() and "elapsed 0:00:30" in bar.line()
