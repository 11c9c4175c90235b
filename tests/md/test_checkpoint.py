"""Checkpoints: typed integrator variables round-trip exactly; foreign and old files refused."""

from __future__ import annotations

import numpy as np
import pytest

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
