"""Test kit for the MD engine: a smooth Morse pair potential and small start structures."""

from __future__ import annotations

import numpy as np
import torch
from ase.build import bulk


class Morse(torch.nn.Module):
    """A real, smooth pair potential (half the pair energy on each atom), any species.

    V(r) = D[(1 − e^{−a(r − r0)})² − 1] · (1 − (r/rc)²)², so energy and force vanish at rc.
    """

    def __init__(
        self, cutoff_A: float = 5.0, depth_eV: float = 0.3, a: float = 1.3, r0: float = 2.6
    ):
        super().__init__()
        self.cutoff_A = cutoff_A
        self.receptive_field_A = cutoff_A
        self.species = [8, 14, 18]
        self.depth, self.a, self.r0 = depth_eV, a, r0

    def forward(self, graph, edge_vectors):
        r = edge_vectors.norm(dim=1)
        x = r / self.cutoff_A
        smooth = (1 - x**2) ** 2
        pair = 0.5 * self.depth * ((1 - torch.exp(-self.a * (r - self.r0))) ** 2 - 1) * smooth
        out = torch.zeros(graph.n_atoms, dtype=edge_vectors.dtype, device=edge_vectors.device)
        return out.index_add(0, graph.edge_index[0], pair)


def fcc_crystal(repeat=(4, 4, 4), a: float = 3.9, rattle: float = 0.05, seed: int = 0):
    """An fcc 'Morse argon' crystal (Ar numbers, orthorhombic cell), rattled."""
    atoms = bulk("Ar", "fcc", a=a, cubic=True).repeat(repeat)
    atoms.rattle(rattle, seed=seed)
    return atoms


def numbers_positions_cell(atoms):
    return atoms.numbers.copy(), atoms.positions.copy(), np.array(atoms.cell.array)
