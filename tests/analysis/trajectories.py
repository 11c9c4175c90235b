"""Test trajectories for the analysis: H5MD files in mlmd's format (contract 4) or generic
H5MD, written with h5py, and cheap structures (FCC, alpha-quartz, random SiO2 insertion)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from ase.data import atomic_masses
from ase.spacegroup import crystal


def write_h5md(  # noqa: PLR0913 (keyword-only options, one per optional H5MD group)
    path: str | Path,
    positions: np.ndarray,
    cells: np.ndarray,
    numbers: np.ndarray,
    *,
    images: np.ndarray | None = None,
    velocities: np.ndarray | None = None,
    steps: np.ndarray | None = None,
    times_fs: np.ndarray | None = None,
    observables: dict[str, tuple[np.ndarray, str]] | None = None,
    mlmd: bool = True,
    config: dict | None = None,
) -> Path:
    """Write frames as H5MD. ``positions`` [T,N,3] Å (written as given), ``cells`` [T,3,3]
    or [3,3] Å, ``numbers`` [N]. With ``mlmd=False`` the file has no mlmd creator, mass, id,
    image, observables or parameters: a plain H5MD file as another program would write it
    (species are the atomic numbers). ``config`` is the MD run config stored in
    ``/parameters`` (default: a timestep only)."""
    path = Path(path)
    positions = np.asarray(positions, dtype=np.float64)
    t, n = positions.shape[:2]
    cells = np.broadcast_to(np.asarray(cells, dtype=np.float64), (t, 3, 3))
    steps = np.arange(t, dtype=np.int64) * 10 if steps is None else np.asarray(steps)
    times = steps * 1.0 if times_fs is None else np.asarray(times_fs, dtype=np.float64)
    with h5py.File(path, "w") as f:
        h5 = f.create_group("h5md")
        h5.attrs["version"] = np.array([1, 1])
        creator = h5.create_group("creator")
        creator.attrs["name"] = "mlmd" if mlmd else "test-writer"
        creator.attrs["version"] = "0.1.0"
        g = f.create_group("particles/all")
        box = g.create_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = np.array(["periodic"] * 3, dtype="S8")

        def element(parent, name, value, unit):
            e = parent.create_group(name)
            ds = e.create_dataset("value", data=value, chunks=(1,) + value.shape[1:])
            if unit:
                ds.attrs["unit"] = unit
            e.create_dataset("step", data=steps)
            e.create_dataset("time", data=times).attrs["unit"] = "fs"

        element(box, "edges", cells.copy(), "Angstrom")
        element(g, "position", positions, "Angstrom")
        if images is not None:
            element(g, "image", np.asarray(images, dtype=np.int32), "")
        if velocities is not None:
            element(g, "velocity", np.asarray(velocities, dtype=np.float64), "Angstrom/fs")
        g.create_dataset("species", data=np.asarray(numbers, dtype=np.int32))
        if mlmd:
            g.create_dataset("mass", data=atomic_masses[np.asarray(numbers)])
            g.create_dataset("id", data=np.arange(n, dtype=np.int64))
            f.create_group("parameters").attrs["config"] = json.dumps(
                config or {"timestep_fs": 1.0}
            )
            _write_observables(f, observables or {}, steps, times)
    return path


def _write_observables(f: h5py.File, observables: dict, steps, times) -> None:
    """``/observables/NAME/{value, step, time}`` for each (value [T'], unit) of ``observables``
    (T' ≤ T: the first T' steps)."""
    for name, (value, unit) in observables.items():
        o = f.create_group(f"observables/{name}")
        o.create_dataset("value", data=np.asarray(value, dtype=np.float64)).attrs["unit"] = unit
        o.create_dataset("step", data=steps[: len(value)])
        o.create_dataset("time", data=times[: len(value)]).attrs["unit"] = "fs"


def write_generic_h5md(path, positions_nm, box_nm, species, dt_ps):
    """An H5MD file as another program writes it: particle group 'trajectory', nm and ps, a
    fixed box given as its diagonal, fixed-interval step/time, type-indexed species, and no
    image, velocity, mass, observables or mlmd creator."""
    with h5py.File(path, "w") as f:
        f.create_group("h5md").attrs["version"] = [1, 1]
        f["h5md"].create_group("creator").attrs["name"] = "some-md-code"
        g = f.create_group("particles/trajectory")
        box = g.create_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = [b"periodic"] * 3
        box.create_dataset("edges", data=box_nm).attrs["unit"] = "nm"
        pos = g.create_group("position")
        pos.create_dataset("value", data=positions_nm).attrs["unit"] = "nm"
        step = pos.create_dataset("step", data=100)
        step.attrs["offset"] = 1000
        pos.create_dataset("time", data=dt_ps).attrs["unit"] = "ps"
        g.create_dataset("species", data=species)


def wrap(positions: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unwrapped positions [..., N, 3] → (wrapped positions, image [..., N, 3] int)."""
    frac = positions @ np.linalg.inv(cell)
    image = np.floor(frac).astype(np.int64)
    return (frac - image) @ cell, image


def quartz(repeat=(1, 1, 1)):
    """alpha-quartz (Levien et al. 1980), Si–O 1.605/1.614 Å (notes/sio2.md)."""
    atoms = crystal(
        ["Si", "O"],
        basis=[(0.4697, 0, 2 / 3), (0.4135, 0.2669, 0.7858)],
        spacegroup=154,
        cellpar=[4.916, 4.916, 5.4054, 90, 90, 120],
    )
    return atoms.repeat(repeat)


def random_sio2(n_formula: int, density_g_cm3: float = 2.20, seed: int = 0, dmin=None):
    """A fully disordered SiO2 cell at a density: uniform random positions, then overlaps
    pushed apart (each pair closer than its minimum distance moved apart along its bond,
    repeated) until no pair is closer than 97 % of the minimum: random insertion with minimum
    distances, done in O(N) per sweep. Returns (positions [N,3] Å, cell [3,3], numbers [N])."""
    from ase.units import _amu
    from vesin import NeighborList

    dmin = dmin or {(14, 14): 2.6, (14, 8): 1.4, (8, 8): 2.2}
    numbers = np.array([14] * n_formula + [8] * (2 * n_formula))
    mass_g = atomic_masses[numbers].sum() * _amu * 1e3
    length = (mass_g / density_g_cm3 * 1e24) ** (1 / 3)
    cell = np.eye(3) * length
    rng = np.random.default_rng(seed)
    numbers = numbers[rng.permutation(len(numbers))]
    pos = rng.random((len(numbers), 3)) * length
    table = np.zeros((15, 15))
    for (a, b), d in dmin.items():
        table[a, b] = table[b, a] = d
    nl = NeighborList(cutoff=max(dmin.values()), full_list=False)
    for _ in range(2000):
        i, j, vec, d = nl.compute(pos, cell, True, quantities="ijDd")
        need = table[numbers[i], numbers[j]]
        bad = d < need
        if not np.any(d < 0.97 * need):
            break
        push = (0.5 * (need[bad] - d[bad]) / np.maximum(d[bad], 1e-6))[:, None] * vec[bad]
        np.add.at(pos, j[bad], 0.6 * push)
        np.add.at(pos, i[bad], -0.6 * push)
        pos %= length
    else:
        raise RuntimeError("overlap removal did not converge: lower the density or distances")
    return pos, cell, numbers


def synthetic_sio2_trajectory(
    path: str | Path, n_formula: int, n_frames: int, seed: int = 0, dt_fs: float = 10.0
) -> Path:
    """An mlmd-format SiO2 trajectory with the motion of a hot glass, made without an MD
    engine: a disordered cell (:func:`random_sio2`) whose atoms vibrate (0.1 Å, 16 THz) and
    random-walk (D = 1e-4 Å²/fs); wrapped positions with images, velocities, observables."""
    pos0, cell, numbers = random_sio2(n_formula, seed=seed)
    rng = np.random.default_rng(seed + 1)
    n = len(numbers)
    t = np.arange(n_frames) * dt_fs
    omega = 2 * np.pi * 0.016  # rad/fs
    amp = rng.normal(0, 0.1, (n, 3))
    phase = rng.uniform(0, 2 * np.pi, (n, 3))
    walk = np.cumsum(rng.normal(0, np.sqrt(2 * 1e-4 * dt_fs), (n_frames, n, 3)), axis=0)
    unwrapped = pos0 + walk + amp * np.sin(omega * t[:, None, None] + phase)
    velocities = amp * omega * np.cos(omega * t[:, None, None] + phase)
    wrapped, image = wrap(unwrapped, cell)
    e_pot = -6.0 * n + rng.normal(0, 0.5, n_frames)
    observables = {
        "temperature": (3000 + rng.normal(0, 30, n_frames), "K"),
        "pressure": (rng.normal(0, 0.5, n_frames), "GPa"),
        "potential_energy": (e_pot, "eV"),
        "kinetic_energy": (np.full(n_frames, 1.5 * n * 8.617e-5 * 3000), "eV"),
        "conserved_energy": (e_pot.mean() + 1e-6 * n * t / 1e3, "eV"),
        "volume": (np.full(n_frames, np.linalg.det(cell)), "Angstrom^3"),
        "force_std_max": (0.2 + 0.01 * rng.random(n_frames), "eV/Angstrom"),
        "force_std_mean": (0.05 + 0.005 * rng.random(n_frames), "eV/Angstrom"),
    }
    return write_h5md(
        path,
        wrapped,
        cell,
        numbers,
        images=image,
        velocities=velocities,
        steps=np.arange(n_frames) * int(dt_fs),
        times_fs=t,
        observables=observables,
    )
