"""A harmonic crystal for the property tests: nearest-neighbour springs on an fcc lattice.

E = Σ_pairs ½ k (r − r₀)² for neighbours closer than the switch (between the first and second
shells), as an mlmd potential (per-atom energies from edge vectors). With nearest-neighbour
distance r₀ the fcc cube edge is a = √2 r₀ and (central springs, every atom a centre of
inversion, so no internal relaxation)::

    C11 = 2k/a,  C12 = C44 = k/a,  K = (C11 + 2 C12)/3 = 4k/(3a)
"""

from __future__ import annotations

import numpy as np
import torch
from ase.build import bulk

R0_A, K_EV_A2 = 2.5, 2.0
A_CUBIC = np.sqrt(2.0) * R0_A
#: Analytic constants (eV/Å³).
C11, C12, C44 = 2 * K_EV_A2 / A_CUBIC, K_EV_A2 / A_CUBIC, K_EV_A2 / A_CUBIC


class Springs(torch.nn.Module):
    """½ k (r − r₀)² per nearest-neighbour pair, switched off smoothly over [3.0, 3.3] Å."""

    def __init__(self, k_eV_A2: float = K_EV_A2, r0_A: float = R0_A):
        super().__init__()
        self.cutoff_A = 3.3
        self.receptive_field_A = 3.3
        self.species = [18]
        self.k, self.r0 = k_eV_A2, r0_A

    def forward(self, graph, edge_vectors):
        r = edge_vectors.norm(dim=1)
        t = ((r - 3.0) / 0.3).clamp(0.0, 1.0)
        switch = 1.0 - t * t * (3.0 - 2.0 * t)
        pair = 0.25 * self.k * (r - self.r0) ** 2 * switch  # half of each pair per atom
        out = torch.zeros(graph.n_atoms, dtype=edge_vectors.dtype, device=edge_vectors.device)
        return out.index_add(0, graph.edge_index[0], pair)


def fcc(repeat: int = 2):
    """The ideal harmonic fcc crystal (argon masses), ``repeat``³ cubic cells."""
    return bulk("Ar", "fcc", a=A_CUBIC, cubic=True).repeat(repeat)
