"""Elements: symbols ↔ atomic numbers, and which elements a dataset's frames hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from ase.data import atomic_numbers as _symbol_to_number
from ase.data import chemical_symbols

from mlmd.errors import InputError

if TYPE_CHECKING:
    from mlmd.data.store import Dataset


def atomic_numbers(species: Iterable[int | str]) -> list[int]:
    """Atomic numbers of a list of numbers or chemical symbols (``["Si", 8]`` → [14, 8])."""
    out = []
    for s in species:
        if isinstance(s, str):
            if s not in _symbol_to_number:
                raise InputError(f"unknown element {s!r}", field="species", fix="use e.g. 'Si'")
            out.append(_symbol_to_number[s])
        else:
            z = int(s)
            if not 0 < z < len(chemical_symbols):
                raise InputError(f"no element has atomic number {z}", field="species")
            out.append(z)
    return out


def symbols(numbers: Iterable[int]) -> list[str]:
    """Chemical symbols of atomic numbers."""
    return [chemical_symbols[int(z)] for z in numbers]


def dataset_species(dataset: Dataset, indices: Sequence[int] | None = None) -> list[int]:
    """Sorted atomic numbers present in frames ``indices`` (default: all) of ``dataset``."""
    c = dataset.columns
    numbers = dataset.atom_column("numbers")
    if indices is None:
        return sorted(int(z) for z in np.unique(numbers))
    idx = np.asarray(indices, dtype=np.int64)
    if not idx.size:
        return []
    starts, counts = c["offset"][idx], c["n_atoms"][idx]
    rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    return sorted(int(z) for z in np.unique(numbers[rows]))
