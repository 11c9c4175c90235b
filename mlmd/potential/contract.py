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

Ensembles: a potential with ``n_members = K > 1`` returns per-atom energies [K, n].
:func:`evaluate` then differentiates every member in one batched backward pass and reports
the member MEAN in the usual fields plus the spread: ``energy_std`` [S] (eV, population std
over members) and ``force_std`` [n] (eV/Å, sqrt(mean_k |F_k − F̄|²) per atom). For single
models both are None; ``spread=False`` skips the per-member forces (mean forces at about
one member's cost: MD steps between spread checks). A potential may provide
``ensemble_edge_gradients(graph, vectors, members=True) -> (per_atom [K, n], g [K, E, 3])``
(the owned energy's per-member edge gradients, K ≥ 1; with ``members=False`` g is
[1, E, 3], the gradient of the member mean); evaluate then uses it (unless
``create_graph``) instead of autograd — for ensembles the generic batched backward costs K²
member evaluations, and the flagship model's analytic edge Jacobian is ≈ 2× cheaper than
autograd for one model too. A potential with a fixed short-range core may provide
``edges_in_core(graph, r) -> [E] bool`` (:func:`edges_in_core`): the pairs where it is that
core, which selection and MD report since an ensemble's spread cannot see them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import torch

from mlmd.errors import InputError
from mlmd.potential.graph import Graph


@runtime_checkable
class Potential(Protocol):
    """What every mlmd potential provides (see module docstring)."""

    cutoff_A: float
    receptive_field_A: float
    species: list[int]

    def __call__(self, graph: Graph, edge_vectors: torch.Tensor) -> torch.Tensor: ...


def edges_in_core(potential: torch.nn.Module, graph: Graph, r: torch.Tensor) -> torch.Tensor:
    """[E] bool: the edges of lengths ``r`` [E] (Å) where ``potential`` is its fixed core,
    not a function learned from data (its ``edges_in_core``; all False for a potential
    without one, e.g. an analytic reference): a pair there is beyond what the model knows,
    whatever the spread of an ensemble says."""
    method = getattr(potential, "edges_in_core", None)
    if method is None:
        return torch.zeros(len(r), dtype=torch.bool, device=r.device)
    return method(graph, r)


def check_species(potential: object, numbers: object, *, source: str | None = None) -> None:
    """InputError naming the elements of ``numbers`` that ``potential.species`` lacks.

    Args:
        potential: anything with a ``species`` list of atomic numbers.
        numbers: atomic numbers (array, tensor or list).
        source: the file the atoms came from, for the message.
    """
    from ase.data import chemical_symbols

    known = {int(z) for z in potential.species}
    values = numbers.tolist() if hasattr(numbers, "tolist") else list(numbers)
    unknown = sorted({int(z) for z in values} - known)
    if unknown:
        names = ", ".join(f"{chemical_symbols[z] if 0 < z < 119 else '?'} ({z})" for z in unknown)
        raise InputError(
            f"atomic numbers {unknown} ({names}) are not among the potential's species "
            f"{sorted(known)}",
            file=source,
            field="species",
            fix="use a potential trained on these elements, or remove those atoms",
        )


@dataclass(frozen=True)
class Evaluation:
    """Result of :func:`evaluate`. All float64.

    Attributes:
        energy: [n_systems] eV, sum of owned per-atom energies.
        per_atom_energy: [n_atoms] eV (ghost entries are computed but not summed).
        forces: [n_atoms, 3] eV/Å, or None when not requested.
        virial: [n_systems, 3, 3] eV, or None when not requested.
        energy_std: [n_systems] eV, spread over ensemble members (None for one model).
        force_std: [n_atoms] eV/Å, per-atom force spread (None for one model or no forces).
        member_forces: [K, n_atoms, 3] eV/Å, every member's forces when the spread was
            computed (the MD engine sums their ghost rows onto owners before the spread).
    """

    energy: torch.Tensor
    per_atom_energy: torch.Tensor
    forces: torch.Tensor | None
    virial: torch.Tensor | None
    energy_std: torch.Tensor | None = None
    force_std: torch.Tensor | None = None
    member_forces: torch.Tensor | None = None

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
    spread: bool = True,
    edge_vectors: torch.Tensor | None = None,
) -> Evaluation:
    """Energy, forces and virial of ``graph`` under ``potential`` (see module docstring).

    Args:
        create_graph: keep the autograd graph of forces/virial (for training on forces).
        spread: for an ensemble, also the per-member forces and their spread; False gives
            the mean forces and virial from one gradient of the mean energy (``force_std``
            None, ``energy_std`` still set), which costs little more than one member.
        edge_vectors: [E, 3] Å, ``graph.edge_vectors()`` when the caller has them already.
    """
    i, j = graph.edge_index
    vectors = graph.edge_vectors() if edge_vectors is None else edge_vectors
    vectors = vectors.to(torch.float64)
    need_grad = forces or virial
    if need_grad:
        vectors = vectors.detach().requires_grad_(True)
    fast = getattr(potential, "ensemble_edge_gradients", None)
    if need_grad and fast is not None and not create_graph:
        per_atom, g = fast(graph, vectors) if spread else fast(graph, vectors, members=False)
        result = edge_gradient_result(
            graph, vectors, per_atom, g, forces=forces, virial=virial, create_graph=create_graph
        )
        if per_atom.shape[0] == 1:  # a single model given as one member: no spread
            result = replace(result, energy_std=None, force_std=None, member_forces=None)
        return result
    per_atom = potential(graph, vectors).to(torch.float64)
    if per_atom.dim() == 2:
        return _evaluate_ensemble(
            graph,
            vectors,
            per_atom,
            forces=forces,
            virial=virial,
            create_graph=create_graph,
            spread=spread,
        )
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
    w = _virial(graph, vectors if create_graph else vectors.detach(), g) if virial else None
    return Evaluation(energy, per_atom, f, w)


def _virial(graph: Graph, r: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """W = −Σ_edges r ⊗ g per system [S, 3, 3] (one matmul when the graph is one system)."""
    if graph.n_systems == 1:
        return -(r.transpose(0, 1) @ g).unsqueeze(0)
    per_edge = -r.unsqueeze(2) * g.unsqueeze(1)
    w = torch.zeros(graph.n_systems, 3, 3, dtype=torch.float64, device=graph.device)
    return w.index_add(0, graph.system[graph.edge_index[0]], per_edge)


def _evaluate_ensemble(
    graph: Graph,
    vectors: torch.Tensor,
    per_atom: torch.Tensor,
    *,
    forces: bool,
    virial: bool,
    create_graph: bool,
    spread: bool,
) -> Evaluation:
    """Mean and spread over the K members of per-atom energies [K, n] (one batched backward;
    one plain backward of the mean energy when not ``spread``)."""
    k = per_atom.shape[0]
    owned_energy, energy = _member_energies(graph, per_atom)
    if not (forces or virial):
        energy_std = energy.std(dim=0, correction=0)
        return Evaluation(energy.mean(0), per_atom.mean(0), None, None, energy_std, None)
    if spread:
        g = _member_gradients(graph, vectors, owned_energy, create_graph)  # [K, E, 3]
    else:  # the gradient of the member mean, [1, E, 3]: mean forces at one member's cost
        (g,) = torch.autograd.grad(
            owned_energy.sum() / k,
            vectors,
            create_graph=create_graph,
            allow_unused=True,
            materialize_grads=True,
        )
        g = g[None]
    return edge_gradient_result(
        graph, vectors, per_atom, g, forces=forces, virial=virial, create_graph=create_graph
    )


def _member_energies(graph: Graph, per_atom: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(owned per-atom energies [K, n] (ghosts zeroed), member energies [K, S]) in eV."""
    owned_energy = torch.where(graph.owned, per_atom, torch.zeros_like(per_atom))
    k = per_atom.shape[0]
    energy = torch.zeros(k, graph.n_systems, dtype=torch.float64, device=graph.device)
    return owned_energy, energy.index_add(1, graph.system, owned_energy)


def _member_gradients(
    graph: Graph, vectors: torch.Tensor, owned_energy: torch.Tensor, create_graph: bool
) -> torch.Tensor:
    """g [K, E, 3]: every member's owned-energy gradient with respect to the edge vectors, in
    one batched backward pass."""
    k = owned_energy.shape[0]
    eye = torch.eye(k, dtype=torch.float64, device=graph.device)
    (g,) = torch.autograd.grad(
        owned_energy.sum(1),
        vectors,
        grad_outputs=eye,
        is_grads_batched=True,
        create_graph=create_graph,
        allow_unused=True,
        materialize_grads=True,
    )  # [K, E, 3]
    return g


def edge_gradient_result(
    graph: Graph,
    vectors: torch.Tensor,
    per_atom: torch.Tensor,
    g: torch.Tensor,
    *,
    forces: bool,
    virial: bool,
    create_graph: bool,
) -> Evaluation:
    """Mean and spread from per-member energies [K, n] and edge gradients g [K, E, 3] of the
    owned energy (forces F = Σ_j g_ij − Σ_k g_ki, virial W = −Σ r_ij ⊗ g_ij, as above). A g of
    shape [1, E, 3] is the gradient of the member mean: forces without ``force_std``."""
    k = per_atom.shape[0]
    i, j = graph.edge_index
    _, energy = _member_energies(graph, per_atom)
    energy_std = energy.std(dim=0, correction=0)
    f = f_std = f_members = None
    if forces:
        # atom-major [n, K', 3]: each edge adds one contiguous row (3.6× faster than [K', n, 3])
        g_edges = g.transpose(0, 1)
        f_k = torch.zeros(graph.n_atoms, g.shape[0], 3, dtype=torch.float64, device=graph.device)
        f_k = f_k.index_add(0, i, g_edges).index_add(0, j, -g_edges)
        f = f_k.mean(1)
        if g.shape[0] == k:
            f_std = ((f_k - f[:, None]) ** 2).sum(-1).mean(1).sqrt()
            f_members = f_k.transpose(0, 1)
    w = _virial(graph, vectors if create_graph else vectors.detach(), g.mean(0)) if virial else None
    return Evaluation(energy.mean(0), per_atom.mean(0), f, w, energy_std, f_std, f_members)
