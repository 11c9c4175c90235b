"""Neighbour lists (full lists: every pair appears as i→j and j→i) built with vesin.

vesin's cell list measured 14–22 ms for 10k SiO2 atoms at 5 Å here, 35–50× faster than
ASE's (DESIGN §9), and handles any triclinic cell and mixed periodicity.
"""

from __future__ import annotations

import numpy as np
from vesin import NeighborList


def neighbour_list(
    positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray | bool, cutoff_A: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ordered pairs (i, j) with |r_j − r_i + shift| < cutoff.

    Args:
        positions: [n, 3] Å.
        cell: [3, 3] Å, rows are lattice vectors (ignored along non-periodic axes).
        pbc: periodicity per axis.
        cutoff_A: cutoff radius in Å.

    Returns:
        ``i`` [E] int64, ``j`` [E] int64, ``shifts`` [E, 3] float64 Cartesian shift in Å so
        that the edge vector is ``positions[j] - positions[i] + shifts``.
    """
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    cell = np.asarray(cell, dtype=np.float64)
    if not pbc.any():
        cell = np.zeros((3, 3))
    i, j, S = NeighborList(cutoff=float(cutoff_A), full_list=True).compute(
        positions, cell, [bool(p) for p in pbc], quantities="ijS"
    )
    return i.astype(np.int64), j.astype(np.int64), S.astype(np.float64) @ cell
