"""The parameter-free per-frame part of :class:`~mlmd.potential.model.BodyOrderPotential`
and its analytic Jacobian.

For fixed positions the density, its analytic Jacobian's ingredients and the fixed core do
not depend on the weights: MD computes them once per step for all ensemble members, and
training once per frame for all epochs (:func:`mlmd.train.batch.with_edge_terms`).
:func:`edge_gradients` turns the density cotangents ∂E/∂A of any number of members into
edge gradients ∂E/∂r_ij with that Jacobian (the learned part only; the core adds its own).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mlmd.potential.radial import angular_gradient
from mlmd.potential.repulsion import CoreEdges, cat_core_edges


@dataclass(frozen=True)
class EdgeTerms:
    """Parameter-free per-frame quantities of the model (model dtype; ``core`` float64).

    Attributes:
        density: [n, 13, S·B] atomic density A. r: [E] Å. unit: [E, 3]. radial, d_radial:
        [E, B] R_n(r) and dR_n/dr (faded by 1 − S where the core acts). ang: [E, 13]
        angular tensors. slots: [E] density slot. core: the switch S, dS/dr and switched
        pair energy on the edges inside their pair's outer radius (None without core).
    """

    density: torch.Tensor
    r: torch.Tensor
    unit: torch.Tensor
    radial: torch.Tensor
    d_radial: torch.Tensor
    ang: torch.Tensor
    slots: torch.Tensor
    core: CoreEdges | None = None

    def to(self, device: torch.device | str) -> EdgeTerms:
        moved = {f: getattr(self, f) for f in self.__dataclass_fields__}
        return EdgeTerms(**{f: None if v is None else v.to(device) for f, v in moved.items()})


def cat_edge_terms(parts: list[EdgeTerms], n_atoms: list[int], n_species: int) -> EdgeTerms:
    """Concatenate the edge terms of several graphs (``n_atoms`` atoms each, ``n_species``
    species in the model) batched in this order."""
    offsets = [0]
    for n in n_atoms[:-1]:
        offsets.append(offsets[-1] + n)
    core = None  # all parts come from one model: all have a core or none has
    if parts[0].core is not None:
        core = cat_core_edges([p.core for p in parts], [len(p.r) for p in parts])
    return EdgeTerms(
        density=torch.cat([p.density for p in parts]),
        r=torch.cat([p.r for p in parts]),
        unit=torch.cat([p.unit for p in parts]),
        radial=torch.cat([p.radial for p in parts]),
        d_radial=torch.cat([p.d_radial for p in parts]),
        ang=torch.cat([p.ang for p in parts]),
        slots=torch.cat([p.slots + o * n_species for p, o in zip(parts, offsets, strict=True)]),
        core=core,
    )


def edge_gradients(g_a: torch.Tensor, slots: torch.Tensor, terms: EdgeTerms) -> torch.Tensor:
    """[K, E, 3] float64 edge gradients ∂E_k/∂r_ij (eV/Å) of the learned energy.

    ``g_a`` [K, n', 13, S·B] is ∂E_k/∂A / N̄ (A = Σ_j features / N̄; S·B species-major) for
    the n' density rows that ``slots`` [E] // S address; ``terms`` holds the per-edge basis.
    """
    k, nb = g_a.shape[0], terms.radial.shape[1]
    g_a = g_a.unflatten(-1, (g_a.shape[-1] // nb, nb))  # [K, n', 13, S, B]
    cot = g_a.permute(1, 3, 0, 2, 4).reshape(-1, k, 13, nb)  # [n'·S, K, 13, B]
    c_ang, c_drad = _edge_cotangents(cot, slots, terms.radial, terms.d_radial)
    radial_part = (c_drad * terms.ang[:, None, :]).sum(-1, keepdim=True)  # [E, K, 1]
    g = angular_gradient(c_ang, terms.unit, terms.r) + radial_part * terms.unit[:, None, :]
    return g.transpose(0, 1).to(torch.float64)


def _edge_cotangents(
    cot: torch.Tensor, slots: torch.Tensor, radial: torch.Tensor, d_radial: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-edge contractions of density cotangents ``cot`` [n·S, K, 13, B] over the radial
    index: c[e, k, m] = Σ_b cot[slot_e, k, m, b] R_b(r_e), and the same with dR_b/dr.

    Edges are laid out per density slot in a zero-padded [n·S, 2·P, B] block (R rows, then
    R' rows; P = most edges in one slot), so one batched matmul reads each slot's cotangent
    once; gathering it per edge would move E·13·K·B numbers (46 MB for K = 4 at 1k atoms)
    and dominate an ensemble evaluation. Returns two [E, K, 13] tensors.
    """
    n_slots, k, _, nb = cot.shape
    order = torch.argsort(slots, stable=True)
    counts = torch.bincount(slots, minlength=n_slots)
    width = max(int(counts.max()), 1) if len(slots) else 1
    start = torch.cumsum(counts, 0) - counts
    position = torch.empty_like(slots)
    position[order] = torch.arange(len(slots), device=slots.device) - start[slots[order]]
    rows = slots * (2 * width) + position
    lhs = radial.new_zeros(n_slots * 2 * width, nb)
    lhs = lhs.index_copy(0, rows, radial).index_copy(0, rows + width, d_radial)
    cot = cot.reshape(n_slots, k * 13, nb)  # one species: the permuted cotangent is strided
    out = torch.bmm(lhs.view(n_slots, 2 * width, nb), cot.transpose(1, 2))
    out = out.view(-1, k, 13)
    return out.index_select(0, rows), out.index_select(0, rows + width)
