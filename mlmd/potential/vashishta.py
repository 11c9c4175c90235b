"""The Vashishta two- plus three-body potential, as LAMMPS ``pair_style vashishta`` computes it.

Default parameters: SiO2 of Nakano, Kalia & Vashishta, J. Non-Cryst. Solids 171, 157 (1994),
as shipped with LAMMPS (``potentials/SiO.1994.vashishta``, contributed by A. Thompson).

Energy (LAMMPS doc page ``pair_vashishta``; source ``src/MANYBODY/pair_vashishta.cpp``)::

    U = Σ_{i<j} U2_ij(r_ij) + Σ_i Σ_{j<k; j,k≠i} U3_ijk(r_ij, r_ik, θ_jik)

    V_ij(r)  = H/r^η + Zi Zj k_e e^(−r/λ1)/r − D e^(−r/λ4)/r⁴ − W/r⁶
    U2_ij(r) = V(r) − V(rc) − (r − rc) V'(rc)                for r < rc, else 0
    U3_ijk   = B_ijk f_ij(r_ij) f_ik(r_ik) (cosθ − cosθ0)² / (1 + C (cosθ − cosθ0)²)
    f_ij(r)  = exp(γ_ij / (r − r0_ij))                       for r < r0_ij, else 0

Two-body parameters of the pair (i, j) come from the file entry ``i j j``; γ and r0 of the
leg (i, j) from ``i j j``; B, C and cosθ0 from ``i j k``. 1/λ = 0 when λ = 0 (no screening);
k_e = 14.399645 eV·Å, LAMMPS's ``qqr2e`` in metal units. Energy partition (per-atom energies,
the mlmd contract): half of each pair energy on each atom of the pair; the whole three-body
term on its centre i. Totals, forces and virial are those of LAMMPS; per-atom energies differ
(LAMMPS gives a third of each triplet energy to each of its atoms).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
from ase.data import atomic_numbers, chemical_symbols

from mlmd.errors import InputError
from mlmd.potential.graph import Graph
from mlmd.potential.vashishta_file import (
    NKV1994,
    PARAMETER_NAMES,
    check_entries,
    parse_lammps_vashishta,
)

#: e²/(4πε0) in eV·Å exactly as LAMMPS metal units use it (``force->qqr2e``).
QQR2E_METAL: float = 14.399645


def _inv(x: float) -> float:
    return 0.0 if x == 0.0 else 1.0 / x


class Vashishta(torch.nn.Module):
    """Vashishta potential following the mlmd potential contract (float64).

    Args:
        entries: ``{(el_i, el_j, el_k): 14 parameters}`` in :data:`PARAMETER_NAMES` order and
            LAMMPS metal units, one entry for every ordered triple of the elements used.
            Default: :data:`NKV1994` (SiO2).
        source: where the parameters came from (shown in ``repr`` and error messages).

    Attributes:
        cutoff_A: max over entries of rc and r0 (Å): 5.5 for SiO2.
        receptive_field_A: equal to ``cutoff_A`` (strictly local).
        species: sorted atomic numbers, ``[8, 14]`` for SiO2.
    """

    def __init__(
        self,
        entries: Mapping[tuple[str, str, str], Sequence[float]] | None = None,
        source: str = "Nakano, Kalia & Vashishta, J. Non-Cryst. Solids 171, 157 (1994)",
    ):
        super().__init__()
        entries = NKV1994 if entries is None else entries
        self.source = source
        for key in entries:
            bad = [e for e in key if e not in atomic_numbers or e == "X"]
            if len(key) != 3 or bad:
                raise InputError(
                    f"entry key {key!r} is not three chemical element symbols",
                    file=source,
                    fix="key entries by element triples such as ('Si', 'O', 'O')",
                )
        elements = sorted({e for key in entries for e in key}, key=lambda s: atomic_numbers[s])
        check_entries(entries, elements, source)
        nt = len(elements)
        self.elements = elements
        self.species = [atomic_numbers[e] for e in elements]
        self.n_types = nt

        pair_rows, leg_rows, triple_rows = [], [], []
        cutoff = 0.0
        for a in elements:
            for b in elements:
                p = dict(zip(PARAMETER_NAMES, map(float, entries[(a, b, b)]), strict=True))
                pair_rows.append(_pair_row(p))
                leg_rows.append([p["gamma"], p["r0"]])
                cutoff = max(cutoff, p["rc"], p["r0"])
                for c in elements:
                    q = dict(zip(PARAMETER_NAMES, map(float, entries[(a, b, c)]), strict=True))
                    triple_rows.append([q["B"], q["C"], q["costheta0"]])
                    cutoff = max(cutoff, q["rc"], q["r0"])
        self.cutoff_A = float(cutoff)
        self.receptive_field_A = float(cutoff)

        type_of_number = torch.full((len(chemical_symbols),), -1, dtype=torch.int64)
        for t, z in enumerate(self.species):
            type_of_number[z] = t
        f64 = torch.float64
        self.register_buffer("type_of_number", type_of_number)
        #: [T², 10]: H, η, k_e·Zi·Zj, 1/λ1, D, 1/λ4, W, rc, V(rc), V'(rc) per (type_i, type_j).
        self.register_buffer("pair_table", torch.tensor(pair_rows, dtype=f64))
        # The hot path gathers only the columns that differ between pair types (6 of 10 for
        # SiO2) with 1-D takes; uniform columns enter as Python floats.
        self.register_buffer("pair_columns", self.pair_table.t().contiguous(), persistent=False)
        self._pair_uniform: tuple[float | None, ...] = tuple(
            float(col[0]) if bool((col == col[0]).all()) else None for col in self.pair_columns
        )
        #: [T², 2]: γ, r0 per (type_i, type_j).
        self.register_buffer("leg_table", torch.tensor(leg_rows, dtype=f64))
        #: [T³, 3]: B, C, cosθ0 per (type_i, type_j, type_k).
        self.register_buffer("triple_table", torch.tensor(triple_rows, dtype=f64))
        self._r0_max = max(row[1] for row in leg_rows)
        self._has_three_body = any(row[0] != 0.0 for row in triple_rows) and any(
            row[1] > 0.0 for row in leg_rows
        )

    @classmethod
    def from_lammps_file(cls, path: str | Path, elements: Iterable[str] | None = None) -> Vashishta:
        """Read a LAMMPS ``pair_style vashishta`` parameter file (strictly).

        Args:
            path: the file (``#`` starts a comment; an entry is 3 element names and 14
                numbers, and may span several lines).
            elements: restrict to these elements (default: every element in the file); every
                ordered triple of them must have exactly one entry.

        Raises:
            InputError: unreadable file, unknown element, non-numeric or negative value,
                incomplete, duplicate or missing entry.
        """
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise InputError(
                f"cannot read Vashishta parameter file ({exc.strerror})",
                file=str(path),
                fix="give the path of a LAMMPS *.vashishta file",
            ) from exc
        entries = parse_lammps_vashishta(text, source=str(path))
        if elements is not None:
            keep = set(elements)
            entries = {k: v for k, v in entries.items() if set(k) <= keep}
            missing = keep - {e for k in entries for e in k}
            if missing:
                raise InputError(
                    f"no entries for element(s) {sorted(missing)}",
                    file=str(path),
                    fix="choose elements that the file parametrises",
                )
        return cls(entries, source=str(path))

    def extra_repr(self) -> str:
        return f"elements={self.elements}, cutoff_A={self.cutoff_A}, source={self.source!r}"

    def types(self, numbers: torch.Tensor) -> torch.Tensor:
        """[n] type index (position in :attr:`species`) of each atomic number in ``numbers``.

        Raises:
            InputError: an atomic number this parametrisation does not cover.
        """
        valid = (numbers >= 0) & (numbers < self.type_of_number.shape[0])
        types = self.type_of_number[torch.where(valid, numbers, 0)]
        types = torch.where(valid, types, -1)
        if bool((types < 0).any()):
            unknown = sorted({int(z) for z in numbers[types < 0].tolist()})
            raise InputError(
                f"atomic numbers {unknown} are not covered by this Vashishta potential "
                f"(species {self.species})",
                field="numbers",
                fix="use a parameter file for these elements or remove those atoms",
            )
        return types

    def forward(self, graph: Graph, edge_vectors: torch.Tensor) -> torch.Tensor:
        """Per-atom energies [n_atoms] in eV from edge vectors [E, 3] Å (float64)."""
        vec = edge_vectors.to(torch.float64)
        types = self.types(graph.numbers)
        centre, neighbour = graph.edge_index
        r = torch.linalg.vector_norm(vec, dim=1)
        pair_type = types[centre] * self.n_types + types[neighbour]
        energy = torch.zeros(graph.n_atoms, dtype=torch.float64, device=vec.device)
        energy = energy.index_add(0, centre, 0.5 * self._two_body(r, pair_type))
        if self._has_three_body:
            energy = energy + self._three_body(vec, r, pair_type, types, graph)
        return energy

    def _two_body(self, r: torch.Tensor, pair_type: torch.Tensor) -> torch.Tensor:
        """[E] shifted and tilted pair energy U2(r) (eV), zero beyond rc."""
        params = tuple(
            torch.take(self.pair_columns[k], pair_type) if value is None else value
            for k, value in enumerate(self._pair_uniform)
        )
        return _PairEnergy.apply(r, params)

    def _three_body(
        self,
        vec: torch.Tensor,
        r: torch.Tensor,
        pair_type: torch.Tensor,
        types: torch.Tensor,
        graph: Graph,
    ) -> torch.Tensor:
        """[n] three-body energy on each centre (eV), from pairs of its short edges (r < r0)."""
        short = torch.nonzero(r.detach() < self._r0_max).squeeze(1)  # scalar filter first
        short = short[r.detach()[short] < self.leg_table[pair_type[short], 1]]
        gamma_r0 = self.leg_table[pair_type[short]]  # [S, 2] γ, r0 of the short edges
        energy = torch.zeros(graph.n_atoms, dtype=torch.float64, device=vec.device)
        if short.numel() < 2:
            return energy
        first, second = triplet_pairs(graph.edge_index[0][short], graph.n_atoms)
        e1, e2 = short[first], short[second]
        centre = graph.edge_index[0][e1]
        neighbour = graph.edge_index[1]
        nt = self.n_types
        triple = (types[centre] * nt + types[neighbour[e1]]) * nt + types[neighbour[e2]]
        b, c, cos0 = self.triple_table[triple].unbind(1)
        r1, r2 = r[e1], r[e2]
        g1, r01 = gamma_r0[first].unbind(1)
        g2, r02 = gamma_r0[second].unbind(1)
        cos = (vec[e1] * vec[e2]).sum(1) / (r1 * r2)
        dc2 = (cos - cos0) ** 2
        e3 = b * torch.exp(g1 / (r1 - r01) + g2 / (r2 - r02)) * dc2 / (1.0 + c * dc2)
        return energy.index_add(0, centre, e3)


Param = torch.Tensor | float


def _pair_terms(r: torch.Tensor, p: tuple[Param, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """U2(r) and dU2/dr [E] for per-edge parameters ``p`` (10 entries, [E] tensors or floats
    shared by all edges, in ``pair_table`` column order)."""
    h, eta, zz, il1, d, il4, w, rc, vrc, dvrc = p
    inv_r = 1.0 / r
    inv_r2 = inv_r * inv_r
    repulsion = h * torch.pow(r, -eta)
    coulomb = zz * torch.exp(-r * il1) * inv_r
    dipole = d * torch.exp(-r * il4) * inv_r2 * inv_r2
    u = repulsion + coulomb - dipole - vrc - (r - rc) * dvrc
    du = dipole * (4.0 * inv_r + il4) - eta * repulsion * inv_r - coulomb * (inv_r + il1) - dvrc
    if not (isinstance(w, float) and w == 0.0):
        vdw = w * inv_r2 * inv_r2 * inv_r2
        u = u - vdw
        du = du + 6.0 * vdw * inv_r
    inside = r < rc
    zero = torch.zeros((), dtype=r.dtype, device=r.device)
    return torch.where(inside, u, zero), torch.where(inside, du, zero)


class _PairEnergy(torch.autograd.Function):
    """U2(r) with an analytic first derivative computed in the same pass (the hot path: about
    half the cost of differentiating the expression graph). Under ``create_graph`` the
    backward recomputes dU2/dr differentiably, so higher derivatives stay exact."""

    @staticmethod
    def forward(ctx, r: torch.Tensor, params: tuple[Param, ...]) -> torch.Tensor:
        u, du = _pair_terms(r, params)
        ctx.save_for_backward(r, du)
        ctx.params = params  # constants of the potential: never differentiated
        return u

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        r, du = ctx.saved_tensors
        if torch.is_grad_enabled():
            du = _pair_terms(r, ctx.params)[1]
        return grad * du, None


def triplet_pairs(centres: torch.Tensor, n_atoms: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All unordered pairs of edges that share a centre, in O(E + P) tensor operations.

    Args:
        centres: [S] centre atom of each edge (any order).
        n_atoms: number of atoms (bounds the centre indices).

    Returns:
        ``first``, ``second``: [P] positions into ``centres`` with
        ``centres[first] == centres[second]`` and each unordered pair of distinct edges once.
    """
    order = torch.argsort(centres, stable=True)
    sorted_centres = centres[order]
    counts = torch.bincount(sorted_centres, minlength=n_atoms)
    starts = torch.cumsum(counts, 0) - counts
    pos = torch.arange(centres.numel(), device=centres.device)
    local = pos - starts[sorted_centres]  # rank of each edge within its centre's group
    partners = counts[sorted_centres] - 1 - local  # later edges of the same centre
    first = torch.repeat_interleave(pos, partners)
    block = torch.cumsum(partners, 0) - partners
    second = first + 1 + (torch.arange(first.numel(), device=centres.device) - block[first])
    return order[first], order[second]


def _pair_row(p: dict[str, float]) -> list[float]:
    """Per-pair constants of the shifted two-body term (see module docstring)."""
    il1, il4, rc = _inv(p["lambda1"]), _inv(p["lambda4"]), p["rc"]
    zz = p["Zi"] * p["Zj"] * QQR2E_METAL
    if rc > 0.0:
        vc2 = zz * math.exp(-rc * il1) / rc
        vc3 = p["D"] * math.exp(-rc * il4) / rc**4
        vrc = p["H"] * rc ** (-p["eta"]) + vc2 - vc3 - p["W"] / rc**6
        dvrc = (
            vc3 * (4.0 / rc + il4)
            + 6.0 * p["W"] / rc**7
            - p["H"] * p["eta"] * rc ** (-p["eta"]) / rc
            - vc2 * (1.0 / rc + il1)
        )
    else:
        vrc = dvrc = 0.0
    return [p["H"], p["eta"], zz, il1, p["D"], il4, p["W"], rc, vrc, dvrc]
