"""Ring statistics of a network glass (silica: rings of corner-sharing SiO4 tetrahedra; a-Si:
rings of Si–Si bonds).

The caller says which pairs are bonds (rings make sense for network formers only). Nodes are
the network formers; with a "former-bridge" link (Si-O) two formers are linked when they
share a bridging atom within the bond cutoff, with a "former-former" link (Si-Si) when they
are bonded directly. For every link a–b, the smallest ring through it is 1 + the length
of the shortest path from a to b that does not use the link (Guttman's shortest-path
criterion, counted per link); ring sizes are numbers of Si. The search is a breadth-first
expansion run for a block of links at once as sparse-matrix products (one boolean row per
link), so it is vectorised; cost ∝ links × nodes × max_size per frame, which is why only a
few frames are analysed. In a periodic cell a "ring" longer than about the cell width /
3.1 Å can close through the boundary; compare ring sizes below that.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from mlmd.analysis.angles import triplet_angles


def network_links(
    centre: np.ndarray,
    neighbour: np.ndarray,
    vectors: np.ndarray,
    kind: np.ndarray,
    *,
    former: int,
    bridge: int,
    cutoff_A: float,
) -> np.ndarray:
    """Unique former–former links [L,2] (a < b) through a shared bridge (from a bond list),
    or direct former–former bonds when ``bridge == former``."""
    d = np.linalg.norm(vectors, axis=1)
    if bridge == former:
        sel = (kind[centre] == former) & (kind[neighbour] == former) & (d < cutoff_A)
        sel &= centre < neighbour
        links = np.stack([centre[sel], neighbour[sel]], axis=1)
        return np.unique(links, axis=0) if len(links) else np.zeros((0, 2), dtype=np.int64)
    sel = (kind[centre] == bridge) & (kind[neighbour] == former) & (d < cutoff_A)
    _, a, b, _ = triplet_angles(centre[sel], neighbour[sel], vectors[sel], len(kind))
    links = np.sort(np.stack([a, b], axis=1), axis=1)
    links = links[links[:, 0] != links[:, 1]]
    return np.unique(links, axis=0) if len(links) else np.zeros((0, 2), dtype=np.int64)


def smallest_rings(
    links: np.ndarray, n_nodes: int, max_size: int = 12, block: int = 1024
) -> np.ndarray:
    """Histogram [max_size + 1] of links by the size of the smallest ring through them
    (index 0: no ring of ≤ ``max_size`` nodes)."""
    hist = np.zeros(max_size + 1, dtype=np.int64)
    if len(links) == 0:
        return hist
    ones = np.ones(2 * len(links), dtype=np.int8)
    rows = np.concatenate([links[:, 0], links[:, 1]])
    cols = np.concatenate([links[:, 1], links[:, 0]])
    adjacency = sparse.csr_matrix((ones, (rows, cols)), shape=(n_nodes, n_nodes), dtype=np.int8)
    for start in range(0, len(links), block):
        a, b = links[start : start + block, 0], links[start : start + block, 1]
        m = len(a)
        r = np.arange(m)
        visited = np.zeros((m, n_nodes), dtype=bool)
        visited[r, a] = True
        frontier = np.zeros((m, n_nodes), dtype=bool)
        frontier[r, a] = True
        size = np.zeros(m, dtype=np.int64)
        for hops in range(1, max_size):
            reached = (sparse.csr_matrix(frontier, dtype=np.int8) @ adjacency).toarray() > 0
            if hops == 1:
                reached[r, b] = False  # the path may not use the link itself
            reached &= ~visited
            found = reached[r, b] & (size == 0)
            size[found] = hops + 1
            visited |= reached
            frontier = reached
            frontier[size > 0] = False
            if not frontier.any():
                break
        hist += np.bincount(size, minlength=max_size + 1)[: max_size + 1]
    return hist


class RingAccumulator:
    """Ring statistics over frames of a network: ``former`` nodes linked through ``bridge``
    atoms (or directly when ``bridge == former``) closer than ``cutoff_A`` to both."""

    def __init__(
        self,
        labels: list[str],
        kind: np.ndarray,
        former: str,
        bridge: str,
        cutoff_A: float,
        *,
        max_size: int = 12,
    ):
        self.kind = np.asarray(kind)
        self.former, self.bridge = labels.index(former), labels.index(bridge)
        self.names = (former, bridge)
        self.cutoff, self.max_size = float(cutoff_A), max_size
        self.hist = np.zeros(max_size + 1, dtype=np.int64)
        self.n_frames = 0

    def add_bonds(self, i: np.ndarray, j: np.ndarray, vectors: np.ndarray) -> None:
        """Add one frame's full bond list (vectors [E,3] Å)."""
        links = network_links(
            i, j, vectors, self.kind, former=self.former, bridge=self.bridge, cutoff_A=self.cutoff
        )
        compact = np.cumsum(self.kind == self.former) - 1  # atom index → former index
        n_formers = int((self.kind == self.former).sum())
        self.hist += smallest_rings(compact[links], n_formers, self.max_size)
        self.n_frames += 1

    @staticmethod
    def work(n_formers: int) -> float:
        """≈ links × nodes of one frame (two links per former in a tetrahedral network)."""
        return 2.0 * n_formers * n_formers

    def result(self) -> dict:
        total = self.hist.sum()
        sizes = {
            str(n): float(self.hist[n] / total) for n in range(1, len(self.hist)) if self.hist[n]
        }
        a, b = self.names
        via = f"bonded directly ({a}-{b}" if a == b else f"linked through shared {b} ({a}-{b}"
        return {
            "network": f"{a} {via} < {self.cutoff:.2f} Å)",
            "criterion": "smallest ring through each link (Guttman shortest path), size in "
            f"{self.names[0]} atoms",
            "n_frames": self.n_frames,
            "links_per_frame": float(total / max(self.n_frames, 1)),
            "fraction_by_size": sizes,
            "fraction_without_ring_up_to_max": float(self.hist[0] / total) if total else None,
            "max_size": self.max_size,
            "mean_size": float(sum(int(n) * f for n, f in sizes.items()) / sum(sizes.values()))
            if sizes
            else None,
        }
