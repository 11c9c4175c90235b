"""What every trajectory reader shares: the frame record, the time series record, the reader
interface and the species helpers.

The readers (:mod:`mlmd.analysis.reader_h5md`, :mod:`mlmd.analysis.reader_ase`) build on this
module only; :func:`mlmd.analysis.reader.open_trajectory` picks one. Units out: Å, fs, Å/fs,
amu. Species are atomic numbers, or −k for the anonymous kind ``type<k>`` of a file that
stores type indices without a species map.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from mlmd.errors import InputError


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One frame. ``positions`` [N,3] Å (as stored, usually wrapped), ``cell`` [3,3] Å rows =
    lattice vectors, ``pbc`` [3] bool, ``image`` [N,3] int or None, ``velocities`` [N,3] Å/fs or
    None, ``step`` (MD step, or the frame index when the file has none), ``time_fs``."""

    index: int
    step: int
    time_fs: float
    positions: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    image: np.ndarray | None = None
    velocities: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class Series:
    """A time series from ``/observables``: ``value`` [T] in ``unit``, ``step`` [T], ``time_fs``."""

    value: np.ndarray
    step: np.ndarray
    time_fs: np.ndarray
    unit: str


class TrajectoryReader:
    """Common interface of the readers. Attributes: ``path``, ``format``, ``n_frames`` (None
    when unknown until read), ``n_atoms``, ``numbers`` [N] (atomic number, or −type for
    anonymous kinds), ``masses`` [N] amu (NaN if unknown), ``has_images``, ``has_velocities``,
    ``time_known`` (False when times are frame indices or steps, not fs)."""

    path: Path
    format: str
    n_frames: int | None
    n_atoms: int
    numbers: np.ndarray
    masses: np.ndarray
    has_images: bool
    has_velocities: bool
    time_known: bool = True

    def frames(self, selection: slice = slice(None)) -> Iterator[Snapshot]:
        raise NotImplementedError

    def frame_times(self) -> tuple[np.ndarray, np.ndarray]:
        """(``steps`` [T] int, ``times_fs`` [T]) of every frame, for window selection. The
        default reads every frame once; readers that store them cheaply override it."""
        steps, times = [], []
        for snap in self.frames():
            steps.append(snap.step)
            times.append(snap.time_fs)
        return np.array(steps, dtype=np.int64), np.array(times, dtype=float)

    def cells(self, selection: slice = slice(None)) -> np.ndarray | None:
        """[T,3,3] Å for the selected frames if cheap to get without reading positions."""
        return None

    def observables(self) -> dict[str, Series]:
        return {}

    def run_config(self) -> dict | None:
        """The MD run's resolved config (mlmd trajectories store it), else None."""
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> TrajectoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def species_labels(numbers: np.ndarray) -> list[str]:
    """Element symbols for atomic numbers (``type<k>`` for unknown ones, stored as -k)."""
    from ase.data import chemical_symbols

    return [chemical_symbols[z] if z > 0 else f"type{-z}" for z in numbers]


def masses_for(numbers: np.ndarray) -> np.ndarray:
    """[N] amu of atomic numbers (NaN for anonymous kinds)."""
    from ase.data import atomic_masses

    masses = np.full(len(numbers), np.nan)
    known = numbers > 0
    masses[known] = atomic_masses[numbers[known]]
    return masses


def map_species(raw: np.ndarray, species_map: Mapping[int, str] | None, file: str) -> np.ndarray:
    """Raw species values → atomic numbers through ``species_map`` (else −type, anonymous)."""
    from ase.data import atomic_numbers

    raw = np.asarray(raw, dtype=np.int64)
    if not species_map:
        return -raw if (raw > 0).all() else -(raw - raw.min() + 1)
    out = np.empty_like(raw)
    for value in np.unique(raw):
        name = species_map.get(int(value))
        if name is None or name not in atomic_numbers:
            raise InputError(
                f"species value {value} has no element in the species map",
                file=file,
                field="species",
                fix="give every stored species value an element, e.g. --species-map 1=Si,2=O",
            )
        out[raw == value] = atomic_numbers[name]
    return out
