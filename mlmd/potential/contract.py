"""The potential contract and the one function that turns per-atom energies into physics.

A potential is a ``torch.nn.Module`` with

- ``cutoff_A: float`` — the largest edge length it reads (Å);
- ``receptive_field_A: float`` — how far an atom's energy reaches (cutoff × message layers;
  equal to the cutoff for a strictly local model);
- ``species: list[int]`` — atomic numbers it knows;
- ``forward(graph, edge_vectors) -> Tensor[n_atoms]`` — per-atom energies in eV, reading
  positions **only** through ``edge_vectors`` ([E, 3] Å, ``graph.edge_vectors()``).

:func:`evaluate` differentiates the owned atoms' energy with respect to the edge vectors,
g_ij = ∂E/∂r_ij, and forms (float64 throughout)

    F_i = Σ_j g_ij − Σ_k g_ki        (forces on owned *and* ghost atoms; ghost forces are
                                      summed back to their owners by the MD engine)
    W   = −Σ_ij r_ij ⊗ g_ij           (virial, eV; per system)
    σ   = −W / V                      (ASE-sign stress, eV/Å³, periodic systems)

which holds for periodic cells and for decomposed domains alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from mlmd.potential.graph import Graph


@runtime_checkable
class Potential(Protocol):
    """What every mlmd potential provides (see module docstring)."""

    cutoff_A: float
    receptive_field_A: float
    species: list[int]

    def __call__(self, graph: Graph, edge_vectors: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class Evaluation:
    """Result of :func:`evaluate`. All float64.

    Attributes:
        energy: [n_systems] eV, sum of owned per-atom energies.
        per_atom_energy: [n_atoms] eV (ghost entries are computed but not summed).
        forces: [n_atoms, 3] eV/Å, or None when not requested.
        virial: [n_systems, 3, 3] eV, or None when not requested.
    """

    energy: torch.Tensor
    per_atom_energy: torch.Tensor
    forces: torch.Tensor | None
    virial: torch.Tensor | None

    def stress(self, cell: torch.Tensor) -> torch.Tensor:
        """[n_systems, 3, 3] ASE-sign stress in eV/Å³ for periodic cells [n_systems, 3, 3]."""
        if self.virial is None:
            raise ValueError("stress needs the virial: call evaluate(..., virial=True)")
        volume = torch.linalg.det(cell.to(torch.float64)).abs()
        return -self.virial / volume[:, None, None]


def evaluate(
    potential: torch.nn.Module,
    graph: Graph,
    *,
    forces: bool = True,
    virial: bool = True,
    create_graph: bool = False,
) -> Evaluation:
    """Energy, forces and virial of ``graph`` under ``potential`` (see module docstring).

    Args:
        create_graph: keep the autograd graph of forces/virial (for training on forces).
    """
    i, j = graph.edge_index
    vectors = graph.edge_vectors().to(torch.float64)
    need_grad = forces or virial
    if need_grad:
        vectors = vectors.detach().requires_grad_(True)
    per_atom = potential(graph, vectors).to(torch.float64)
    owned_energy = torch.where(graph.owned, per_atom, torch.zeros_like(per_atom))
    energy = torch.zeros(graph.n_systems, dtype=torch.float64, device=graph.device)
    energy = energy.index_add(0, graph.system, owned_energy)
    if not need_grad:
        return Evaluation(energy, per_atom, None, None)

    (g,) = torch.autograd.grad(
        owned_energy.sum(), vectors, create_graph=create_graph, allow_unused=True
    )
    if g is None:  # a potential with no edges in this graph
        g = torch.zeros_like(vectors)
    f = None
    if forces:
        f = torch.zeros_like(graph.positions, dtype=torch.float64)
        f = f.index_add(0, i, g).index_add(0, j, -g)
    w = None
    if virial:
        r = vectors if create_graph else vectors.detach()
        per_edge = -r.unsqueeze(2) * g.unsqueeze(1)
        w = torch.zeros(graph.n_systems, 3, 3, dtype=torch.float64, device=graph.device)
        w = w.index_add(0, graph.system[i], per_edge)
    return Evaluation(energy, per_atom, f, w)
