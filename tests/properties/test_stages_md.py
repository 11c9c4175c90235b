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
