"""Voronoi indices ⟨n3, n4, n5, n6, …⟩ of atoms (n_k = faces with k edges of the atom's cell),
and the fraction of full icosahedra ⟨0,0,12,0⟩ (the Cu-centred clusters of Cu–Zr glasses).

The tessellation is the standard (not radical, i.e. unweighted) Voronoi tessellation of
``scipy.spatial.Voronoi`` (Qhull). A periodic cell is handled with images: every atom whose
image lies within ``margin`` of the cell (perpendicular to each face) is added as a ghost,
and the result is checked: a centre's cell is exact when twice its largest vertex distance is
within the margin (no atom farther away can cut it); otherwise the margin grows and the
tessellation is redone. Degenerate vertices (a perfect fcc crystal puts six cells around one
vertex; Qhull then returns coincident vertices) are merged within ``tol`` × the mean atomic
spacing, and faces that collapse to under three vertices, or whose area is below
``min_face_area_A2``, are dropped. The default threshold is 0: no small faces are removed
(OVITO's default too); thermal noise then splits some vertices, so a glass at finite T shows
fewer ⟨0,0,12,0⟩ than with a threshold — state the threshold with the numbers.
"""

from __future__ import annotations

import collections
import math

import numpy as np
from scipy.spatial import Voronoi

from mlmd.errors import InputError

#: The full icosahedron: twelve pentagonal faces.
ICOSAHEDRON = (0, 0, 12, 0)
#: Faces with more edges than this are pooled into the last column.
MAX_EDGES = 10


def _images(positions: np.ndarray, cell: np.ndarray, margin: float):
    """Wrapped positions [N,3] and ghosts: (points [M,3], atom index [M]); the first N points
    are the atoms themselves."""
    inv = np.linalg.inv(cell)
    frac = positions @ inv
    frac -= np.floor(frac)
    widths = abs(np.linalg.det(cell)) / np.linalg.norm(
        np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1
    )
    m = margin / widths  # fractional margin per axis
    reach = np.ceil(m).astype(int)
    points, owner = [frac], [np.arange(len(frac))]
    for shift in np.ndindex(*(2 * reach + 1)):
        s = np.array(shift) - reach
        if not s.any():
            continue
        f = frac + s
        keep = np.all((f >= -m) & (f <= 1 + m), axis=1)
        points.append(f[keep])
        owner.append(np.flatnonzero(keep))
    return np.concatenate(points) @ cell, np.concatenate(owner)


def _face_edges(verts: np.ndarray, normal: np.ndarray, merge: float, min_area: float) -> int:
    """Edges of one Voronoi face (its distinct vertices), 0 when it has no area."""
    if len(verts) < 3:
        return 0
    keys = np.round(verts / merge).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    verts = verts[np.sort(first)]
    if len(verts) < 3:
        return 0
    centre = verts.mean(axis=0)
    u = verts[0] - centre
    u -= normal * (u @ normal)
    u /= np.linalg.norm(u)
    w = np.cross(normal, u)
    d = verts - centre
    ring = verts[np.argsort(np.arctan2(d @ w, d @ u))] - centre
    area = 0.5 * np.linalg.norm(np.cross(ring, np.roll(ring, -1, axis=0)).sum(axis=0))
    return len(verts) if area > min_area else 0


def voronoi_indices(
    positions: np.ndarray,
    cell: np.ndarray | None = None,
    pbc: np.ndarray | bool = True,
    centres: np.ndarray | None = None,
    *,
    margin_A: float | None = None,
    min_face_area_A2: float = 0.0,
    tol: float = 1e-5,
) -> np.ndarray:
    """Voronoi index of each centre atom: counts [C, MAX_EDGES − 2] of faces with 3, 4, …,
    MAX_EDGES (or more) edges.

    Args:
        positions: [N,3] Å; cell: [3,3] Å rows (periodic in all three directions when
            ``pbc``; a cluster without a cell when ``pbc`` is False).
        centres: atom indices to report (default all); for a cluster they must have
            bounded cells (inner atoms).
        margin_A: ghost depth (default 3.5 × the mean atomic spacing, grown as needed).
        min_face_area_A2: faces smaller than this are not counted (default 0).
        tol: vertices closer than tol × mean spacing are one vertex.
    """
    positions = np.asarray(positions, dtype=float)
    n = len(positions)
    centres = np.arange(n) if centres is None else np.asarray(centres, dtype=np.int64)
    periodic = bool(np.all(pbc)) and cell is not None
    if periodic:
        cell = np.asarray(cell, dtype=float)
        spacing = (abs(np.linalg.det(cell)) / n) ** (1 / 3)
    else:
        spacing = float(np.ptp(positions, axis=0).max()) / max(n, 2) ** (1 / 3)
    margin = margin_A or 3.5 * spacing
    for _ in range(6):
        points = _images(positions, cell, margin)[0] if periodic else positions
        counts, reach = _cell_faces(points, centres, spacing * tol, min_face_area_A2)
        if not periodic and not math.isfinite(reach):
            raise InputError(
                "a centre of the cluster has an unbounded Voronoi cell (it is on the surface)",
                field="voronoi centres",
                fix="ask for inner atoms only, or give a periodic cell",
            )
        if not periodic or 2 * reach <= margin:
            return counts
        margin = 1.5 * margin if not math.isfinite(reach) else max(1.5 * margin, 2.05 * reach)
    raise InputError(
        f"Voronoi cells reach {reach:.2f} Å: images within {margin:.2f} Å did not bound them",
        field="voronoi",
        fix="check the positions (a gas or a vacuum gap has unbounded cells)",
    )


def _merged_vertices(vertices: np.ndarray, merge: float) -> np.ndarray:
    """[V] representative of each Voronoi vertex: vertices within ``merge`` are one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(vertices).query_pairs(merge, output_type="ndarray")
    n = len(vertices)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _cell_faces(points: np.ndarray, centres: np.ndarray, merge: float, min_area: float):
    """(face-edge counts [C, MAX_EDGES − 2], largest vertex distance of any centre's cell)."""
    vor = Voronoi(points)
    row = np.full(len(points), -1, dtype=np.int64)
    row[centres] = np.arange(len(centres))
    ridges = np.flatnonzero((row[vor.ridge_points] >= 0).any(axis=1))
    lists = [vor.ridge_vertices[r] for r in ridges]
    sizes = np.array([len(v) for v in lists])
    flat = np.concatenate([np.asarray(v, dtype=np.int64) for v in lists])
    owner = np.repeat(np.arange(len(ridges)), sizes)  # position in ``ridges`` of each vertex
    if (flat < 0).any():
        return np.zeros((len(centres), MAX_EDGES - 2), dtype=np.int64), math.inf
    rep = _merged_vertices(vor.vertices, merge)[flat]
    distinct = np.unique(np.stack([owner, rep], axis=1), axis=0)
    edges = np.bincount(distinct[:, 0], minlength=len(ridges))
    if min_area > 0:
        edges = np.array(
            [
                _area_checked(vor, r, e, points, merge=merge, min_area=min_area)
                for r, e in zip(ridges, edges, strict=True)
            ]
        )
    counts = np.zeros((len(centres), MAX_EDGES - 2), dtype=np.int64)
    reach = 0.0
    for side in (0, 1):
        atom = vor.ridge_points[ridges, side]
        mine = row[atom] >= 0
        face = mine & (edges >= 3)
        np.add.at(counts, (row[atom[face]], np.minimum(edges[face], MAX_EDGES) - 3), 1)
        inside = mine[owner]
        if inside.any():
            d = np.linalg.norm(vor.vertices[flat[inside]] - points[atom[owner[inside]]], axis=1)
            reach = max(reach, float(d.max()))
    return counts, reach


def _area_checked(vor, r: int, edges: int, points, *, merge: float, min_area: float) -> int:
    """``edges`` of ridge ``r``, or 0 when its area is below ``min_area``."""
    if edges < 3:
        return 0
    p, q = vor.ridge_points[r]
    normal = points[q] - points[p]
    return _face_edges(
        vor.vertices[vor.ridge_vertices[r]], normal / np.linalg.norm(normal), merge, min_area
    )


def index_label(counts: np.ndarray) -> str:
    """⟨n3,n4,n5,n6⟩ (longer when the cell has faces of more than six edges)."""
    last = max(4, int(np.flatnonzero(counts)[-1]) + 1 if counts.any() else 4)
    return "<" + ",".join(str(int(c)) for c in counts[:last]) + ">"


def index_fraction(indices: np.ndarray, index: tuple[int, ...] = ICOSAHEDRON) -> float:
    """Fraction of rows of ``indices`` [C, K] equal to ``index`` (zeros beyond it)."""
    target = np.zeros(indices.shape[1], dtype=np.int64)
    target[: len(index)] = index
    return float(np.all(indices == target, axis=1).mean()) if len(indices) else float("nan")


class VoronoiAccumulator:
    """Voronoi index statistics over frames, per centre species.

    Args:
        labels: species labels; ``kind`` [N] each atom's index into them.
        centres: labels of the centre species to report (default all).
        min_face_area_A2: see :func:`voronoi_indices`.
    """

    def __init__(self, labels, kind, centres=(), min_face_area_A2: float = 0.0):
        self.labels, self.kind = list(labels), np.asarray(kind)
        self.centres = list(centres) or list(labels)
        self.min_face_area = float(min_face_area_A2)
        self._hist = {c: collections.Counter() for c in self.centres}
        self.n_frames = 0

    def add(self, positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray) -> None:
        atoms = np.flatnonzero(np.isin(self.kind, [self.labels.index(c) for c in self.centres]))
        counts = voronoi_indices(positions, cell, pbc, atoms, min_face_area_A2=self.min_face_area)
        for row, atom in zip(counts, atoms, strict=True):
            self._hist[self.labels[self.kind[atom]]][index_label(row)] += 1
        self.n_frames += 1

    def result(self, top: int = 10) -> dict:
        out = {
            "tessellation": "standard (unweighted) Voronoi, scipy.spatial.Voronoi with "
            "periodic images",
            "min_face_area_A2": self.min_face_area,
            "n_frames": self.n_frames,
            "centres": {},
        }
        ico = index_label(np.array(ICOSAHEDRON))
        for centre, hist in self._hist.items():
            total = sum(hist.values())
            if not total:
                continue
            out["centres"][centre] = {
                "n_per_frame": total / self.n_frames,
                "icosahedral_fraction": hist.get(ico, 0) / total,
                "top": [{"index": k, "fraction": v / total} for k, v in hist.most_common(top)],
            }
        return out
