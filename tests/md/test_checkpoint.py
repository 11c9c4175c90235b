"""Checkpoints: typed integrator variables round-trip exactly; foreign and old files refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlmd.errors import InputError
from mlmd.md import run_md
from mlmd.md.checkpoint import read_checkpoint
from mlmd.md.domain import make_grid
from mlmd.md.integrators import Chain, HeatBath
from tests.md.helpers import Morse, fcc_crystal


def short_run(out, kind: str, steps: int = 6, **ensemble) -> dict:
    cfg = {
        "steps": steps,
        "timestep_fs": 2.0,
        "seed": 3,
        "torch_threads": 1,
        "initial_temperature_K": 400.0,
        "structure": {"builder": "random_sio2", "n_atoms": 1},
        "ensemble": {"kind": kind, "temperature_K": 400.0, **ensemble},
        "output": {"directory": str(out), "trajectory_every": 0, "thermo_every": 2},
    }
    run_md(cfg, potential=Morse(), structure=fcc_crystal((2, 2, 2)), echo=False)
    return cfg


@pytest.mark.parametrize(
    ("kind", "vars_type"), [("langevin", HeatBath), ("nose_hoover_chain", Chain), ("nve", None)]
)
def test_integrator_variables_come_back_typed_and_exact(tmp_path, kind, vars_type):
    short_run(tmp_path, kind)
    raw = np.load(tmp_path / "checkpoint.npz")
    restored = read_checkpoint(tmp_path / "checkpoint.npz", make_grid_world())
    bath = restored.state.bath
    assert restored.integrator == kind and restored.state.step == 6
    if vars_type is None:
        assert bath is None
    elif vars_type is HeatBath:
        assert isinstance(bath, HeatBath) and bath.heat_eV == float(raw["bath/heat_eV"])
        assert bath.heat_eV != 0.0
    else:
        assert isinstance(bath, Chain) and np.array_equal(bath.v_xi, raw["bath/v_xi"])
        assert bath.xi.shape == (3,) and np.abs(bath.xi).max() > 0
    assert restored.potential["sha256"] and restored.config["ensemble"]["kind"] == kind


def make_grid_world():
    from mpi4py import MPI

    return make_grid(MPI.COMM_WORLD)


def test_old_format_and_foreign_files_are_refused_with_the_reason(tmp_path):
    cfg = short_run(tmp_path / "run", "nve", steps=2)
    cfg = {**cfg, "steps": 4}
    old = tmp_path / "old.npz"
    np.savez(old, format=np.array("mlmd.md.checkpoint/1"), step=np.array(2))
    with pytest.raises(InputError, match="older mlmd.*rerun from the start"):
        run_md(cfg, restart=old, potential=Morse(), echo=False)
    zipped = tmp_path / "not.npz"
    zipped.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(InputError, match="not a readable .npz file"):
        run_md(cfg, restart=zipped, potential=Morse(), echo=False)


def test_checkpoint_of_another_run_is_refused_naming_the_difference(tmp_path):
    cfg = short_run(tmp_path / "a", "langevin")
    ckpt = tmp_path / "a" / "checkpoint.npz"
    cfg = {**cfg, "steps": 10, "output": {**cfg["output"], "directory": str(tmp_path / "b")}}
    with pytest.raises(
        InputError, match="atoms: the checkpoint has 32, this config's structure 108"
    ):
        run_md(cfg, restart=ckpt, potential=Morse(), structure=fcc_crystal((3, 3, 3)), echo=False)
    other = fcc_crystal((2, 2, 2))
    other.numbers[4] = 8
    with pytest.raises(InputError, match="species: atom 4 is Z=18 in the checkpoint, Z=8"):
        run_md(cfg, restart=ckpt, potential=Morse(), structure=other, echo=False)
    with pytest.raises(InputError, match="potential: the checkpoint's is .*this config's"):
        pot = Morse(depth_eV=0.31)
        pot.register_buffer("depth_t", torch.tensor(0.31))  # its weights differ
        run_md(cfg, restart=ckpt, potential=pot, structure=fcc_crystal((2, 2, 2)), echo=False)
    assert not (tmp_path / "b" / "trajectory.h5").exists()


def test_restart_at_or_past_steps_says_so(tmp_path, caplog):
    cfg = short_run(tmp_path, "nve", steps=6)
    ckpt = tmp_path / "checkpoint.npz"
    with caplog.at_level("WARNING"):
        summary = run_md(cfg, restart=ckpt, potential=Morse(), structure=fcc_crystal((2, 2, 2)))
    assert summary["steps_run"] == 0 and "nothing to run (raise steps" in caplog.text
    with pytest.raises(InputError, match="checkpoint is at step 6, past this config's steps = 4"):
        run_md(
            {**cfg, "steps": 4}, restart=ckpt, potential=Morse(), structure=fcc_crystal((2, 2, 2))
        )


KILLED = """
import os, signal, sys
from mlmd.md import run_md
from tests.md.helpers import Morse, fcc_crystal

calls = [0]
forward = Morse.forward


def dies_at_step_15(self, graph, edge_vectors):  # the same Morse class (and weights) as the restart
    calls[0] += 1
    if calls[0] == 16:  # setup + 15 steps: after the checkpoint at 10
        os.kill(os.getpid(), signal.SIGKILL)
    return forward(self, graph, edge_vectors)


Morse.forward = dies_at_step_15
cfg = {cfg}
run_md(cfg, potential=Morse(), structure=fcc_crystal((2, 2, 2)), echo=False)
"""


def test_after_sigkill_and_restart_every_output_step_is_there_once(tmp_path):
    """SIGKILL at step 15 after the checkpoint at step 10: the restart truncates observables
    and thermo.log to step 10 and writes 11… again (no gap, no duplicate)."""
    import subprocess
    import sys

    import h5py

    from tests.md.test_parallel import ROOT

    cfg = {
        "steps": 20,
        "timestep_fs": 2.0,
        "seed": 3,
        "torch_threads": 1,
        "initial_temperature_K": 400.0,
        "structure": {"builder": "random_sio2", "n_atoms": 1},
        "ensemble": {"kind": "langevin", "temperature_K": 400.0},
        "output": {
            "directory": str(tmp_path),
            "trajectory_every": 5,
            "thermo_every": 1,
            "checkpoint_every": 10,
            "pressure_tensor_every": 1,
        },
    }
    proc = subprocess.run(
        [sys.executable, "-c", KILLED.format(cfg=repr(cfg))], cwd=ROOT, capture_output=True
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert int(np.load(tmp_path / "checkpoint.npz")["step"]) == 10
    run_md(
        cfg,
        restart=tmp_path / "checkpoint.npz",
        potential=Morse(),
        structure=fcc_crystal((2, 2, 2)),
        echo=False,
    )
    with h5py.File(tmp_path / "trajectory.h5") as f:
        for name in ("temperature", "pressure_tensor", "total_energy"):
            assert list(f[f"observables/{name}/step"][()]) == list(range(21)), name
        assert list(f["particles/all/position/step"][()]) == [0, 5, 10, 15, 20]
    rows = [
        int(line.split()[0])
        for line in (tmp_path / "thermo.log").read_text().splitlines()
        if not line.startswith("#")
    ]
    assert rows == list(range(21))
