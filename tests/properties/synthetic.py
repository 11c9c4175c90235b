"""Synthetic series and H5MD files in mlmd's layout (CONTRACTS §2) for the property tests."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from scipy.signal import lfilter


def ornstein_uhlenbeck(n: int, dt: float, tau: float, sigma: float, rng) -> np.ndarray:
    """[n] exact discretisation of an OU process: ⟨x(0)x(t)⟩ = σ² e^{−t/τ}."""
    a = np.exp(-dt / tau)
    z = rng.normal(0.0, sigma * np.sqrt(1 - a * a), n)
    z[0] = rng.normal(0.0, sigma)
    return lfilter([1.0], [1.0, -a], z)


def isotropic_pressure_tensor(n, *, dt_fs, tau_fs, sigma_GPa, mean_GPa, rng) -> np.ndarray:
    """[n, 3, 3] GPa: mean·I plus a traceless part whose five orthonormal components are
    independent OU processes (variance σ², time τ): every shear estimator then has the ACF
    (σ²/2) e^{−t/τ}. The isotropic part fluctuates too (it must not matter)."""
    basis = np.zeros((5, 3, 3))
    basis[0, 0, 1] = basis[0, 1, 0] = basis[1, 0, 2] = basis[1, 2, 0] = 1 / np.sqrt(2)
    basis[2, 1, 2] = basis[2, 2, 1] = 1 / np.sqrt(2)
    basis[3] = np.diag([1, -1, 0]) / np.sqrt(2)
    basis[4] = np.diag([1, 1, -2]) / np.sqrt(6)
    a = np.stack([ornstein_uhlenbeck(n, dt_fs, tau_fs, sigma_GPa, rng) for _ in range(5)])
    iso = mean_GPa + ornstein_uhlenbeck(n, dt_fs, 50.0, 0.3, rng)
    return np.einsum("kt,kab->tab", a, basis) + iso[:, None, None] * np.eye(3)


def write_trajectory(path: Path, config: dict, observables: dict, dt_fs: float = 1.0) -> Path:
    """An H5MD file with ``/parameters`` config and ``/observables/<name>`` = (value, step).

    ``observables``: {name: (value [T, ...], steps [T], unit)}; times are steps · dt_fs.
    """
    with h5py.File(path, "w") as f:
        f.require_group("h5md").attrs["version"] = np.array([1, 1])
        f.require_group("parameters").attrs["config"] = json.dumps(config)
        obs = f.require_group("observables")
        for name, (value, steps, unit) in observables.items():
            g = obs.require_group(name)
            g.create_dataset("value", data=np.asarray(value, dtype=np.float64))
            g["value"].attrs["unit"] = unit
            g.create_dataset("step", data=np.asarray(steps, dtype=np.int64))
            g.create_dataset("time", data=np.asarray(steps, dtype=np.float64) * dt_fs)
            g["time"].attrs["unit"] = "fs"
    return path


def nvt_file(
    path: Path,
    seed: int,
    *,
    n: int = 20_000,
    tau_fs: float = 100.0,
    sigma_GPa: float = 1.0,
    kind: str = "nve",
    ptensor: bool = True,
    temperature_K=3500.0,
) -> Path:
    """A fixed-volume run (3000 Å³) sampled every 2 fs: volume, temperature and (``ptensor``) an
    isotropic pressure tensor whose shear estimators have the ACF (σ²/2) e^{−t/τ}."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n) * 2
    obs = {
        "volume": (np.full(n, 3000.0), steps, "angstrom^3"),
        "temperature": (temperature_K + rng.normal(0, 30, n), steps, "K"),
    }
    if ptensor:
        tensor = isotropic_pressure_tensor(
            n, dt_fs=2.0, tau_fs=tau_fs, sigma_GPa=sigma_GPa, mean_GPa=5.0, rng=rng
        )
        obs["pressure_tensor"] = (tensor, steps, "GPa")
    config = {"ensemble": {"kind": kind, "temperature_K": temperature_K}, "timestep_fs": 1.0}
    return write_trajectory(path, config, obs)


def npt_file(path: Path, kind: str = "npt", schedule: dict | None = None, n: int = 5000) -> Path:
    """A run sampled every 10 fs whose volume is 3000 Å³ + OU(σ = 12 Å³, τ = 3 samples) at
    300 K: K = k_B T V̄/σ² ≈ 0.0898 eV/Å³ · … (see the tests)."""
    rng = np.random.default_rng(1)
    v = 3000.0 + ornstein_uhlenbeck(n, 1.0, 3.0, 12.0, rng)
    steps = np.arange(n) * 10
    config = {
        "ensemble": {"kind": kind, "temperature_K": 300.0},
        "timestep_fs": 1.0,
        "steps": int(steps[-1]),
    }
    if schedule:
        config["schedule"] = schedule
    obs = {"volume": (v, steps, "angstrom^3"), "temperature": (np.full(n, 300.0), steps, "K")}
    return write_trajectory(path, config, obs)
