"""The graph a potential sees: atoms (owned and ghost), directed edges and their shifts.

One graph may hold several systems (a training batch) or one rank's brick of a decomposed
MD run (owned atoms plus ghosts). Edges point from a centre ``i`` to a neighbour ``j``; the
edge vector is ``positions[j] - positions[i] + shifts`` (Å). Only owned atoms contribute
energy, so a graph needs edges only for owned centres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from mlmd.potential.neighbours import neighbour_list


@dataclass(frozen=True)
class Graph:
    """Tensors of one graph. Positions and shifts are float64; indices int64.

    Attributes:
        positions: [n, 3] Å.
        numbers: [n] atomic numbers.
        edge_index: [2, E] (centre i, neighbour j).
        shifts: [E, 3] Å, Cartesian periodic shift of each edge.
        owned: [n] bool; per-atom energies of non-owned (ghost) atoms are ignored.
        system: [n] index of the system each atom belongs to.
        cell: [n_systems, 3, 3] Å (zeros for a non-periodic system); used for volumes only.
    """

    positions: torch.Tensor
    numbers: torch.Tensor
    edge_index: torch.Tensor
    shifts: torch.Tensor
    owned: torch.Tensor
    system: torch.Tensor
    cell: torch.Tensor

    @property
    def n_atoms(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_systems(self) -> int:
        return int(self.cell.shape[0])

    @property
    def device(self) -> torch.device:
        return self.positions.device

    def edge_vectors(self) -> torch.Tensor:
        """[E, 3] Å: r_j − r_i + shift for every edge."""
        i, j = self.edge_index
        return self.positions[j] - self.positions[i] + self.shifts

    def to(self, device: torch.device | str) -> Graph:
        """The same graph on another device."""
        return replace(self, **{k: v.to(device) for k, v in self.__dict__.items()})


def graph_from_arrays(
    systems: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    cutoff_A: float,
    device: torch.device | str = "cpu",
) -> Graph:
    """Batch periodic systems given as (numbers, positions, cell, pbc) into one graph.

    Every atom is owned; periodic images enter through the edge shifts.
    """
    parts: dict[str, list] = {k: [] for k in ("pos", "num", "ei", "sh", "sys", "cell")}
    offset = 0
    for s, (numbers, positions, cell, pbc) in enumerate(systems):
        pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
        cell = np.where(pbc[:, None], np.asarray(cell, dtype=np.float64), 0.0)
        i, j, shifts = neighbour_list(positions, cell, pbc, cutoff_A)
        parts["pos"].append(np.asarray(positions, dtype=np.float64))
        parts["num"].append(np.asarray(numbers, dtype=np.int64))
        parts["ei"].append(np.stack([i, j]) + offset)
        parts["sh"].append(shifts)
        parts["sys"].append(np.full(len(numbers), s, dtype=np.int64))
        parts["cell"].append(cell)
        offset += len(numbers)

    def cat(key: str, axis: int = 0) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(parts[key], axis=axis)).to(device)

    n = offset
    return Graph(
        positions=cat("pos"),
        numbers=cat("num"),
        edge_index=cat("ei", axis=1),
        shifts=cat("sh"),
        owned=torch.ones(n, dtype=torch.bool, device=device),
        system=cat("sys"),
        cell=torch.from_numpy(np.stack(parts["cell"])).to(device),
    )


def graph_from_frames(
    frames: Sequence, cutoff_A: float, device: torch.device | str = "cpu"
) -> Graph:
    """Batch :class:`mlmd.data.Frame` objects (or anything with numbers/positions/cell/pbc)."""
    return graph_from_arrays(
        [(f.numbers, f.positions, f.cell, f.pbc) for f in frames], cutoff_A, device
    )


def graph_from_atoms(
    atoms_list: Sequence, cutoff_A: float, device: torch.device | str = "cpu"
) -> Graph:
    """Batch ASE ``Atoms`` objects into one graph."""
    return graph_from_arrays(
        [(a.numbers, a.positions, a.cell.array, a.pbc) for a in atoms_list], cutoff_A, device
    )
