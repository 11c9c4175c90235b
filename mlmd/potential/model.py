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
from mlmd.potential.edge_terms import EdgeTerms, edge_gradients
from mlmd.potential.graph import Graph
from mlmd.potential.radial import (
    angular_tensors,
    bessel_basis,
    polynomial_envelope,
    radial_basis,
)
from mlmd.potential.repulsion import CoreEdges, CoreTable, check_pairs

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

    def __post_init__(self) -> None:
        check_pairs(self.repulsion_pairs_A)  # a config file's error names the field


def _check_config(config: ModelConfig) -> None:
    """ValueError for an architecture that cannot be built (named field and value)."""
    species = [int(z) for z in config.species]
    if not species or len(set(species)) != len(species) or not all(0 < z < 119 for z in species):
        raise ValueError(f"species = {config.species}: give distinct atomic numbers (1–118)")
    for name in ("cutoff_A", "avg_neighbors"):
        if not getattr(config, name) > 0:
            raise ValueError(f"{name} = {getattr(config, name)}: must be > 0")
    inner, outer = config.repulsion_inner_A, config.repulsion_outer_A
    if not 0 < inner < outer:
        raise ValueError(
            f"repulsion_inner_A = {inner}, repulsion_outer_A = {outer}: need 0 < "
            "repulsion_inner_A < repulsion_outer_A (Å; the core repulsion is switched off "
            "between them), e.g. the defaults 0.6 and 1.1"
        )
    for name in ("n_basis", "channels", "n_members", "envelope_p"):
        if getattr(config, name) < 1:
            raise ValueError(f"{name} = {getattr(config, name)}: must be ≥ 1")
    if any(w < 1 for w in config.hidden):
        raise ValueError(f"hidden = {config.hidden}: every width must be ≥ 1")


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
        self.core = CoreTable(
            self.species,
            config.repulsion_inner_A,
            config.repulsion_outer_A,
            config.repulsion_pairs_A,
        )
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

    def edge_basis(
        self, vec: torch.Tensor, r: torch.Tensor, core: CoreEdges | None
    ) -> torch.Tensor:
        """[E, 13, B] per-edge features Y_m(û) R_n(r) (differentiable) of the edge vectors
        ``vec`` [E, 3] (Å, model dtype) of lengths ``r`` [E]; R faded by 1 − S on the
        ``core`` edges (the learned part fades out where the core takes over)."""
        cfg = self.config
        radial = bessel_basis(r, self.cutoff_A, cfg.n_basis)
        radial = radial * polynomial_envelope(r / self.cutoff_A, cfg.envelope_p)[:, None]
        if core is not None:
            fade = (1.0 - core.switch).to(radial.dtype)[:, None]
            radial = radial.index_copy(0, core.index, radial[core.index] * fade)
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
        vec = edge_vectors.to(self.dtype)
        r = vec.norm(dim=1)
        core = self._core(graph, r)
        a = self.density(graph, self.edge_basis(vec, r, core))
        rows = _owned_rows(graph.owned)
        if rows is None:
            energy = self._energies(a, s)
        else:  # owned atoms only; a ghost's entry stays 0
            owned = self._energies(a.index_select(0, rows), s.index_select(0, rows))
            energy = owned.new_zeros(owned.shape[0], graph.n_atoms).index_copy(1, rows, owned)
        if core is not None:
            energy = energy + _core_energy(graph, core)
        return energy[0] if self.n_members == 1 else energy

    def _core(self, graph: Graph, r: torch.Tensor) -> CoreEdges | None:
        """The fixed core on the edges of lengths ``r`` [E] (Å, model dtype; evaluated in
        float64) inside their pair's outer radius, or None without ``core_repulsion``."""
        if not self.config.core_repulsion:
            return None
        i, j = graph.edge_index
        return self.core.edges(r.to(torch.float64), graph.numbers[i], graph.numbers[j])

    def edges_in_core(self, graph: Graph, r: torch.Tensor) -> torch.Tensor:
        """[E] bool: the edges of lengths ``r`` [E] (Å) shorter than their pair's outer
        switch radius, where the learned part fades into the fixed core (all False without
        ``core_repulsion``). With ``core_from_data`` the data never came that close: every
        member is the same core there, so the ensemble's spread cannot flag such a pair."""
        if not self.config.core_repulsion:
            return torch.zeros(len(r), dtype=torch.bool, device=r.device)
        i, j = graph.edge_index
        return self.core.inside(r, graph.numbers[i], graph.numbers[j])

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
            core = self._core(graph, r)
            if core is not None:  # R·(1 − S): product rule for its derivative
                radial, d_radial = _faded(radial, d_radial, core)
            ang = angular_tensors(unit)
            a = self.density(graph, ang[:, :, None] * radial[:, None, :])
        return EdgeTerms(a, r, unit, radial, d_radial, ang, self.density_slots(graph), core)

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
        k, n, s_n = self.n_members, graph.n_atoms, len(self.species)
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
        g = edge_gradients(g_a / cfg.avg_neighbors, slots, terms)  # [K', E, 3]
        if terms.core is not None:  # fixed pair term: the same for every member
            energy = energy + _core_energy(graph, terms.core)
            g_core = _core_gradient(graph, terms.core, terms.unit)
            g = g.index_add(1, terms.core.index, g_core.expand(g.shape[0], -1, -1))
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


def _faded(
    radial: torch.Tensor, d_radial: torch.Tensor, core: CoreEdges
) -> tuple[torch.Tensor, torch.Tensor]:
    """R·(1 − S) and its derivative dR/dr·(1 − S) − R·dS/dr ([E, B], model dtype) on the
    ``core`` edges; the other edges (S = 0 there) are returned as they are."""
    sw, dsw = (x.to(radial.dtype)[:, None] for x in (core.switch, core.d_switch))
    rad, d_rad = radial[core.index], d_radial[core.index]
    d_radial = d_radial.index_copy(0, core.index, d_rad * (1.0 - sw) - rad * dsw)
    return radial.index_copy(0, core.index, rad * (1.0 - sw)), d_radial


def _core_energy(graph: Graph, core: CoreEdges) -> torch.Tensor:
    """[n] float64 per-atom core energy (eV): half of each pair on its centre."""
    centre = graph.edge_index[0, core.index]
    per_atom = torch.zeros(graph.n_atoms, dtype=torch.float64, device=core.energy.device)
    return per_atom.index_add(0, centre, 0.5 * core.energy)


def _core_gradient(graph: Graph, core: CoreEdges, unit: torch.Tensor) -> torch.Tensor:
    """[C, 3] float64 gradient (eV/Å) of the owned atoms' core energy along the ``core``
    edges, from the unit edge vectors ``unit`` [E, 3] of all edges."""
    centre_owned = graph.owned[graph.edge_index[0, core.index]].to(torch.float64)
    return (0.5 * core.d_energy * centre_owned)[:, None] * unit[core.index].to(torch.float64)


def _owned_rows(owned: torch.Tensor) -> torch.Tensor | None:
    """Indices of the owned atoms, or None when every atom is owned."""
    if bool(owned.all()):
        return None
    return torch.nonzero(owned).squeeze(1)
