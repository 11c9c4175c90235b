"""SIGKILL an appending writer at random moments: the file always opens and keeps every
frame whose append returned, and appending continues (copy-on-write + atomic rename)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mlmd.data import Dataset
from tests.data._helpers import make_frame, same_frame

WRITER = Path(__file__).with_name("_crash_writer.py")
BATCH = 7
KILLS = 24


def _acked(ack: Path) -> tuple[bool, int]:
    """(child got ready, frames acknowledged) from the ack file (last complete line)."""
    if not ack.exists():
        return False, 0
    lines = ack.read_text().split("\n")[:-1]  # drop a partial last line
    counts = [int(x) for x in lines if x.isdigit()]
    return "ready" in lines, max(counts, default=0)


class Writers:
    """The fork server of ``_crash_writer.py``: writer processes that start in milliseconds."""

    def __init__(self) -> None:
        self.server = subprocess.Popen(
            [sys.executable, str(WRITER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def _ask(self, *words: object) -> int | None:
        self.server.stdin.write(" ".join(map(str, words)) + "\n")
        self.server.stdin.flush()
        answer = self.server.stdout.readline().strip()
        assert answer, "the writer server died"
        return None if answer == "None" else int(answer)

    def start(self, path: Path, ack: Path, *extra: str) -> int:
        """A new writer appending to ``path`` (see ``_crash_writer.py``); its pid."""
        return self._ask("start", path, ack, BATCH, *extra)

    def poll(self, pid: int) -> int | None:
        return self._ask("poll", pid)

    def wait(self, pid: int) -> int:
        return self._ask("wait", pid)

    def close(self) -> None:
        self.server.stdin.close()
        self.server.wait(timeout=60)


def _check(path: Path, acked: int) -> int:
    ds = Dataset(path)
    n = len(ds)  # opens and validates the layout
    assert n >= acked, f"{acked} frames acknowledged but only {n} in the file"
    assert n <= acked + BATCH and (n - 200) % BATCH == 0  # at most the in-flight batch more
    ds.validate()
    rng = np.random.default_rng(n)
    for i in {*rng.integers(0, n, 10).tolist(), n - 1, 199, 200}:
        assert same_frame(ds[i], make_frame(i, n_min=40)), f"frame {i} differs"
    assert ds.keys()[200:] == [make_frame(i, n_min=40).key for i in range(200, n)]
    ds.close()
    return n


def test_sigkill_during_appends_loses_nothing_acknowledged(tmp_path):
    path = tmp_path / "crash.h5"
    Dataset.create(path, {"name": "teacher"}).append([make_frame(i, n_min=40) for i in range(200)])
    writers = Writers()
    try:
        last_n = _kill_writers_at_random_moments(writers, path, tmp_path)
        # appending continues normally after all that, and leaves no temporary files behind
        pid = writers.start(path, tmp_path / "final", "3")
        assert writers.wait(pid) == 0
    finally:
        writers.close()
    assert _check(path, last_n + 3 * BATCH) == last_n + 3 * BATCH
    assert sorted(p.name for p in tmp_path.glob("crash.h5*")) == ["crash.h5"]


def _kill_writers_at_random_moments(writers: Writers, path: Path, tmp_path: Path) -> int:
    """KILLS writers SIGKILLed inside their append loops, the file checked after each; the
    frames in the file at the end."""
    rng = np.random.default_rng(2024)
    acked_total, last_n = 0, 200
    for k in range(KILLS):
        ack = tmp_path / f"ack{k}"
        pid = writers.start(path, ack)
        deadline = time.monotonic() + 60
        # even rounds: kill soon after start; odd rounds: only after an append returned
        while not _acked(ack)[0] or (k % 2 and _acked(ack)[1] <= last_n):
            assert writers.poll(pid) is None, "writer died on its own"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.25))  # a random moment inside the append loop
        os.kill(pid, signal.SIGKILL)
        assert writers.wait(pid) == -signal.SIGKILL
        _, acked = _acked(ack)
        acked_total += max(0, acked - last_n)
        last_n = _check(path, max(acked, last_n))  # nothing acknowledged or there before vanished
    assert acked_total > 0  # the kills let appends through
    return last_n
