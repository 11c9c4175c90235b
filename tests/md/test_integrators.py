"""Integrators: energy conservation (NVE, NHC), canonical statistics (Langevin, NHC),
isothermal-isobaric statistics (NPT), all on small Morse systems in float64."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from mlmd import units
from mlmd.md import run_md
from tests.md import tolerances as tol
from tests.md.helpers import Morse, fcc_crystal


def run_small(tmp_path, kind: str, steps: int, *, repeat=(3, 3, 3), every=10, a=3.9, **ensemble):
    """Run on one rank; return the H5MD observables as arrays and the summary."""
    cfg = {
        "steps": steps,
        "timestep_fs": ensemble.pop("timestep_fs", 2.0),
        "seed": ensemble.pop("seed", 11),
        "skin_A": 0.6,
        "torch_threads": 1,
        "initial_temperature_K": ensemble.get("temperature_K", 300.0),
        "structure": {"builder": "random_sio2", "n_atoms": 1},
        "ensemble": {"kind": kind, **ensemble},
        "output": {
            "directory": str(tmp_path / kind),
            "thermo_every": every,
            "trajectory_every": steps,
            "checkpoint_every": 0,
        },
    }
    summary = run_md(
        cfg, potential=Morse(), structure=fcc_crystal(repeat, a=a, rattle=0.05), echo=False
    )
    with h5py.File(tmp_path / kind / "trajectory.h5") as f:
        obs = {k: f[f"observables/{k}/value"][()] for k in f["observables"]}
    return obs, summary


def block_error(x: np.ndarray, n_blocks: int = 20) -> float:
    """Standard error of the mean of a correlated series by block averaging."""
    blocks = np.array_split(x, n_blocks)
    means = np.array([b.mean() for b in blocks])
    return float(means.std(ddof=1) / np.sqrt(n_blocks))


def test_nve_conserves_energy(tmp_path):
    obs, _ = run_small(tmp_path, "nve", 500, temperature_K=600.0, timestep_fs=1.0)
    e = obs["total_energy"]
    n = 108
    drift = abs(np.polyfit(np.arange(len(e)) * 10e-3, e, 1)[0]) / n  # eV/atom/ps
    assert np.ptp(e) / n < tol.NVE_RANGE_EV_PER_ATOM
    assert drift < tol.NVE_DRIFT_EV_PER_ATOM_PS
    assert np.ptp(obs["kinetic_energy"]) > 100 * np.ptp(e)  # energy flows, total stays


def test_nose_hoover_chain_conserves_its_extended_energy(tmp_path):
    obs, _ = run_small(
        tmp_path, "nose_hoover_chain", 500, temperature_K=600.0, timestep_fs=1.0, damping_fs=50.0
    )
    h = obs["conserved_energy"]
    assert np.ptp(h) / 108 < tol.NHC_RANGE_EV_PER_ATOM
    assert np.ptp(obs["total_energy"]) > 30 * np.ptp(h)  # the thermostat did exchange energy


def test_langevin_heat_bookkeeping(tmp_path):
    obs, _ = run_small(
        tmp_path, "langevin", 300, temperature_K=900.0, timestep_fs=1.0, damping_fs=50.0
    )
    # E + heat given to the bath is conserved up to the BAOAB splitting error
    bound = tol.LANGEVIN_HEAT_RELATIVE * np.ptp(obs["total_energy"])
    assert np.ptp(obs["conserved_energy"]) < bound


def canonical_checks(obs, dof: int, target_K: float, burn: int) -> None:
    t = obs["temperature"][burn:]
    k = obs["kinetic_energy"][burn:]
    assert abs(t.mean() / target_K - 1) < tol.CANONICAL_MEAN_T
    kT = units.KB_EV_PER_K * target_K
    expected_var = 0.5 * dof * kT**2
    assert abs(k.var() / expected_var - 1) < tol.CANONICAL_VAR_K


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, dof",
    [("langevin", 3 * 32), ("nose_hoover_chain", 3 * 32 - 3)],  # NHC conserves momentum
)
def test_thermostat_samples_canonical_kinetic_energy(tmp_path, kind, dof):
    obs, _ = run_small(
        tmp_path,
        kind,
        15000,
        repeat=(2, 2, 2),
        temperature_K=1000.0,
        damping_fs=20.0,
        every=10,
    )
    canonical_checks(obs, dof, 1000.0, burn=100)


@pytest.mark.slow
def test_npt_samples_isothermal_isobaric_ensemble(tmp_path):
    """Mean P = P0 within its standard error; var(V) = kT <V> β_T with β_T from the mean
    volumes at 0 and 2 GPa (32 atoms, 1000 K, stochastic cell rescaling)."""
    volumes, fluct = {}, {}
    kT = units.KB_EV_PER_K * 1000.0 / units.GPA  # GPa Å³
    for p0 in (0.0, 2.0):
        obs, _ = run_small(
            tmp_path / str(p0),
            "npt",
            10000,
            repeat=(2, 2, 2),
            a=3.6,
            temperature_K=1000.0,
            pressure_GPa=p0,
            damping_fs=50.0,
            barostat_damping_fs=100.0,
            compressibility_per_GPa=0.01,
            every=10,
        )
        v, p = obs["volume"][100:], obs["pressure"][100:]
        assert abs(p.mean() - p0) < 3 * block_error(p)
        assert abs(obs["temperature"][100:].mean() / 1000.0 - 1) < tol.NPT_MEAN_T
        volumes[p0], fluct[p0] = v.mean(), v.var() / (kT * v.mean())
    beta = -np.log(volumes[2.0] / volumes[0.0]) / 2.0
    assert beta > 0
    assert abs(fluct[0.0] / beta - 1) < tol.NPT_COMPRESSIBILITY


def test_berendsen_drives_temperature_and_pressure_to_targets(tmp_path):
    obs, _ = run_small(
        tmp_path,
        "berendsen",
        600,
        repeat=(2, 2, 2),
        a=3.6,
        temperature_K=600.0,
        damping_fs=50.0,
        barostat=True,
        barostat_damping_fs=200.0,
        compressibility_per_GPa=0.01,
        pressure_GPa=0.0,
    )
    t, p = obs["temperature"], obs["pressure"]
    assert abs(t[-20:].mean() / 600.0 - 1) < tol.BERENDSEN_T_RELATIVE
    assert abs(p[-20:].mean()) < tol.BERENDSEN_P_OF_START * abs(p[0])


def test_per_axis_npt_keeps_the_cell_orthorhombic_and_moves_axes_independently(tmp_path):
    _, summary = run_small(
        tmp_path,
        "npt",
        300,
        repeat=(2, 2, 2),
        a=3.6,
        temperature_K=800.0,
        pressure_GPa=0.0,
        coupling="per_axis",
        barostat_damping_fs=100.0,
        compressibility_per_GPa=0.01,
        every=100,
    )
    with h5py.File(tmp_path / "npt" / "trajectory.h5") as f:
        cell = f["particles/all/box/edges/value"][-1]
    assert np.count_nonzero(cell - np.diag(np.diag(cell))) == 0
    lengths = np.diag(cell)
    assert np.ptp(lengths) > 1e-4 * lengths.mean()  # axes moved independently
    assert abs(np.prod(lengths) - summary["volume_A3"]) < tol.VOLUME_RELATIVE * summary["volume_A3"]
