"""The one progress bar of mlmd: done/total, rate and ETA on a terminal's stderr.

Every long command (label, train, evaluate, md run, analyze, campaigns) draws it the same
way::

    with Progress(total=n_epochs, label="train[member 0]", unit="epoch") as bar:
        for epoch in ...:
            ...
            bar.advance(note=f"val {val_loss:.3g}")

It draws only where a person is watching: on a terminal (``stream.isatty()``), never into a
log file, a pipe or a batch job's output, and never while :func:`silence` is in effect (the
``mlmd`` dispatcher silences a command given ``--json``, see :func:`silenced`), so
machine-readable output stays clean.
Set ``MLMD_PROGRESS=1`` to draw even when the stream is not a terminal (plain lines, one
every ``interval_s``), ``MLMD_PROGRESS=0`` to never draw.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

_SILENT = False


def silence(value: bool = True) -> None:
    """Turn every bar of this process off (``True``) or back to automatic (``False``)."""
    global _SILENT
    _SILENT = value


@contextmanager
def silenced(value: bool = True) -> Iterator[None]:
    """Bars off inside the block when ``value`` (then back to what they were)."""
    before = _SILENT
    silence(value or before)
    try:
        yield
    finally:
        silence(before)


def _clock(seconds: float) -> str:
    """``h:mm:ss`` of a duration in seconds (``?`` when unknown)."""
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(max(seconds, 0.0)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _should_draw(stream: TextIO, enabled: bool) -> tuple[bool, bool]:
    """(draw at all, as a redrawn terminal line) for ``stream``."""
    forced = os.environ.get("MLMD_PROGRESS", "").strip().lower()
    if not enabled or _SILENT or forced in ("0", "no", "off", "false"):
        return False, False
    tty = bool(getattr(stream, "isatty", lambda: False)())
    return tty or forced in ("1", "yes", "on", "true"), tty


class Progress:
    """Count finished items (optionally by status) and show done/total, rate and ETA.

    Args:
        total: items this run will do (an upper bound is fine: the bar stops where it stops).
        label: prefix of the line, e.g. ``"label[cp2k]"``.
        unit: what an item is, shown after the rate (``"frame"`` → ``0.52 frame/s``).
        stream: where to draw (default: stderr at construction time).
        enabled: ``False`` never draws (library callers pass their ``progress`` flag).
        interval_s: least time between two redraws (the final line is always drawn).
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        unit: str = "",
        stream: TextIO | None = None,
        enabled: bool = True,
        interval_s: float = 0.2,
    ):
        self.total, self.label, self.unit = max(int(total), 0), label, unit
        self.stream = stream if stream is not None else sys.stderr
        self.active, self.tty = _should_draw(self.stream, enabled)
        self.interval_s = interval_s if self.tty else max(interval_s, 2.0)
        self.counts: Counter[str] = Counter()
        self.done = 0
        self.note = ""
        self.start = time.perf_counter()
        self._last = -math.inf
        self._width = 0
        self._draw(final=False)  # a first line at once: the first item may take minutes

    def line(self) -> str:
        """The current status line (no newline)."""
        done, total = self.done, self.total
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = max(total - done, 0) / rate if rate > 0 else math.inf
        frac = min(done / total, 1.0) if total else 1.0
        bar = "#" * int(round(20 * frac))
        unit = f" {self.unit}/s" if self.unit else "/s"
        status = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        extras = "; ".join(p for p in (status, self.note) if p)
        head = f"{self.label} " if self.label else ""
        return (
            f"{head}[{bar:<20}] {done}/{total} {100 * frac:3.0f}% {rate:.3g}{unit} "
            f"elapsed {_clock(elapsed)} ETA {_clock(eta)}" + (f" ({extras})" if extras else "")
        )

    def advance(self, n: int = 1, *, note: str | None = None) -> None:
        """Record ``n`` more finished items (and a short note such as a loss) and redraw."""
        self.done += int(n)
        if note is not None:
            self.note = note
        self._draw(final=False)

    def update(self, statuses: Iterable[str]) -> None:
        """Record finished items by their status (``["ok", "failed"]``) and redraw."""
        statuses = list(statuses)
        self.counts.update(statuses)
        self.advance(len(statuses))

    def close(self) -> None:
        """Draw the final line (ending it with a newline)."""
        self._draw(final=True)
        self.active = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _draw(self, final: bool) -> None:
        if not self.active:
            return
        now = time.perf_counter()
        if not final and now - self._last < self.interval_s:
            return
        text = self.line()
        if self.tty:
            pad = " " * max(self._width - len(text), 0)
            self.stream.write("\r" + text + pad + ("\n" if final else ""))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self._last = now
        self.stream.flush()
