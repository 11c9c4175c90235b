"""A fixed short-range core repulsion (Ziegler–Biersack–Littmark universal screening).

Learned potentials know nothing about distances their data never reached: with little data
(an early active-learning round) two atoms can fall into each other at high temperature.
The ZBL pair energy, switched off smoothly between ``inner_A`` and ``outer_A`` (by default
below the shortest distances of real SiO2 structures, ~1.4 Å; a trained model puts each
pair's switch just below the shortest distance of that pair in its data), makes that
impossible without touching the physics the model learns (it contributes nothing beyond
``outer_A``). The model fades its learned part out over the same switch (weight 1 − S), so
below ``inner_A`` a pair feels the core alone.

    V(r) = (Z_i Z_j e²/4πε₀) / r · φ(r/a) · S(r),   a = 0.46850 Å / (Z_i^0.23 + Z_j^0.23)
    φ(x) = 0.18175 e^{−3.19980x} + 0.50986 e^{−0.94229x} + 0.28022 e^{−0.40290x}
           + 0.02817 e^{−0.20162x}
    S(r) = 1 (r ≤ inner), ½(1 + cos π(r − inner)/(outer − inner)) (inner < r < outer), 0 after

Each atom carries half of each of its pairs (the neighbour list is full). Units: Å, eV.
:class:`CoreTable` holds each species pair's switch radii and evaluates S and the switched
pair once per set of edges, only on the edges inside their pair's outer radius (elsewhere
both are exactly 0): the model fades its radials with that S and adds that pair energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

COULOMB_EV_A = 14.399645  # e²/(4πε₀) in eV·Å
_PHI_C = (0.18175, 0.50986, 0.28022, 0.02817)
_PHI_D = (3.19980, 0.94229, 0.40290, 0.20162)
PAIRS_FIELD = "model.repulsion_pairs_A"


def switch(r: torch.Tensor, inner_A, outer_A) -> tuple[torch.Tensor, torch.Tensor]:
    """S(r) of the module docstring and dS/dr [E] (1/Å); ``inner_A``/``outer_A`` floats or
    per-edge tensors [E] (Å)."""
    width = outer_A - inner_A
    t = ((r - inner_A) / width).clamp(0.0, 1.0)
    s = 0.5 * (1.0 + torch.cos(math.pi * t))
    inside = (r > inner_A) & (r < outer_A)
    ds = torch.where(inside, -0.5 * math.pi / width * torch.sin(math.pi * t), torch.zeros_like(r))
    return s, ds


def zbl(r: torch.Tensor, zi: torch.Tensor, zj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unswitched ZBL pair energy V(r) [E] (eV) and dV/dr [E] (eV/Å), float64, of edges of
    length ``r`` [E] (Å) between atomic numbers ``zi``, ``zj`` [E]. Differentiable by
    autograd too (so training and the autograd path see the same term)."""
    r = r.to(torch.float64)
    zi, zj = zi.to(torch.float64), zj.to(torch.float64)
    a = 0.46850 / (zi**0.23 + zj**0.23)
    x = r / a
    phi = sum(c * torch.exp(-d * x) for c, d in zip(_PHI_C, _PHI_D, strict=True))
    dphi = sum(-c * d / a * torch.exp(-d * x) for c, d in zip(_PHI_C, _PHI_D, strict=True))
    pref = COULOMB_EV_A * zi * zj
    return pref * phi / r, pref * (dphi / r - phi / r**2)


def switched(
    v: torch.Tensor, dv: torch.Tensor, s: torch.Tensor, ds: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """V·S and d(V·S)/dr = dV/dr·S + V·dS/dr (product rule), all [E]."""
    return v * s, dv * s + v * ds


def zbl_pair(
    r: torch.Tensor, zi: torch.Tensor, zj: torch.Tensor, inner_A, outer_A
) -> tuple[torch.Tensor, torch.Tensor]:
    """Switched ZBL pair energy V(r)·S(r) [E] (eV) and its derivative [E] (eV/Å), float64;
    ``inner_A``/``outer_A`` floats or per-edge tensors [E] (Å)."""
    r = r.to(torch.float64)
    return switched(*zbl(r, zi, zj), *switch(r, inner_A, outer_A))


def check_pairs(pairs_A: dict[str, list[float]]) -> None:
    """ValueError naming ``model.repulsion_pairs_A`` and the fix for a key that is not
    "Z1-Z2" (atomic numbers, Z1 ≤ Z2) or radii that are not [inner, outer], 0 < inner <
    outer (Å)."""
    for pair, radii in pairs_A.items():
        z = str(pair).split("-")
        numbers = [int(x) for x in z] if all(x.isdigit() for x in z) else []
        if len(numbers) != 2:
            fix = 'name the pair by atomic numbers "Z1-Z2", Z1 ≤ Z2, e.g. "8-14" for O–Si'
            raise ValueError(f"{PAIRS_FIELD} key {pair!r}: not 'Z1-Z2' (fix: {fix})")
        if numbers != sorted(numbers):
            fix = f'write it "{numbers[1]}-{numbers[0]}", the smaller atomic number first'
            raise ValueError(f"{PAIRS_FIELD} key {pair!r}: Z1 > Z2 (fix: {fix})")
        where = f"{PAIRS_FIELD}[{pair!r}] = {radii!r}"
        if len(radii) != 2:
            fix = "give two radii [inner, outer] in Å, e.g. [1.0, 1.5]"
            raise ValueError(f"{where}: not [inner, outer] (fix: {fix})")
        if not 0 < radii[0] < radii[1]:
            fix = "give 0 < inner < outer (Å), e.g. [1.0, 1.5]"
            raise ValueError(f"{where}: need 0 < inner < outer (fix: {fix})")


@dataclass(frozen=True)
class CoreEdges:
    """The core on the edges inside their pair's outer radius (all float64 but ``index``).

    Attributes:
        index: [C] int64, those edges' positions in the graph's edge list.
        switch, d_switch: [C] S(r) and dS/dr (1/Å).
        energy, d_energy: [C] switched pair energy V·S (eV) and d(V·S)/dr (eV/Å).
    """

    index: torch.Tensor
    switch: torch.Tensor
    d_switch: torch.Tensor
    energy: torch.Tensor
    d_energy: torch.Tensor

    def to(self, device: torch.device | str) -> CoreEdges:
        return CoreEdges(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def cat_core_edges(parts: list[CoreEdges], n_edges: list[int]) -> CoreEdges:
    """The core edges of several graphs (with ``n_edges`` edges each) batched in this order."""
    offsets = [0]
    for n in n_edges[:-1]:
        offsets.append(offsets[-1] + n)
    index = torch.cat([p.index + o for p, o in zip(parts, offsets, strict=True)])
    fields = ("switch", "d_switch", "energy", "d_energy")
    return CoreEdges(index, *(torch.cat([getattr(p, f) for p in parts]) for f in fields))


class CoreTable(torch.nn.Module):
    """Each species pair's switch radii (Å): ``pairs_A`` {"Z1-Z2": [inner, outer]} where
    given (pairs of other elements are ignored), else the global ``inner_A``/``outer_A``.

    Its tables are buffers that are not saved (they follow from the config) but move with
    the model. ``edges`` evaluates the core on one graph's edges.
    """

    def __init__(self, species: list[int], inner_A: float, outer_A: float, pairs_A: dict):
        super().__init__()
        check_pairs(pairs_A)
        n = len(species)
        inner = torch.full((n, n), float(inner_A), dtype=torch.float64)
        outer = torch.full((n, n), float(outer_A), dtype=torch.float64)
        index = {z: k for k, z in enumerate(species)}
        for pair, (lo, hi) in pairs_A.items():
            a, b = (index.get(int(z)) for z in pair.split("-"))
            if a is not None and b is not None:
                inner[a, b] = inner[b, a] = float(lo)
                outer[a, b] = outer[b, a] = float(hi)
        table = torch.full((119,), -1, dtype=torch.long)
        table[torch.tensor(species)] = torch.arange(n)
        self.register_buffer("species_index", table, persistent=False)
        self.register_buffer("inner_A", inner, persistent=False)
        self.register_buffer("outer_A", outer, persistent=False)

    def inside(self, r: torch.Tensor, zi: torch.Tensor, zj: torch.Tensor) -> torch.Tensor:
        """[E] bool, on ``r``'s device: edges of length ``r`` [E] (Å) between atomic numbers
        ``zi``, ``zj`` [E] (known species) shorter than their pair's outer radius."""
        here = self.outer_A.device
        si, sj = self.species_index[zi.to(here)], self.species_index[zj.to(here)]
        return r < self.outer_A[si, sj].to(r.device, r.dtype)

    def edges(self, r: torch.Tensor, zi: torch.Tensor, zj: torch.Tensor) -> CoreEdges:
        """The core of edges of length ``r`` [E] (Å, float64) between atomic numbers ``zi``,
        ``zj`` [E] (known species), on ``r``'s device (cached training terms may live
        elsewhere than the model); differentiable in ``r``."""
        here = self.inner_A.device
        si = self.species_index[zi.to(here)]
        sj = self.species_index[zj.to(here)]
        inner, outer = self.inner_A[si, sj].to(r.device), self.outer_A[si, sj].to(r.device)
        index = torch.nonzero(r < outer).squeeze(1)
        rc, inner, outer = r[index], inner[index], outer[index]
        s, ds = switch(rc, inner, outer)
        v, dv = switched(*zbl(rc, zi[index].to(r.device), zj[index].to(r.device)), s, ds)
        return CoreEdges(index, s, ds, v, dv)
