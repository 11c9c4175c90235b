"""SIGTERM at step k, then --restart: the bitwise-identical trajectory (same rank count)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.md.test_parallel import MPIEXEC, ROOT, last_frame, run_ranks

pytestmark = pytest.mark.mpi


def _interrupted_run(out, steps: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        str(MPIEXEC),
        "-n",
        "2",
        sys.executable,
        "-m",
        "tests.md.mpi_run",
        str(out),
        "langevin",
        str(steps),
        "thermo_every=5",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    thermo = out / "langevin" / "thermo.log"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        lines = thermo.read_text().splitlines() if thermo.exists() else []
        if len(lines) > 1 + 20:  # header + frame 0 + 20 rows: past step 100
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stdout[-2000:] + stderr[-3000:]
    assert '"status": "interrupted"' in stdout


def test_sigterm_and_restart_is_bitwise_identical(tmp_path):
    steps = 300
    run_ranks(2, tmp_path / "full", "langevin", steps, "thermo_every=5")
    _interrupted_run(tmp_path / "cut", steps)
    stopped = np.load(tmp_path / "cut" / "langevin" / "checkpoint.npz")
    k = int(stopped["step"])
    assert 100 <= k < steps
    out = run_ranks(
        2,
        tmp_path / "cut",
        "langevin",
        steps,
        "thermo_every=5",
        f"restart={tmp_path / 'cut' / 'langevin' / 'checkpoint.npz'}",
    )
    assert '"status": "completed"' in out
    full, cut = (
        last_frame(tmp_path / "full" / "langevin"),
        last_frame(tmp_path / "cut" / "langevin"),
    )
    assert full["step"] == cut["step"] == steps
    for key in ("position", "image", "velocity", "cell"):
        assert np.array_equal(full[key], cut[key]), key
    a, b = (
        np.load(tmp_path / "full" / "langevin" / "checkpoint.npz"),
        np.load(tmp_path / "cut" / "langevin" / "checkpoint.npz"),
    )
    for key in ("positions", "velocities", "forces", "ids", "bath/heat_eV"):
        assert np.array_equal(a[key], b[key]), key
