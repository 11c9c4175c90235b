"""Shared structures and the CP2K availability check for the reference tests."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from mlmd.data import Dataset, Frame
from mlmd.data.build import sio2_crystal

CP2K_FOUND = bool(os.environ.get("MLMD_CP2K") or shutil.which("cp2k.psmp") or shutil.which("cp2k"))
#: Ranks per CP2K run in tests: 2 under Debian's Open MPI when it is there, else 1.
CP2K_RANKS = 2 if shutil.which("mpiexec.openmpi") else 1

needs_cp2k = pytest.mark.skipif(
    not CP2K_FOUND,
    reason="CP2K NOT FOUND: the real-DFT reference tests did not run "
    "(apt-get install cp2k, or set $MLMD_CP2K)",
)


def quartz() -> Frame:
    """9-atom alpha-quartz (Levien et al. 1980; notes/sio2.md), 2.646 g/cm³."""
    q = sio2_crystal("quartz")
    return Frame(q.numbers, q.positions, q.cell, q.pbc, source="alpha-quartz")


def cristobalite_frames(n: int, seed: int = 0, repeat: int = 1, sigma_A: float = 0.08):
    """``n`` rattled ideal beta-cristobalite cells (24 atoms × repeat³), distinct keys."""
    c = sio2_crystal("cristobalite", (repeat, repeat, repeat))
    rng = np.random.default_rng(seed)
    return [
        Frame(
            c.numbers,
            c.positions + rng.normal(0.0, sigma_A, c.positions.shape),
            c.cell,
            c.pbc,
            source="cristobalite",
        )
        for _ in range(n)
    ]


def write_unlabelled(path, frames) -> Dataset:
    """A dataset of ``frames`` (unlabelled) at ``path``."""
    ds = Dataset.create(path, {"name": "none"})
    ds.append([f.unlabelled() for f in frames])
    return ds
