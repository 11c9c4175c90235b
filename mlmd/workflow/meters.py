"""How far a running campaign step has got, read from the files it writes, and a wait loop
that shows it (:mod:`mlmd.progress`'s bar with ETA on a terminal; in a log file, where no
bar draws, the same text as a log line every few minutes).

A step runs on a Parsl worker, possibly on another node; the campaign process only sees its
files. A *meter* reads them: the labelling journal (one line per finished reference
calculation), or the MD thermo log (one row per output step). Plain futures only
(:mod:`concurrent.futures`): Parsl's ``AppFuture`` is one.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from mlmd.progress import Progress

log = logging.getLogger("mlmd.campaign")

#: A meter returns ``(done, total)`` in the step's own units (frames, MD steps).
Meter = Callable[[], tuple[int, int]]


def journal_meter(journal: str | os.PathLike, total: int) -> Meter:
    """Frames labelled so far: lines of the labelling journal ``results.jsonl``."""
    path = Path(journal)

    def meter() -> tuple[int, int]:
        try:
            with path.open("rb") as fh:
                return min(sum(1 for _ in fh), total), total
        except FileNotFoundError:
            return 0, total

    return meter


def thermo_meter(thermo: str | os.PathLike, steps: int) -> Meter:
    """MD steps done so far: the step column of the last row of ``thermo.log``."""
    path = Path(thermo)

    def meter() -> tuple[int, int]:
        try:
            with path.open("rb") as fh:
                fh.seek(max(path.stat().st_size - 4096, 0))
                rows = [r for r in fh.read().decode(errors="replace").splitlines() if r.strip()]
        except FileNotFoundError:
            return 0, steps
        for row in reversed(rows):
            first = row.split()[0]
            if first.isdigit():
                return min(int(first), steps), steps
        return 0, steps

    return meter


def wait_all(
    futures: dict[str, cf.Future],
    meters: dict[str, tuple[Meter, str]],
    *,
    poll_s: float = 5.0,
    log_every_s: float = 300.0,
    stream=None,
    on_done=None,
) -> None:
    """Block until every future is done, showing one progress bar per metered task.

    ``futures`` are keyed by task name (shown in the bar), ``meters`` map some of them to
    (meter, unit). ``on_done(task)`` is called here, in the caller's thread, as each future
    finishes (e.g. to record a finished step before its siblings end). Never raises for a
    failed future: the caller asks each for its result.
    """
    bars = {task: _Bar(task, meter(), unit, stream) for task, (meter, unit) in meters.items()}
    task_of = {future: task for task, future in futures.items()}
    pending = set(futures.values())
    last_log = time.perf_counter()
    while pending:
        done, pending = cf.wait(pending, timeout=poll_s, return_when=cf.FIRST_COMPLETED)
        for future in done if on_done is not None else ():
            on_done(task_of[future])
        for task, bar in bars.items():
            if not bar.closed:
                bar.show(meters[task][0]()[0], final=futures[task].done())
        if time.perf_counter() - last_log >= log_every_s:
            last_log = time.perf_counter()
            for bar in bars.values():
                if not bar.closed and not bar.progress.tty:
                    log.info("%s", bar.progress.line())


class _Bar:
    """One task's bar; units already done when the wait began (a resumed step) are not
    counted towards the rate or the total."""

    def __init__(self, task: str, start: tuple[int, int], unit: str, stream):
        self.first = start[0]
        total = max(start[1] - start[0], 0)
        self.progress = Progress(total, label=task, unit=unit, stream=stream)
        self.closed = False

    def show(self, done: int, final: bool) -> None:
        new = done - self.first - self.progress.done
        if new > 0:
            self.progress.advance(new)
        if final:
            self.progress.close()
            self.closed = True
