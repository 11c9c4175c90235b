"""Reading a run's observables and config: units, windows, and bad files."""

import h5py
import numpy as np
import pytest

from mlmd.errors import InputError
from mlmd.properties.observables import read_run
from tests.properties.synthetic import write_trajectory

SCHEDULE = {"time_ps": [0.0, 1.0, 2.0], "temperature_K": [300.0, 300.0, 900.0]}


@pytest.fixture
def run_file(tmp_path):
    steps = np.arange(0, 2001, 10)
    config = {"steps": 2000, "timestep_fs": 1.0, "ensemble": {"kind": "npt"}, "schedule": SCHEDULE}
    obs = {
        "pressure": (np.full(len(steps), 1.0e4), steps, "bar"),
        "pressure_tensor": (np.ones((len(steps), 3, 3)), steps, "kbar"),
        "volume": (np.full(len(steps), 100.0), steps, "angstrom^3"),
    }
    return write_trajectory(tmp_path / "run.h5", config, obs)


def test_units_and_config(run_file):
    run = read_run(run_file)
    assert run.ensemble == "npt"
    assert run.series("pressure", "x").value[0] == pytest.approx(1.0)  # 1e4 bar = 1 GPa
    assert run.series("pressure_tensor", "x").value.shape == (201, 3, 3)
    assert run.series("pressure_tensor", "x").value[0, 0, 0] == pytest.approx(0.1)
    assert run.series("volume", "x").interval_fs("f", "volume") == 10.0


@pytest.mark.parametrize(
    "window, bounds",
    [(None, (None, None)), ("time_ps:0.5:", (0.5, None)), ("steps:100:500", (0.1, 0.5)),
     ("segment:-1", (1.0, 2.0))],
)  # fmt: skip
def test_windows(run_file, window, bounds):
    assert read_run(run_file).window_ps(window) == bounds


def test_segment_out_of_range(run_file):
    with pytest.raises(InputError, match="segment 5 of a run with 2"):
        read_run(run_file).window_ps("segment:5")


def test_missing_observable_names_the_switch(run_file):
    with pytest.raises(InputError) as err:
        read_run(run_file).series("temperature", "NPT volume fluctuations")
    assert "/observables/temperature" in str(err.value) and "thermo_every" in str(err.value)


def test_bad_files(tmp_path, run_file):
    with pytest.raises(InputError, match="not found"):
        read_run(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="not an HDF5"):
        read_run(tmp_path / "text.h5")
    with h5py.File(run_file, "a") as f:
        f["observables/pressure/value"].attrs["unit"] = "psi"
    with pytest.raises(InputError, match="unknown pressure unit 'psi'"):
        read_run(run_file)


def test_uneven_sampling_is_refused(tmp_path):
    steps = np.array([0, 2, 4, 8, 10])
    path = write_trajectory(tmp_path / "u.h5", {}, {"volume": (np.ones(5), steps, "")})
    with pytest.raises(InputError, match="not evenly spaced"):
        read_run(path).series("volume", "x").interval_fs(str(path), "volume")
