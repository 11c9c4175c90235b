"""A dependency-free progress bar with rate and ETA on stderr.

On a terminal it redraws one line; otherwise (a log file, a batch job) it prints a plain line
at most every ``interval_s`` seconds and at the end.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(max(seconds, 0.0)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


class Progress:
    """Count finished items by status and report ``done/total``, rate and ETA.

    Args:
        total: items to do in this run.
        label: prefix of every line.
        stream: where to write (default stderr); None or ``enabled=False`` writes nothing.
        interval_s: least time between two plain-text lines (non-terminal streams).
    """

    def __init__(
        self,
        total: int,
        label: str = "label",
        stream: TextIO | None = None,
        enabled: bool = True,
        interval_s: float = 2.0,
    ):
        self.total, self.label = total, label
        self.stream = (stream or sys.stderr) if enabled else None
        self.tty = bool(self.stream is not None and getattr(self.stream, "isatty", bool)())
        self.interval_s = interval_s
        self.counts: Counter[str] = Counter()
        self.start = time.perf_counter()
        self._last = -float("inf")

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        """The current status line (no newline)."""
        done, total = self.done, self.total
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        frac = done / total if total else 1.0
        bar = "#" * int(round(20 * frac))
        status = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        eta_text = _clock(eta) if eta == eta else "?"
        return (
            f"{self.label} [{bar:<20}] {done}/{total} {100 * frac:3.0f}% "
            f"{rate:.2f}/s elapsed {_clock(elapsed)} ETA {eta_text}"
            + (f" ({status})" if status else "")
        )

    def update(self, statuses: list[str] | tuple[str, ...]) -> None:
        """Record finished items by their status and redraw if due."""
        self.counts.update(statuses)
        self._draw(final=False)

    def close(self) -> None:
        """Draw the final line."""
        self._draw(final=True)

    def _draw(self, final: bool) -> None:
        if self.stream is None:
            return
        now = time.perf_counter()
        if self.tty:
            end = "\n" if final else ""
            self.stream.write("\r" + self.line() + end)
        elif final or now - self._last >= self.interval_s:
            self.stream.write(self.line() + "\n")
        else:
            return
        self._last = now
        self.stream.flush()
