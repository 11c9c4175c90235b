"""The pairs of a Verlet list that are closer than a distance, with their vectors.

The MD engine runs this every step over its skin list, so its cost sits directly on top of
the potential's. On the CPU it is one compiled pass over the pairs (numba): a gather, a
compare and a compaction in a single loop, ~6× faster than the same work as torch
operations, which each write an array the size of the list. On other devices it is column
gathers in torch. Both keep the list's order and give bitwise the same result.
"""

from __future__ import annotations

import numba
import numpy as np
import torch


def pairs_within(positions: torch.Tensor, edges: torch.Tensor, reach_A: float):
    """The ``edges`` [2, E] (int64, centre then neighbour) shorter than ``reach_A``, in order.

    Args:
        positions: [n, 3] Å, float64, on the device of ``edges``.
    Returns:
        (edges [2, E'], vectors r_j − r_i [E', 3] Å, squared lengths [E'] Å²).
    """
    if positions.device.type == "cpu":
        return _within_compiled(positions, edges, reach_A)
    return _within_columns(positions, edges, reach_A)


def _within_compiled(positions: torch.Tensor, edges: torch.Tensor, reach_A: float):
    m = edges.shape[1]
    kept = np.empty((2, m), dtype=np.int64)
    vectors = np.empty((m, 3), dtype=np.float64)
    r2 = np.empty(m, dtype=np.float64)
    e = edges.numpy()
    n = _compact_within(positions.numpy(), e[0], e[1], reach_A**2, kept, vectors, r2)
    return (
        torch.from_numpy(np.ascontiguousarray(kept[:, :n])),  # as every Graph's edge_index
        torch.from_numpy(vectors[:n]),
        torch.from_numpy(r2[:n]),
    )


@numba.njit(cache=True, nogil=True)
def _compact_within(positions, i, j, reach2, kept, vectors, r2):  # noqa: PLR0917 — see docstring
    """Copy the pairs (i, j) with |r_j − r_i|² < ``reach2`` into the preallocated ``kept``
    [2, E], ``vectors`` [E, 3] and ``r2`` [E]; return how many. A numba kernel takes plain
    arrays (no dataclass), and it fills buffers rather than returning arrays: boxing arrays
    on return lets a pending Ctrl-C surface as a SystemError instead of KeyboardInterrupt."""
    n = 0
    for k in range(i.shape[0]):
        a, b = i[k], j[k]
        dx = positions[b, 0] - positions[a, 0]
        dy = positions[b, 1] - positions[a, 1]
        dz = positions[b, 2] - positions[a, 2]
        d2 = dx * dx + dy * dy + dz * dz
        if d2 < reach2:
            kept[0, n], kept[1, n] = a, b
            vectors[n, 0], vectors[n, 1], vectors[n, 2] = dx, dy, dz
            r2[n] = d2
            n += 1
    return n


def _within_columns(positions: torch.Tensor, edges: torch.Tensor, reach_A: float):
    # a 1-D gather per coordinate: a gather of 3-vector rows is several times slower
    i, j = edges
    columns = positions.T.contiguous()
    d = [torch.index_select(x, 0, j) - torch.index_select(x, 0, i) for x in columns]
    d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    keep = torch.nonzero(d2 < reach_A**2).squeeze(1)
    kept = torch.stack([torch.index_select(e, 0, keep) for e in edges])
    vectors = torch.stack([torch.index_select(x, 0, keep) for x in d], dim=1)
    return kept, vectors, torch.index_select(d2, 0, keep)
