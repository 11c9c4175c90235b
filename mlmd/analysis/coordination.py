"""Coordination numbers and their distributions (e.g. the SiO4 fraction of a silica glass).

The coordination of a centre atom of species a by species b is the number of b atoms closer
than the cutoff r_ab (given, or the first minimum of g_ab). Bonds come from one vesin full
neighbour list per frame at the largest cutoff (each centre sees all its neighbours): O(N).
"""

from __future__ import annotations

import numpy as np
from vesin import NeighborList


def bonds(
    positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray, cutoff_A: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ordered pairs closer than ``cutoff_A``: centre ``i`` [E], neighbour ``j`` [E] and
    bond vectors ``r_j − r_i`` [E,3] Å (minimum image, any triclinic cell).

    The same full list as :func:`mlmd.potential.neighbour_list`, asked of vesin for the
    vectors directly: its shifts @ cell product cost a third of the bond pass here.
    """
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    i, j, vectors = NeighborList(cutoff=float(cutoff_A), full_list=True).compute(
        np.ascontiguousarray(positions, dtype=np.float64),
        np.asarray(cell, dtype=np.float64) if pbc.any() else np.zeros((3, 3)),
        [bool(p) for p in pbc],
        quantities="ijD",
    )
    return i.astype(np.int64), j.astype(np.int64), vectors


class CoordinationAccumulator:
    """Histograms of coordination numbers per (centre, neighbour) species pair.

    Args:
        labels: species labels; ``kind`` [N] index of each atom into them.
        cutoffs_A: {("Si", "O"): 2.3, ...} ordered (centre, neighbour) pairs to count.
        max_count: counts above this are pooled into the last value.
    """

    def __init__(
        self,
        labels: list[str],
        kind: np.ndarray,
        cutoffs_A: dict[tuple[str, str], float],
        max_count: int = 24,
    ):
        self.labels, self.kind = labels, np.asarray(kind)
        self.cutoffs = dict(cutoffs_A)
        self.max_count = max_count
        self._hist = {pair: np.zeros(max_count + 1, dtype=np.int64) for pair in self.cutoffs}
        self.n_frames = 0

    @property
    def r_max(self) -> float:
        return max(self.cutoffs.values(), default=0.0)

    def add_bonds(self, i: np.ndarray, j: np.ndarray, distance: np.ndarray) -> None:
        """Add one frame's full bond list (``distance`` [E] Å)."""
        n = len(self.kind)
        ki, kj = self.kind[i], self.kind[j]
        for (a, b), rc in self.cutoffs.items():
            ka, kb = self.labels.index(a), self.labels.index(b)
            sel = (ki == ka) & (kj == kb) & (distance < rc)
            counts = np.bincount(i[sel], minlength=n)[self.kind == ka]
            self._hist[(a, b)] += np.bincount(
                np.minimum(counts, self.max_count), minlength=self.max_count + 1
            )
        self.n_frames += 1

    def result(self, sources: dict[tuple[str, str], str] | None = None) -> dict[str, dict]:
        """{"Si-O": {"cutoff_A", "cutoff_source", "mean", "std", "distribution": {"4": f}}}."""
        out = {}
        for (a, b), hist in self._hist.items():
            total = hist.sum()
            if total == 0:
                continue
            values = np.arange(len(hist))
            p = hist / total
            mean = float((values * p).sum())
            out[f"{a}-{b}"] = {
                "centre": a,
                "neighbour": b,
                "cutoff_A": float(self.cutoffs[(a, b)]),
                "cutoff_source": (sources or {}).get((a, b), "given"),
                "mean": mean,
                "std": float(np.sqrt(((values - mean) ** 2 * p).sum())),
                "distribution": {str(int(v)): float(p[v]) for v in np.nonzero(hist)[0]},
            }
        return out
