"""``mpiexec -n 2 mlmd properties``: MD segments on two ranks, the static parts on rank 0,
one summary printed once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MPIEXEC = Path(sys.executable).parent / "mpiexec"

pytestmark = pytest.mark.mpi

CONFIG = """
output = "{out}"
[md]
potential = "teacher"
device = "cpu"
torch_threads = 1
thermo_every = 5
[structure]
builder = "random_sio2"
n_atoms = 96
seed = 2
[glass_transition]
start_K = 4000.0
end_K = 2000.0
rate_K_per_ps = 8000.0
hold_ps = 0.05
[crystals]
structures = ["quartz"]
"""


def test_two_ranks(tmp_path):
    config = tmp_path / "props.toml"
    config.write_text(CONFIG.format(out=tmp_path / "out"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MLMD_PROGRESS": ""}
    cmd = [str(MPIEXEC), "-n", "2", sys.executable, "-m", "mlmd.cli", "properties", str(config)]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert res.stdout.count("| property |") == 1  # rank 0 prints the table once
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    seg = json.loads((tmp_path / "out/glass_transition/quench/done.json").read_text())
    assert seg["summary"]["ranks"] == 2 and seg["summary"]["status"] == "completed"
    assert summary["glass_transition"]["enthalpy"]["n_points"] > 20
    assert summary["crystals"]["structures"]["quartz"]["converged"]
