"""Bond-angle distributions X–C–Y (e.g. O–Si–O and Si–O–Si) with mean and standard deviation.

For every centre atom C, every pair of its bonded neighbours (X, Y) gives one angle. A bond is
a pair closer than its species-pair cutoff, for the pairs the caller passes: the report passes
every pair with a cutoff, so every triplet type appears (SiO2: O–Si–O, Si–O–Si, O–O–O, ...),
or only the pairs of ``angle_bonds`` (e.g. Si–O: the network angles). Vectorised by grouping
centres of equal degree: O(N) per frame.
"""

from __future__ import annotations

import numpy as np


def triplet_angles(
    centre: np.ndarray, neighbour: np.ndarray, vectors: np.ndarray, n_atoms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All neighbour pairs of each centre from a bond list.

    Args:
        centre, neighbour: [E] atom indices of each bond; vectors: [E,3] bond vectors Å.

    Returns:
        ``c`` [A] centre atom, ``j``, ``k`` [A] the two neighbours, ``angle`` [A] degrees.
    """
    order = np.argsort(centre, kind="stable")
    centre, neighbour, vectors = centre[order], neighbour[order], vectors[order]
    degree = np.bincount(centre, minlength=n_atoms)
    start = np.cumsum(degree) - degree
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    parts: list[tuple[np.ndarray, ...]] = []
    for d in np.unique(degree[degree >= 2]):
        centres = np.nonzero(degree == d)[0]
        rows = start[centres][:, None] + np.arange(d)  # [n_c, d] bonds of each centre
        a, b = np.triu_indices(int(d), 1)
        cos = np.einsum("cpx,cpx->cp", unit[rows[:, a]], unit[rows[:, b]])
        parts.append(
            (
                np.repeat(centres, len(a)),
                neighbour[rows[:, a]].ravel(),
                neighbour[rows[:, b]].ravel(),
                np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).ravel(),
            )
        )
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0)
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]


def angle_label(labels: list[str], x: int, c: int, y: int) -> str:
    x, y = sorted((x, y))
    return f"{labels[x]}-{labels[c]}-{labels[y]}"


class AngleAccumulator:
    """Histograms (0–180°) of bond angles per type X–C–Y, with exact running mean and std.

    Args:
        labels: species labels; ``kind`` [N] per atom.
        bond_cutoffs_A: {("Si", "O"): 2.3, ...} (symmetric; either order) bonds used.
        bin_deg: histogram bin width in degrees.
    """

    def __init__(
        self,
        labels: list[str],
        kind: np.ndarray,
        bond_cutoffs_A: dict[tuple[str, str], float],
        bin_deg: float = 1.0,
    ):
        self.labels, self.kind = labels, np.asarray(kind)
        ns = len(labels)
        self.table = np.zeros((ns, ns))  # 0 = not a bond
        for (a, b), rc in bond_cutoffs_A.items():
            ka, kb = labels.index(a), labels.index(b)
            self.table[ka, kb] = self.table[kb, ka] = rc
        self.edges = np.linspace(0.0, 180.0, int(round(180.0 / bin_deg)) + 1)
        n_types = ns * ns * ns
        self._hist = np.zeros((n_types, len(self.edges) - 1), dtype=np.int64)
        self._sum = np.zeros(n_types)
        self._sum2 = np.zeros(n_types)
        self.n_frames = 0

    @property
    def r_max(self) -> float:
        return float(self.table.max())

    def add_bonds(self, i: np.ndarray, j: np.ndarray, vectors: np.ndarray) -> None:
        """Add one frame's full bond list (vectors [E,3] Å, any cutoff ≥ the bond cutoffs)."""
        ki, kj = self.kind[i], self.kind[j]
        d = np.linalg.norm(vectors, axis=1)
        keep = d < self.table[ki, kj]
        c, x, y, angle = triplet_angles(i[keep], j[keep], vectors[keep], len(self.kind))
        ns = len(self.labels)
        kx, ky = np.minimum(self.kind[x], self.kind[y]), np.maximum(self.kind[x], self.kind[y])
        t = (kx * ns + self.kind[c]) * ns + ky
        b = np.minimum(np.searchsorted(self.edges, angle, side="right") - 1, len(self.edges) - 2)
        nb = len(self.edges) - 1
        self._hist += np.bincount(t * nb + b, minlength=self._hist.size).reshape(self._hist.shape)
        shifted = angle - 90.0  # moments about 90° lose less to cancellation
        self._sum += np.bincount(t, weights=shifted, minlength=len(self._sum))
        self._sum2 += np.bincount(t, weights=shifted**2, minlength=len(self._sum))
        self.n_frames += 1

    def result(self) -> dict[str, dict]:
        """{"O-Si-O": {"mean_deg", "std_deg", "mode_deg", "n_per_frame", "centres", "density"
        [bins] (normalised to unit area in 1/deg), "edges_deg"}} for types that occur."""
        ns, out = len(self.labels), {}
        centres = (self.edges[1:] + self.edges[:-1]) / 2
        width = np.diff(self.edges)
        for t in np.nonzero(self._hist.sum(axis=1))[0]:
            kx, rest = divmod(int(t), ns * ns)
            kc, ky = divmod(rest, ns)
            n = self._hist[t].sum()
            mean = self._sum[t] / n
            out[angle_label(self.labels, kx, kc, ky)] = {
                "mean_deg": float(mean + 90.0),
                "std_deg": float(np.sqrt(max(self._sum2[t] / n - mean**2, 0.0))),
                "mode_deg": float(centres[np.argmax(self._hist[t])]),
                "n_per_frame": float(n / max(self.n_frames, 1)),
                "centres_deg": centres,
                "density": self._hist[t] / (n * width),
            }
        return out
