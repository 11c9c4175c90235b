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
"""

from __future__ import annotations

import math

import torch

COULOMB_EV_A = 14.399645  # e²/(4πε₀) in eV·Å
_PHI_C = (0.18175, 0.50986, 0.28022, 0.02817)
_PHI_D = (3.19980, 0.94229, 0.40290, 0.20162)


def switch(r: torch.Tensor, inner_A, outer_A) -> tuple[torch.Tensor, torch.Tensor]:
    """S(r) of the module docstring and dS/dr [E] (1/Å); ``inner_A``/``outer_A`` floats or
    per-edge tensors [E] (Å)."""
    width = outer_A - inner_A
    t = ((r - inner_A) / width).clamp(0.0, 1.0)
    s = 0.5 * (1.0 + torch.cos(math.pi * t))
    inside = (r > inner_A) & (r < outer_A)
    ds = torch.where(inside, -0.5 * math.pi / width * torch.sin(math.pi * t), torch.zeros_like(r))
    return s, ds


def zbl_pair(
    r: torch.Tensor, zi: torch.Tensor, zj: torch.Tensor, inner_A, outer_A
) -> tuple[torch.Tensor, torch.Tensor]:
    """Switched ZBL pair energy V(r) [E] (eV) and its derivative dV/dr [E] (eV/Å), float64;
    ``inner_A``/``outer_A`` floats or per-edge tensors [E] (Å).

    Differentiable by autograd too (so training and the autograd path see the same term).
    """
    r = r.to(torch.float64)
    zi, zj = zi.to(torch.float64), zj.to(torch.float64)
    a = 0.46850 / (zi**0.23 + zj**0.23)
    x = r / a
    phi = sum(c * torch.exp(-d * x) for c, d in zip(_PHI_C, _PHI_D, strict=True))
    dphi = sum(-c * d / a * torch.exp(-d * x) for c, d in zip(_PHI_C, _PHI_D, strict=True))
    pref = COULOMB_EV_A * zi * zj
    v = pref * phi / r
    dv = pref * (dphi / r - phi / r**2)
    s, ds = switch(r, inner_A, outer_A)
    return v * s, dv * s + v * ds
