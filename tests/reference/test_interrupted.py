"""A reference program stopped from outside (SIGKILL/SIGTERM: a stopped campaign, the
out-of-memory killer) is no property of its frame: it is never cached as a status, the
other frames are written, and a rerun labels it. A program's own crash stays ``crashed``."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_cp2k, quartz, write_unlabelled

from mlmd.data import Dataset, Frame
from mlmd.reference import CalculationInterrupted, get_reference, label_dataset
from mlmd.reference.process import run_process


def _run(tmp_path: Path, script: str):
    return run_process(
        ["sh", "-c", script], tmp_path, stdout_name="out.txt", timeout_s=30, env=dict(os.environ)
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_program_killed_from_outside_is_interrupted(tmp_path, sig):
    with pytest.raises(CalculationInterrupted, match=sig.name):
        _run(tmp_path, f"kill -{sig.name[3:]} $$; sleep 5")


def test_a_program_that_crashes_itself_is_not_interrupted(tmp_path):
    assert _run(tmp_path, "kill -SEGV $$").returncode == -signal.SIGSEGV
    assert _run(tmp_path, "exit 3").returncode == 3


def _kill_cp2k_in(directory: Path, stop: threading.Event) -> None:
    """SIGKILL the first process whose working directory is inside ``directory``."""
    while not stop.is_set():
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if cwd.startswith(str(directory)):
                os.kill(int(pid), signal.SIGKILL)
                return
        time.sleep(0.02)


@pytest.mark.cp2k
@needs_cp2k
def test_a_killed_cp2k_frame_is_left_unlabelled_and_labelled_on_rerun(tmp_path):
    a = quartz()
    b = Frame(a.numbers, a.positions + 0.01, a.cell, a.pbc)
    src, out = tmp_path / "in.h5", tmp_path / "out.h5"
    write_unlabelled(src, [a, b]).close()
    fast = get_reference("cp2k", preset="fast", ranks=1)
    stop = threading.Event()
    killer = threading.Thread(
        target=_kill_cp2k_in, args=(tmp_path / "out.label" / a.key, stop), daemon=True
    )
    killer.start()
    try:
        with pytest.raises(CalculationInterrupted, match="rerun"):
            label_dataset(src, out, fast, workers=2, progress=False)
    finally:
        stop.set()
        killer.join()
    with Dataset(out) as ds:
        assert ds.keys() == [b.key] and ds.statuses().tolist() == ["ok"]
    summary = label_dataset(src, out, fast, workers=2, progress=False)
    assert summary.counts == {"ok": 1} and summary.skipped == {"ok": 1}
    with Dataset(out) as ds:
        assert sorted(ds.keys()) == sorted([a.key, b.key])
        assert set(ds.statuses().tolist()) == {"ok"}
        assert np.isfinite(ds[ds.keys().index(a.key)].forces).all()
