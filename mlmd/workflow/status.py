"""Live campaign progress: per stage pending/running/done/reused/failed, on stderr and in a
machine-readable ``status.json`` (rewritten atomically on every change)."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from mlmd.atomic import write_text

log = logging.getLogger("mlmd.campaign")

STATES = ("pending", "running", "done", "reused", "failed")


class CampaignStatus:
    """Counts of tasks per stage and state; every change is logged and saved."""

    def __init__(self, run_dir: str | os.PathLike, campaign: str):
        self.path = Path(run_dir) / "status.json"
        self.campaign = campaign
        self.started = time.time()
        self._tasks: dict[str, dict[str, str]] = {}
        self._notes: list[str] = []
        self._lock = threading.Lock()

    def set(self, stage: str, task: str, state: str) -> None:
        """Move ``task`` of ``stage`` to ``state`` (one of :data:`STATES`)."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; valid: {STATES}")
        with self._lock:
            self._tasks.setdefault(stage, {})[task] = state
            self._save()
        if state != "pending":  # a line when a step starts, too: some run for many minutes
            log.info("%s %s: %s  [%s]", stage, task, state, self.line(stage))

    def note(self, text: str) -> None:
        """Record something a user should know (a failed DFT excluded, a reused step)."""
        with self._lock:
            self._notes.append(text)
            self._save()
        log.info(text)

    def counts(self, stage: str) -> Counter:
        return Counter(self._tasks.get(stage, {}).values())

    def line(self, stage: str) -> str:
        c = self.counts(stage)
        return " ".join(f"{s}={c[s]}" for s in STATES if c[s])

    def summary(self) -> dict:
        return {
            "campaign": self.campaign,
            "elapsed_s": round(time.time() - self.started, 1),
            "stages": {stage: dict(self.counts(stage)) for stage in self._tasks},
            "notes": list(self._notes),
        }

    def _save(self) -> None:
        write_text(self.path, json.dumps(self.summary(), indent=2))
        if sys.stderr.isatty():
            stages = "  ".join(f"{s}: {self.line(s)}" for s in self._tasks)
            print(f"\r[{self.campaign}] {stages}"[:200], end="", file=sys.stderr, flush=True)
