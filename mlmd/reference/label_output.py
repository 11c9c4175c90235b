"""What a labelling run writes and reports (:mod:`mlmd.reference.label`): results buffered
and upserted into ``OUT`` with one journal line each, the frames' claims released as they
are written; the run's :class:`LabelSummary`; and a fresh read of ``OUT``'s statuses."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlmd.data import Dataset, Frame
from mlmd.reference.claims import Claims
from mlmd.reference.protocol import Result


@dataclass
class LabelSummary:
    """What one labelling run did.

    Attributes:
        counts: results of this run per status.
        skipped: frames not labelled because ``OUT`` already has them (``ok``, or failed
            without ``retry_failed``, or labelled meanwhile by a concurrent run), per their
            status in ``OUT``.
        out_counts: frames in ``OUT`` per status after the run.
        wall_s: wall time of the run, s.
        failures: ``(key, status, log path or None, message)`` of this run's failed frames.
    """

    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    out_counts: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    failures: list[tuple[str, str, str | None, str]] = field(default_factory=list)

    @property
    def labelled(self) -> int:
        """Frames this run produced a result for (any status)."""
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "skipped": self.skipped,
            "out_counts": self.out_counts,
            "wall_s": round(self.wall_s, 3),
            "failures": [list(f) for f in self.failures],
        }


class Writer:
    """Buffers results and upserts them into ``OUT`` every ``flush_s`` s / ``flush_frames``;
    the claims of written frames are released after each write."""

    def __init__(
        self, out: Dataset, journal: Path, claims: Claims, flush_s: float, flush_frames: int
    ):
        self.out, self.journal, self.claims = out, journal, claims
        self.flush_s, self.flush_frames = flush_s, flush_frames
        self.frames: list[Frame] = []
        self.results: list[Result] = []
        self.last = time.perf_counter()

    def add(self, frames: list[Frame], results: list[Result]) -> None:
        """Buffer labelled ``frames``; write all buffered ones if a flush is due."""
        for frame, result in zip(frames, results, strict=True):
            self.frames.append(result.apply(frame))
            self.results.append(result)
        due = time.perf_counter() - self.last >= self.flush_s
        if due or len(self.frames) >= self.flush_frames:
            self.flush()

    def flush(self) -> None:
        if self.frames:
            self.out.upsert(self.frames)
            with self.journal.open("a") as fh:
                for r in self.results:
                    fh.write(json.dumps(journal_row(r)) + "\n")
            self.claims.release([r.key for r in self.results], done=True)
        self.frames, self.results = [], []
        self.last = time.perf_counter()


def journal_row(r: Result) -> dict[str, Any]:
    return {
        "key": r.key,
        "status": r.status,
        "wall_s": round(r.wall_s, 4),
        "attempts": r.attempts,
        "log": None if r.log_path is None else str(r.log_path),
        "message": r.message,
    }


def out_statuses(out_path: Path) -> dict[str, str]:
    """Key → status of every frame now in ``OUT`` (a fresh read: other runs may write)."""
    out = Dataset(out_path)
    try:
        return dict(zip(out.keys(), out.statuses().tolist(), strict=True)) if len(out) else {}
    finally:
        out.close()
