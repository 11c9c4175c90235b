"""What `mlmd md run` writes: the H5MD layout (contract 4) on a teacher NVE run, and the
pressure-tensor observable at its interval."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from mlmd.md import run_md
from tests.md import tolerances as tol
from tests.md.helpers import Morse, fcc_crystal, small_config


def test_h5md_layout_and_teacher_nve(tmp_path):
    summary = run_md(small_config(tmp_path, potential="teacher", steps=100), echo=False)
    assert summary["status"] == "completed" and summary["n_atoms"] == 192
    with h5py.File(tmp_path / "trajectory.h5") as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert f["h5md/creator"].attrs["name"] == b"mlmd"  # fixed-length, as H5MD says
        p = f["particles/all"]
        assert p["box"].attrs["dimension"] == 3
        assert [b.decode() if isinstance(b, bytes) else b for b in p["box"].attrs["boundary"]] == [
            "periodic"
        ] * 3
        assert p["box/edges/value"].shape == (6, 3, 3)
        assert list(p["position/step"][()]) == [0, 20, 40, 60, 80, 100]
        assert np.allclose(p["position/time"][()], p["position/step"][()] * 1.0)
        assert p["position/value"].shape == (6, 192, 3)
        assert p["image/value"].dtype == np.int32
        assert p["velocity/value"].attrs["unit"] and p["force/value"].shape == (6, 192, 3)
        assert list(p["id"][()]) == list(range(192))
        assert set(p["species"][()]) == {8, 14} and p["mass"].dtype == np.float64
        cell = p["box/edges/value"][-1]
        frac = p["position/value"][-1] @ np.linalg.inv(cell)
        assert (frac >= 0).all() and (frac < 1).all()
        for name in (
            "potential_energy",
            "kinetic_energy",
            "total_energy",
            "temperature",
            "pressure",
            "volume",
            "density",
            "conserved_energy",
        ):
            g = f[f"observables/{name}"]
            assert g["value"].shape == g["step"].shape == g["time"].shape == (11,)
            assert g["value"].attrs["unit"]
        json.loads(f["parameters"].attrs["config"])
        e = f["observables/total_energy/value"][()]
        k = f["observables/kinetic_energy/value"][()]
    # ideal cristobalite heats itself by ~900 K (PE → KE); the total moves < 0.5 % of that
    assert np.ptp(e) < tol.TEACHER_NVE_OF_KINETIC_RANGE * np.ptp(k)


@pytest.mark.parametrize("every", [1, 3])
def test_pressure_tensor_observable_every_n_steps(tmp_path, every):
    """/observables/pressure_tensor [T, 3, 3] GPa, own step/time, pressure = +trace/3 (the
    scalar pressure observable, kinetic part included), written every ``every`` steps."""
    cfg = small_config(
        tmp_path,
        steps=12,
        ensemble={"kind": "langevin", "temperature_K": 600.0},
        output={"pressure_tensor_every": every, "thermo_every": 6, "trajectory_every": 0},
    )
    run_md(cfg, potential=Morse(), structure=fcc_crystal((3, 3, 3)), echo=False)
    with h5py.File(tmp_path / "trajectory.h5") as f:
        g = f["observables/pressure_tensor"]
        tensor, steps = g["value"][()], g["step"][()]
        assert g["value"].attrs["unit"] == "GPa" and g["value"].dtype == np.float64
        assert np.allclose(g["time"][()], steps * 1.0)
        obs = f["observables/pressure"]
        scalar = dict(zip(obs["step"][()], obs["value"][()], strict=True))
    assert list(steps) == list(range(0, 13, every)) and tensor.shape == (len(steps), 3, 3)
    for k, step in enumerate(steps):
        if step in scalar:
            assert np.trace(tensor[k]) / 3 == pytest.approx(scalar[step], rel=1e-12, abs=1e-12)
    assert np.abs(tensor - tensor.transpose(0, 2, 1)).max() < tol.PRESSURE_TENSOR_SYMMETRY_GPA
    assert np.abs(tensor[:, 0, 1]).max() > 0  # the off-diagonal stress a viscosity needs


def test_pressure_tensor_is_off_by_default(tmp_path):
    run_md(
        small_config(tmp_path, steps=4),
        potential=Morse(),
        structure=fcc_crystal((3, 3, 3)),
        echo=False,
    )
    with h5py.File(tmp_path / "trajectory.h5") as f:
        assert "pressure_tensor" not in f["observables"]
