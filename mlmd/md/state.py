"""The MD state one rank holds: its owned atoms (per-atom arrays) and the global scalars.

Per-atom arrays travel with their atom when it migrates to another rank
(:data:`PER_ATOM`). Positions are float64 Å and are continuous between neighbour-list
rebuilds (they are wrapped into the cell, with the image counter updated, only at a
rebuild), so that ghost copies keep a fixed periodic shift. Velocities are Å/fs.

A state is never mutated behind the caller's back: every step returns a new one
(:func:`dataclasses.replace`), whose arrays may share memory with the old one only where
they did not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from ase.data import atomic_masses

from mlmd import units
from mlmd.md.rng import normals

#: Per-atom fields of :class:`MDState`, in the order they are sent between ranks.
PER_ATOM = ("ids", "numbers", "masses", "positions", "velocities", "images", "forces")


@dataclass(frozen=True)
class MDState:
    """One rank's share of an MD run.

    Attributes:
        ids: [n] int64 global atom ids (0 … N−1).
        numbers: [n] int64 atomic numbers.
        masses: [n] float64 amu.
        positions: [n, 3] Å (continuous since the last rebuild).
        velocities: [n, 3] Å/fs.
        images: [n, 3] int64; unwrapped = wrapped + images @ cell.
        forces: [n, 3] eV/Å on the owned atoms at the current positions.
        cell: [3, 3] Å, rows are the lattice vectors (global).
        step: steps taken so far.
        dt_fs: timestep in fs.
        potential_energy: eV, global.
        virial: [3, 3] eV, global (W = −Σ r_ij ⊗ ∂E/∂r_ij).
        kinetic: [3, 3] eV, global kinetic tensor ½ Σ m v⊗v.
        n_atoms: global number of atoms N.
        dof: degrees of freedom used for the temperature.
        bath: the integrator's variables (a frozen dataclass of its ``Vars`` type, e.g.
            :class:`mlmd.md.integrators.Chain`), global; None for NVE.
        force_std: [n] eV/Å per-atom force spread of an ensemble, or None.
    """

    ids: np.ndarray
    numbers: np.ndarray
    masses: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    images: np.ndarray
    forces: np.ndarray
    cell: np.ndarray
    step: int = 0
    dt_fs: float = 1.0
    potential_energy: float = 0.0
    virial: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    kinetic: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    n_atoms: int = 0
    dof: int = 0
    bath: object | None = None
    force_std: np.ndarray | None = None

    @property
    def n_owned(self) -> int:
        return int(self.ids.shape[0])

    @property
    def time_fs(self) -> float:
        return self.step * self.dt_fs

    @property
    def volume(self) -> float:
        """Å³."""
        return float(abs(np.linalg.det(self.cell)))

    @property
    def kinetic_energy(self) -> float:
        """eV, global."""
        return float(np.trace(self.kinetic))

    @property
    def temperature_K(self) -> float:
        return units.kinetic_temperature_K(self.kinetic_energy, max(self.dof, 1))

    @property
    def pressure_tensor(self) -> np.ndarray:
        """[3, 3] eV/Å³: (2 K + W) / V."""
        return (2.0 * self.kinetic + self.virial) / self.volume

    @property
    def pressure_GPa(self) -> float:
        return units.ev_per_a3_to_gpa(float(np.trace(self.pressure_tensor)) / 3.0)

    def atoms(self) -> dict[str, np.ndarray]:
        """The per-atom arrays as a dict (see :data:`PER_ATOM`)."""
        return {k: getattr(self, k) for k in PER_ATOM}

    def with_atoms(self, atoms: dict[str, np.ndarray]) -> MDState:
        """A copy whose owned atoms are replaced by ``atoms`` (all per-atom fields)."""
        return replace(self, **{k: atoms[k] for k in PER_ATOM}, force_std=None)


def wrap(positions: np.ndarray, images: np.ndarray, cell: np.ndarray):
    """Positions [n, 3] Å wrapped into ``cell`` and the image counters [n, 3] that keep
    ``wrapped + images @ cell`` equal to the unwrapped positions."""
    shift = np.floor(positions @ np.linalg.inv(cell))
    return positions - shift @ cell, images + shift.astype(np.int64)


def empty_atoms(n: int = 0) -> dict[str, np.ndarray]:
    """Per-atom arrays for ``n`` atoms, zero-filled, with the right dtypes and shapes."""
    return {
        "ids": np.zeros(n, np.int64),
        "numbers": np.zeros(n, np.int64),
        "masses": np.zeros(n, np.float64),
        "positions": np.zeros((n, 3), np.float64),
        "velocities": np.zeros((n, 3), np.float64),
        "images": np.zeros((n, 3), np.int64),
        "forces": np.zeros((n, 3), np.float64),
    }


def take(atoms: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    """Rows ``index`` (bool mask or integer indices) of every per-atom array."""
    return {k: v[index] for k, v in atoms.items()}


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate per-atom dicts (in order)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return empty_atoms(0)
    return {k: np.concatenate([p[k] for p in parts]) for k in PER_ATOM}


def atoms_from_structure(
    numbers: np.ndarray, positions: np.ndarray, masses: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-atom arrays for a whole structure, ids 0 … N−1, at rest."""
    n = len(numbers)
    atoms = empty_atoms(n)
    atoms["ids"] = np.arange(n, dtype=np.int64)
    atoms["numbers"] = np.asarray(numbers, dtype=np.int64)
    atoms["masses"] = (
        atomic_masses[atoms["numbers"]].astype(np.float64)
        if masses is None
        else np.asarray(masses, np.float64)
    )
    atoms["positions"] = np.asarray(positions, dtype=np.float64).reshape(n, 3).copy()
    return atoms


def maxwell_boltzmann(
    ids: np.ndarray, masses: np.ndarray, temperature_K: float, seed: int
) -> np.ndarray:
    """[n, 3] Å/fs velocities drawn from Maxwell–Boltzmann, keyed by (seed, atom id).

    The same atom gets the same velocity whatever rank draws it. The caller removes the
    centre-of-mass motion and rescales to the exact temperature (global sums).
    """
    sigma = np.sqrt(units.KB_EV_PER_K * temperature_K / (masses * units.MVV2E))
    return normals(seed, -1 & 0x7FFFFFFF, ids) * sigma[:, None]


def kinetic_tensor(masses: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    """[3, 3] eV local kinetic tensor ½ Σ m v ⊗ v."""
    mv = velocities * masses[:, None]
    return 0.5 * units.MVV2E * (mv.T @ velocities)
