"""The flagship potential: a strictly local, E(3)-equivariant body-order expansion (ACE-like).

Per atom i (centre species s_i), with edges to neighbours j inside the cutoff r_c:

1. Shared atomic density (no learned weights; computed once for all ensemble members)

       A_i[z, n, :] = (1/N̄) Σ_{j: z_j = z} R_n(r_ij) Y(û_ij)

   R_n = Bessel_n(r) · u(r/r_c) (smooth polynomial envelope), Y = [1, û, ûûᵀ − I/3]:
   Cartesian tensors of l = 0, 1, 2 (equivariant: Y_1 → R Y_1, Y_2 → R Y_2 Rᵀ).
2. Per member k and centre species, three learned channel mixings of the (z, n) basis per
   l, U, V, W (C channels each): learned radial functions and neighbour-species weights.
3. Invariant products per channel c (body order in brackets, counting the centre):
   U0, V0·W0 [2, 3]; U1·V1, |U1|², U2:V2, |U2|² [3]; U1ᵀ W2 V1 and tr(U2 V2 W2) [4].
   The last two are genuine 4-body angular correlations (l1 l2 l3 = 1 1 2 and 2 2 2).
4. Per member and centre species, an MLP maps the 8·C invariants to an energy:
   E_i = e0[s_i] + scale · MLP(features), with e0 fitted by least squares on the data.

The receptive field equals the cutoff (one "layer"), so MD needs ghosts one cutoff deep and
no feature exchange. All learned tensors carry a leading member axis K: an ensemble is one
module whose forward returns [K, n] (a single model, K = 1, returns [n]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch

from mlmd.potential.contract import check_species
from mlmd.potential.graph import Graph
from mlmd.potential.radial import (
    angular_gradient,
    angular_tensors,
    bessel_basis,
    polynomial_envelope,
    radial_basis,
)
from mlmd.potential.repulsion import switch, zbl_pair

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`BodyOrderPotential` (stored as JSON in a model directory).

    Attributes:
        species: atomic numbers the model knows, e.g. [8, 14]; training fills an empty list
            with the elements of its data (a model cannot be built without species).
        cutoff_A: cutoff radius r_c in Å (= receptive field).
        n_basis: Bessel radial functions per neighbour species.
        channels: C, learned channels per l and per mixing (U, V, W).
        hidden: widths of the per-species readout MLP.
        envelope_p: exponent of the polynomial cutoff envelope.
        avg_neighbors: N̄, divides the density so features are O(1).
        dtype: the network's float type; energies are accumulated in float64 by evaluate.
        n_members: K, ensemble members held in one module.
        core_repulsion: add the fixed ZBL core repulsion of :mod:`mlmd.potential.repulsion`,
            switched off between ``repulsion_inner_A`` and ``repulsion_outer_A`` (it keeps
            atoms apart where the data never went; zero beyond the outer radius), and fade
            the learned part out over the same switch: below a pair's inner radius its edge
            adds nothing to the learned density, so the pair feels the core alone.
        repulsion_pairs_A: per element pair "Z1-Z2" (Z1 ≤ Z2, e.g. "14-14"), its own
            [inner, outer] switch radii (Å) in place of the two above.
        core_from_data: training sets ``repulsion_pairs_A`` of every pair in its data to
            [outer − ``core_width_A``, outer], outer = r_min − ``core_margin_A``, r_min the
            pair's shortest distance there: well below what the data saw, the model is
            the core, not an extrapolation (a learned potential given no Si–Si pair under
            2.3 Å may bind one at 1.1 Å), and frames a little beyond the data (a test
            frame, the hot start of a melt) stay outside the switch.
        core_width_A, core_margin_A: width of those data switches, and their distance
            below the data's shortest pair (Å).
    """

    species: list[int] = field(default_factory=list)
    cutoff_A: float = 5.0
    n_basis: int = 8
    channels: int = 16
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    envelope_p: int = 6
    avg_neighbors: float = 20.0
    dtype: Literal["float32", "float64"] = "float64"
    n_members: int = 1
    core_repulsion: bool = True
    repulsion_inner_A: float = 0.6
    repulsion_outer_A: float = 1.1
    repulsion_pairs_A: dict[str, list[float]] = field(default_factory=dict)
    core_from_data: bool = True
    core_width_A: float = 0.5
    core_margin_A: float = 0.25


def _check_config(config: ModelConfig) -> None:
    """ValueError for an architecture that cannot be built (named field and value)."""
    species = [int(z) for z in config.species]
    if not species or len(set(species)) != len(species) or not all(0 < z < 119 for z in species):
        raise ValueError(f"species = {config.species}: give distinct atomic numbers (1–118)")
    for name in ("cutoff_A", "avg_neighbors", "repulsion_outer_A"):
        if not getattr(config, name) > 0:
            raise ValueError(f"{name} = {getattr(config, name)}: must be > 0")
    for name in ("n_basis", "channels", "n_members", "envelope_p"):
        if getattr(config, name) < 1:
            raise ValueError(f"{name} = {getattr(config, name)}: must be ≥ 1")
    if any(w < 1 for w in config.hidden):
        raise ValueError(f"hidden = {config.hidden}: every width must be ≥ 1")
    for pair, radii in config.repulsion_pairs_A.items():
        z = pair.split("-")
        numbers = [int(x) for x in z] if all(x.isdigit() for x in z) else []
        if len(numbers) != 2 or numbers != sorted(numbers) or len(radii) != 2:
            raise ValueError(
                f"repulsion_pairs_A key {pair!r}: give atomic numbers 'Z1-Z2', Z1 ≤ Z2 (e.g. "
                "'8-14'), each with [inner, outer] in Å"
            )
        if not 0 < radii[0] < radii[1]:
            raise ValueError(f"repulsion_pairs_A[{pair!r}] = {radii}: need 0 < inner < outer")


class BodyOrderPotential(torch.nn.Module):
    """See the module docstring. ``forward(graph, edge_vectors)`` → [n] or [K, n] eV."""

    n_features_per_channel = 8

    def __init__(self, config: ModelConfig, seed: int | None = None):
        super().__init__()
        _check_config(config)
        self.config = config
        self.cutoff_A = float(config.cutoff_A)
        self.receptive_field_A = float(config.cutoff_A)
        self.species = [int(z) for z in config.species]
        self.n_members = int(config.n_members)
        dtype = _DTYPES[config.dtype]
        k, s, c = self.n_members, len(self.species), config.channels
        sb = s * config.n_basis
        table = torch.full((119,), -1, dtype=torch.long)
        table[torch.tensor(self.species)] = torch.arange(s)
        self.register_buffer("species_index", table, persistent=False)
        inner, outer = _core_tables(config, self.species)
        self.register_buffer("core_inner", inner, persistent=False)
        self.register_buffer("core_outer", outer, persistent=False)
        self.register_buffer("e0", torch.zeros(k, s, dtype=torch.float64))
        self.register_buffer("scale", torch.ones(k, dtype=dtype))

        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))

        def param(*shape: int, fan_in: int) -> torch.nn.Parameter:
            w = torch.randn(*shape, generator=gen, dtype=torch.float64) / math.sqrt(fan_in)
            return torch.nn.Parameter(w.to(dtype))

        # channel mixing per l: [K, S_centre, S·B, 3C] (U, V, W concatenated)
        self.mix = torch.nn.ParameterList([param(k, s, sb, 3 * c, fan_in=sb) for _ in range(3)])
        widths = [self.n_features_per_channel * c, *config.hidden, 1]
        self.weights = torch.nn.ParameterList(
            [param(k, s, a, b, fan_in=a) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        )
        self.biases = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.zeros(k, s, 1, b, dtype=dtype)) for b in widths[1:-1]]
        )

    @property
    def dtype(self) -> torch.dtype:
        return self.mix[0].dtype

    def edge_basis(self, graph: Graph, edge_vectors: torch.Tensor) -> torch.Tensor:
        """[E, 13, B] per-edge features Y_m(û) R_n(r)."""
        cfg = self.config
        vec = edge_vectors.to(self.dtype)
        r = vec.norm(dim=1)
        radial = bessel_basis(r, self.cutoff_A, cfg.n_basis)
        radial = radial * polynomial_envelope(r / self.cutoff_A, cfg.envelope_p)[:, None]
        if cfg.core_repulsion:  # the learned part fades out where the core takes over
            radial = radial * (1.0 - self._core_switch(graph, r)[0]).to(radial.dtype)[:, None]
        ang = angular_tensors(vec / r[:, None])  # [E, 13]
        return ang[:, :, None] * radial[:, None, :]

    def density_slots(self, graph: Graph) -> torch.Tensor:
        """[E] slot of each edge in the density: centre · S + neighbour species."""
        i, j = graph.edge_index
        return i * len(self.species) + self.species_index[graph.numbers[j]]

    def density(self, graph: Graph, edge: torch.Tensor) -> torch.Tensor:
        """[n, 13, S·B] shared atomic density A (angular × neighbour species × radial)."""
        s = len(self.species)
        n, e_shape = graph.n_atoms, edge.shape[1:]
        a = torch.zeros(n * s, *e_shape, dtype=edge.dtype, device=edge.device)
        a = a.index_add(0, self.density_slots(graph), edge) / self.config.avg_neighbors
        return a.reshape(n, s, *e_shape).transpose(1, 2).reshape(n, e_shape[0], -1)

    def invariants(self, a: torch.Tensor, si: int) -> torch.Tensor:
        """[K, m, 8C] invariants of m atoms of centre species index ``si`` from their density
        ([m, 13, S·B], or per member [K, m, 13, S·B])."""
        c = self.config.channels
        k, m = self.n_members, a.shape[-3]
        mixed = []
        for w, (lo, hi) in zip(self.mix, [(0, 1), (1, 4), (4, 13)], strict=True):
            part = a[..., lo:hi, :]
            flat = part.reshape(m * (hi - lo), a.shape[-1]) if a.dim() == 3 else part.flatten(1, 2)
            mixed.append(torch.matmul(flat, w[:, si]).view(k, m, hi - lo, 3 * c))
        m0, m1, m2 = mixed  # split, not sliced: a slice's backward zero-fills the whole input
        u0, v0, w0 = m0[:, :, 0].split(c, dim=-1)
        u1, v1, _ = m1.split(c, dim=-1)  # [K, m, 3, C]
        u2, v2, w2 = (part.unflatten(2, (3, 3)) for part in m2.split(c, dim=-1))
        uv2 = (u2[:, :, :, :, None] * v2[:, :, None, :, :]).sum(3)  # (U V)_ad, [K, m, 3, 3, C]
        feats = [
            u0,
            v0 * w0,
            (u1 * v1).sum(2),
            (u1 * u1).sum(2),
            (u2 * v2).sum((2, 3)),
            (u2 * u2).sum((2, 3)),
            (u1[:, :, :, None] * w2 * v1[:, :, None, :]).sum((2, 3)),  # u1ᵀ W2 v1
            (uv2 * w2).sum((2, 3)),  # tr(U2 V2 W2), W2 symmetric
        ]
        return torch.cat(feats, dim=-1)

    def readout(self, feats: torch.Tensor, si: int) -> torch.Tensor:
        """[K, m] network output of the species-``si`` MLP on features [K, m, F]."""
        h = feats
        for idx, w in enumerate(self.weights):
            h = torch.matmul(h, w[:, si])
            if idx < len(self.biases):
                h = torch.nn.functional.silu(h + self.biases[idx][:, si])
        return h[..., 0]

    def _species(self, graph: Graph) -> torch.Tensor:
        s = self.species_index[graph.numbers]
        if bool((s < 0).any()):
            check_species(self, graph.numbers[s < 0])  # raises, naming the elements
        return s

    def _energies(self, a: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """[K, n] float64 per-atom energies (eV) from the density [(K,) n, S·B, 13].

        Atoms are grouped by centre species so every species runs its own mixing and MLP
        on a contiguous block (no wasted work on the other species' weights).
        """
        order = torch.argsort(s, stable=True)
        counts = torch.bincount(s, minlength=len(self.species)).tolist()
        a_sorted = a.index_select(a.dim() - 3, order)
        blocks = torch.split(a_sorted, counts, dim=a.dim() - 3)
        out = torch.cat(
            [self.readout(self.invariants(b, si), si) for si, b in enumerate(blocks)], dim=1
        )
        out = torch.empty_like(out).index_copy(1, order, out)
        return self.e0[:, s] + (self.scale[:, None] * out).to(torch.float64)

    def forward(self, graph: Graph, edge_vectors: torch.Tensor) -> torch.Tensor:
        s = self._species(graph)
        a = self.density(graph, self.edge_basis(graph, edge_vectors))
        rows = _owned_rows(graph.owned)
        if rows is None:
            energy = self._energies(a, s)
        else:  # owned atoms only; a ghost's entry stays 0
            owned = self._energies(a.index_select(0, rows), s.index_select(0, rows))
            energy = owned.new_zeros(owned.shape[0], graph.n_atoms).index_copy(1, rows, owned)
        if self.config.core_repulsion:
            energy = energy + self._repulsion(graph, edge_vectors.norm(dim=1))[0]
        return energy[0] if self.n_members == 1 else energy

    def _repulsion(self, graph: Graph, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-atom core-repulsion energy [n] (half of each pair on its centre) and
        dV/dr [E] (eV/Å), float64; see :mod:`mlmd.potential.repulsion`."""
        i, j = graph.edge_index
        inner, outer = self._core_radii(graph, r.device)
        v, dv = zbl_pair(r, graph.numbers[i], graph.numbers[j], inner, outer)
        per_atom = torch.zeros(graph.n_atoms, dtype=torch.float64, device=r.device)
        return per_atom.index_add(0, i, 0.5 * v), dv

    def _core_radii(self, graph: Graph, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """[E] inner and outer switch radii (Å, float64, on ``device``: where the edge
        lengths are, which for cached training terms may not be the model's) of each edge's
        element pair."""
        i, j = graph.edge_index.to(self.core_inner.device)
        numbers = graph.numbers.to(self.core_inner.device)
        si, sj = self.species_index[numbers[i]], self.species_index[numbers[j]]
        return self.core_inner[si, sj].to(device), self.core_outer[si, sj].to(device)

    def _core_switch(self, graph: Graph, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[E] core switch S(r) of each edge (1 inside its pair's inner radius, 0 beyond the
        outer) and dS/dr (1/Å), float64."""
        return switch(r.to(torch.float64), *self._core_radii(graph, r.device))

    def edge_terms(self, graph: Graph, edge_vectors: torch.Tensor) -> EdgeTerms:
        """The parameter-free part of the model for fixed positions (no autograd): the density
        and what its analytic Jacobian needs. Training caches it per frame."""
        self._species(graph)  # unknown elements: a clear error before any indexing
        cfg = self.config
        with torch.no_grad():
            vec = edge_vectors.to(self.dtype)
            r = vec.norm(dim=1)
            unit = vec / r[:, None]
            radial, d_radial = radial_basis(r, self.cutoff_A, cfg.n_basis, cfg.envelope_p)
            if cfg.core_repulsion:  # R·(1 − S): product rule for its derivative
                sw, dsw = (x.to(radial.dtype)[:, None] for x in self._core_switch(graph, r))
                d_radial = d_radial * (1.0 - sw) - radial * dsw
                radial = radial * (1.0 - sw)
            ang = angular_tensors(unit)
            a = self.density(graph, ang[:, :, None] * radial[:, None, :])
        return EdgeTerms(a, r, unit, radial, d_radial, ang, self.density_slots(graph))

    def energies_and_edge_gradients(
        self,
        graph: Graph,
        terms: EdgeTerms,
        *,
        create_graph: bool = False,
        members: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-member energies [K, n] and edge gradients g of the owned energy (float64)
        from cached :class:`EdgeTerms`; differentiable in the parameters when
        ``create_graph`` (training on forces and stress).

        Energies are computed for owned atoms only (a ghost's entry is 0: this model is
        strictly local, so a ghost's energy is never needed). g is [K, E, 3] per member, or
        with ``members=False`` [1, E, 3], the gradient of the member-MEAN energy (the
        cotangents are averaged before they are spread over the edges: MD steps that need
        no spread then cost little more than one member).
        """
        s = self._species(graph)
        cfg = self.config
        k, n, s_n, nb = self.n_members, graph.n_atoms, len(self.species), cfg.n_basis
        rows, slots = _owned_rows(graph.owned), terms.slots
        a = terms.density if rows is None else terms.density.index_select(0, rows)
        s_rows = s if rows is None else s.index_select(0, rows)
        with torch.enable_grad():
            a_k = a[None].expand(k, *a.shape).clone().requires_grad_(True)
            energy_rows = self._energies(a_k, s_rows)  # [K, n_owned]
            (g_a,) = torch.autograd.grad(energy_rows.sum(), a_k, create_graph=create_graph)
        if rows is None:
            energy = energy_rows
        else:  # compact slot numbering; edges of non-owned centres read a zero row
            compact = torch.full((n,), len(rows), dtype=torch.long, device=a.device)
            compact[rows] = torch.arange(len(rows), device=a.device)
            slots = compact[slots // s_n] * s_n + slots % s_n
            g_a = torch.cat([g_a, torch.zeros_like(g_a[:, :1])], dim=1)
            energy = energy_rows.new_zeros(k, n).index_copy(1, rows, energy_rows)
        if not members:
            g_a = g_a.mean(0, keepdim=True)
        k_out = g_a.shape[0]
        g_a = (g_a / cfg.avg_neighbors).unflatten(-1, (s_n, nb))  # [K', n, 13, S, B]
        cot = g_a.permute(1, 3, 0, 2, 4).reshape(-1, k_out, 13, nb)  # [n·S, K', 13, B]
        c_ang, c_drad = _edge_cotangents(cot, slots, terms.radial, terms.d_radial)
        radial_part = (c_drad * terms.ang[:, None, :]).sum(-1, keepdim=True)  # [E, K', 1]
        g = angular_gradient(c_ang, terms.unit, terms.r) + radial_part * terms.unit[:, None, :]
        g = g.transpose(0, 1).to(torch.float64)  # [K', E, 3]
        if self.config.core_repulsion:  # fixed pair term: the same for every member
            pair, dv = self._repulsion(graph, terms.r)
            centre_owned = graph.owned[graph.edge_index[0]].to(torch.float64)
            energy = energy + pair
            g = g + (0.5 * dv * centre_owned)[:, None] * terms.unit.to(torch.float64)
        if not create_graph:
            energy = energy.detach()
        return energy, g

    def ensemble_edge_gradients(
        self, graph: Graph, edge_vectors: torch.Tensor, *, members: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-member energies and edge gradients without K² work (used by ``evaluate``).

        A batched backward through the whole model would push every member's cotangent
        through every member's head. Instead: (1) one ordinary backward from Σ_k E_k to a
        per-member copy of the density gives ∂E_k/∂A for all k at once (members are
        independent), (2) the analytic Jacobian of the member-independent edge basis
        (:func:`radial_basis`, :func:`angular_gradient`) turns those into g_k = ∂E_k/∂r_ij.

        Returns:
            per-atom energies [K, n] float64 (eV) and g [K, E, 3] float64 (eV/Å) of the
            owned atoms' energy ([1, E, 3] of the member mean when ``members`` is False).
        """
        terms = self.edge_terms(graph, edge_vectors)
        return self.energies_and_edge_gradients(graph, terms, members=members)


def _core_tables(config: ModelConfig, species: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """[S, S] inner and outer core radii (Å) per species pair: ``repulsion_pairs_A``, else
    the global pair of radii."""
    n = len(species)
    inner = torch.full((n, n), float(config.repulsion_inner_A), dtype=torch.float64)
    outer = torch.full((n, n), float(config.repulsion_outer_A), dtype=torch.float64)
    index = {z: k for k, z in enumerate(species)}
    for pair, (lo, hi) in config.repulsion_pairs_A.items():
        a, b = (index.get(int(z)) for z in pair.split("-"))
        if a is not None and b is not None:
            inner[a, b] = inner[b, a] = float(lo)
            outer[a, b] = outer[b, a] = float(hi)
    return inner, outer


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


def _owned_rows(owned: torch.Tensor) -> torch.Tensor | None:
    """Indices of the owned atoms, or None when every atom is owned."""
    if bool(owned.all()):
        return None
    return torch.nonzero(owned).squeeze(1)


@dataclass(frozen=True)
class EdgeTerms:
    """Parameter-free per-frame quantities of :class:`BodyOrderPotential` (model dtype).

    Attributes:
        density: [n, 13, S·B] atomic density A. r: [E] Å. unit: [E, 3]. radial, d_radial:
        [E, B] R_n(r) and dR_n/dr. ang: [E, 13] angular tensors. slots: [E] density slot.
    """

    density: torch.Tensor
    r: torch.Tensor
    unit: torch.Tensor
    radial: torch.Tensor
    d_radial: torch.Tensor
    ang: torch.Tensor
    slots: torch.Tensor

    def to(self, device: torch.device | str) -> EdgeTerms:
        return EdgeTerms(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def cat_edge_terms(parts: list[EdgeTerms], n_atoms: list[int], n_species: int) -> EdgeTerms:
    """Concatenate the edge terms of several graphs batched in this order."""
    offsets = [0]
    for n in n_atoms[:-1]:
        offsets.append(offsets[-1] + n)
    return EdgeTerms(
        density=torch.cat([p.density for p in parts]),
        r=torch.cat([p.r for p in parts]),
        unit=torch.cat([p.unit for p in parts]),
        radial=torch.cat([p.radial for p in parts]),
        d_radial=torch.cat([p.d_radial for p in parts]),
        ang=torch.cat([p.ang for p in parts]),
        slots=torch.cat([p.slots + o * n_species for p, o in zip(parts, offsets, strict=True)]),
    )
