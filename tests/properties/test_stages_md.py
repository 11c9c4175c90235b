"""The MD segments of ``mlmd properties`` with the teacher: viscosity runs (Langevin
equilibration, Nosé–Hoover production writing the pressure tensor) and their resumption."""

import json

import h5py
import numpy as np
import pytest

from mlmd.errors import InputError
from mlmd.properties.run import run_properties


def test_viscosity_segments_write_the_pressure_tensor(tmp_path):
    cfg = {
        "output": str(tmp_path / "out"),
        "md": {"potential": "teacher", "device": "cpu", "torch_threads": 1, "thermo_every": 2},
        "structure": {"builder": "random_sio2", "n_atoms": 96, "seed": 4},
        "viscosity": {
            "temperatures_K": [3000.0],
            "replicas": 2,
            "equilibration_ps": 0.1,
            "production_ps": 0.4,
            "pressure_tensor_every": 2,
        },
    }
    try:
        summary = run_properties(cfg)
        assert summary["viscosity"]["points"][0]["thermostat"] == "nose_hoover_chain"
    except InputError as exc:  # 0.8 ps is far too short for a plateau: a clear error
        assert "too short for the plateau" in str(exc)
    for r in range(2):
        path = tmp_path / f"out/viscosity/T3000/replica{r}/production/trajectory.h5"
        with h5py.File(path) as f:
            config = json.loads(f["parameters"].attrs["config"])
            tensor = f["observables/pressure_tensor/value"][()]
            t_steps = f["observables/pressure_tensor/step"][()]
            pressure = f["observables/pressure/value"][()]
            p_steps = f["observables/pressure/step"][()]
        assert config["ensemble"]["kind"] == "nose_hoover_chain"
        assert config["ensemble"]["damping_fs"] == 1000.0
        assert t_steps[0] in (100, 102) and t_steps[-1] == 500 and np.all(np.diff(t_steps) == 2)
        assert tensor.shape == (len(t_steps), 3, 3)
        common = np.isin(t_steps, p_steps)
        trace = np.trace(tensor[common], axis1=1, axis2=2) / 3
        assert trace == pytest.approx(pressure[np.isin(p_steps, t_steps)], abs=1e-9)
        assert np.allclose(tensor, tensor.transpose(0, 2, 1), atol=1e-9)


SPRINGS_MD = {"potential": "test-springs", "device": "cpu", "torch_threads": 1,
              "timestep_fs": 4.0, "skin_A": 0.3, "thermo_every": 5,
              "barostat_damping_fs": 100.0, "compressibility_per_GPa": 0.008}  # fmt: skip


def springs_start(tmp_path):
    from ase.io import write

    from tests.properties.harmonic import fcc

    write(tmp_path / "fcc.extxyz", fcc(2))
    return {"extxyz": str(tmp_path / "fcc.extxyz")}


def test_temperature_scans_of_the_spring_crystal(tmp_path):
    """NPT holds at 20/40/60 K: state points, α (central springs: small) and ρ(T) files."""
    scan = {"temperatures_K": [20.0, 40.0, 60.0], "hold_ps": 3.0, "equilibration_ps": 1.0,
            "ramp_ps": 0.4}  # fmt: skip
    cfg = {"output": str(tmp_path / "out"), "md": SPRINGS_MD, "structure": springs_start(tmp_path),
           "thermal_expansion": scan, "density_curve": scan}  # fmt: skip
    summary = run_properties(cfg)
    te, dc = summary["thermal_expansion"], summary["density_curve"]
    assert [p["temperature_K"] for p in te["points"]] == [20.0, 40.0, 60.0]
    assert abs(te["value"]) < 5 * te["error"] + 1e-5 and te["unit"] == "1/K"
    assert all(abs(p["density_g_cm3"] - 6.004) < 0.03 for p in dc["points"])
    assert "resolved" in dc["maximum"]
    for files in (te["files"], dc["files"]):
        assert np.loadtxt(files["dat"]).shape == (3, 3)


def test_bulk_modulus_stage_of_the_spring_crystal(tmp_path):
    """NPT fluctuations and the MD-averaged P–V scan (NVT at three scaled cells) both run and
    land near the analytic 121 GPa (short runs: loose bounds; the statistics are tested in
    test_bulk.py)."""
    bulk = {"temperature_K": 30.0, "equilibration_ps": 2.0, "production_ps": 16.0,
            "pv_strains": [-0.005, 0.0, 0.005], "pv_ps": 2.0}  # fmt: skip
    cfg = {"output": str(tmp_path / "out"), "md": SPRINGS_MD, "structure": springs_start(tmp_path),
           "bulk_modulus": bulk}  # fmt: skip
    summary = run_properties(cfg)["bulk_modulus"]
    assert 60.0 < summary["fluctuations"]["value"] < 200.0
    assert summary["pv_scan"]["value"] == pytest.approx(121.0, rel=0.1)
    assert len(summary["pv_scan"]["trajectories"]) == 3


def test_replica_groups_must_divide_the_ranks(tmp_path):
    """Two replica groups on one rank: refused before any MD, naming the key."""
    cfg = {
        "output": str(tmp_path / "out"),
        "md": {"potential": "teacher", "device": "cpu", "torch_threads": 1},
        "structure": {"builder": "random_sio2", "n_atoms": 24, "seed": 4},
        "viscosity": {"replicas": 2, "production_ps": 0.1, "replica_groups": 2},
    }
    with pytest.raises(InputError, match="1 MPI ranks cannot form 2") as err:
        run_properties(cfg)
    assert err.value.field == "viscosity.replica_groups"
    assert not (tmp_path / "out" / "viscosity" / "T3500").exists()
