"""The same trajectory on 1, 2 and 4 ranks (mpiexec, oversubscribed), with migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.md import tolerances as tol

ROOT = Path(__file__).resolve().parents[2]
MPIEXEC = Path(sys.executable).parent / "mpiexec"

pytestmark = pytest.mark.mpi


def run_ranks(n: int, out: Path, kind: str, steps: int, *extra: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        str(MPIEXEC),
        "-n",
        str(n),
        sys.executable,
        "-m",
        "tests.md.mpi_run",
        str(out),
        kind,
        str(steps),
        *extra,
    ]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    return res.stdout


def last_frame(out: Path) -> dict[str, np.ndarray]:
    with h5py.File(out / "trajectory.h5") as f:
        p = f["particles/all"]
        return {
            "position": p["position/value"][-1],
            "image": p["image/value"][-1],
            "velocity": p["velocity/value"][-1],
            "first": p["position/value"][0],
            "cell": p["box/edges/value"][-1],
            "step": p["position/step"][-1],
        }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """NVE and Langevin, 200 steps each, on 1, 2 and 4 ranks (one launch per rank count)."""
    out = tmp_path_factory.mktemp("parallel")
    for n in (1, 2, 4):
        run_ranks(n, out / f"r{n}", "nve,langevin", 200)
    return out


@pytest.mark.parametrize("kind", ["nve", "langevin"])
def test_same_trajectory_on_1_2_4_ranks(runs, kind):
    frames = {n: last_frame(runs / f"r{n}" / kind) for n in (1, 2, 4)}
    ref = frames[1]
    assert ref["step"] == 200
    # atoms crossed the 2x2x1 rank bricks: their owner changed between first and last frame
    cell = ref["cell"]
    owner0 = np.floor(ref["first"] @ np.linalg.inv(cell) * [2, 2, 1]).astype(int)
    owner1 = np.floor(ref["position"] @ np.linalg.inv(cell) * [2, 2, 1]).astype(int)
    assert (owner0 != owner1).any(axis=1).sum() > 5
    for n in (2, 4):
        unwrapped = frames[n]["position"] + frames[n]["image"] @ cell
        ref_unwrapped = ref["position"] + ref["image"] @ cell
        assert np.abs(unwrapped - ref_unwrapped).max() <= tol.RANKS_POSITION_A
        assert np.abs(frames[n]["velocity"] - ref["velocity"]).max() <= tol.RANKS_VELOCITY_A_FS


def test_bricks_thinner_than_the_ghost_depth_give_the_same_trajectory(tmp_path):
    """Ghosts 8 Å deep (5 Å cutoff + 3 Å skin) from 7.8 Å bricks on 2 and 4 ranks: two hops."""
    for n in (1, 2, 4):
        run_ranks(n, tmp_path / f"r{n}", "nve", 100, "skin=3.0")
    frames = {n: last_frame(tmp_path / f"r{n}" / "nve") for n in (1, 2, 4)}
    ref, cell = frames[1], frames[1]["cell"]
    assert ref["step"] == 100
    for n in (2, 4):
        unwrapped = frames[n]["position"] + frames[n]["image"] @ cell
        ref_unwrapped = ref["position"] + ref["image"] @ cell
        assert np.abs(unwrapped - ref_unwrapped).max() <= tol.RANKS_POSITION_A
        assert np.abs(frames[n]["velocity"] - ref["velocity"]).max() <= tol.RANKS_VELOCITY_A_FS
