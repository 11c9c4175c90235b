"""Shared helpers of the data tests: deterministic frames, file digests, damaged files.

(CLI runs: :mod:`tests.cli_helpers`.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np

from mlmd.data import Frame

#: The reference method of the test datasets.
REF = {"name": "teacher", "potential": "vashishta1994"}


def make_frame(i: int, labelled: bool = True, n_min: int = 4) -> Frame:
    """Frame number ``i`` of a deterministic family (random float64 values, ragged sizes)."""
    rng = np.random.default_rng(1000 + i)
    n = n_min + i % 5
    frame = Frame(
        numbers=rng.choice([8, 14], n),
        positions=rng.normal(size=(n, 3)) * 7.0,
        cell=np.diag(rng.uniform(8, 12, 3)) + rng.normal(size=(3, 3)) * 0.3,
        pbc=[True, True, bool(i % 2)],
        source=f"test:{i}",
    )
    if not labelled:
        return frame
    stress = rng.normal(size=(3, 3)) * 1e-2
    return frame.with_labels(
        energy=float(rng.normal() * 100), forces=rng.normal(size=(n, 3)), stress=stress + stress.T
    )


def same_frame(a: Frame, b: Frame) -> bool:
    """True when every array and label is bit-identical (NaN equal to NaN)."""
    arrays = ("numbers", "positions", "cell", "pbc", "forces", "stress")
    return (
        all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True) for k in arrays)
        and (a.energy == b.energy or (np.isnan(a.energy) and np.isnan(b.energy)))
        and (a.status, a.key, a.weight) == (b.status, b.key, b.weight)
    )


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def damage(path, action) -> None:
    """Apply ``action(h5py.File)`` to the closed dataset file at ``path``."""
    with h5py.File(path, "r+") as f:
        action(f)
