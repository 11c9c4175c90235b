"""Edge bases of the flagship model: Bessel radial functions with a smooth envelope, and
Cartesian angular tensors up to l = 2.

Both are pure functions of edge vectors (Å), so the model stays a function of edge vectors
only (the potential contract).
"""

from __future__ import annotations

import math

import torch


def polynomial_envelope(x: torch.Tensor, p: int = 6) -> torch.Tensor:
    """DimeNet envelope u(x), x = r / r_c: u(0) = 1 and u, u', u'' vanish at x = 1.

    Beyond the cutoff it is exactly 0, so energy and force are continuous when an atom
    crosses r_c. Shape follows ``x``.
    """
    a = (p + 1) * (p + 2) / 2.0
    b = p * (p + 2.0)
    c = p * (p + 1) / 2.0
    u = 1.0 - a * x**p + b * x ** (p + 1) - c * x ** (p + 2)
    return torch.where(x < 1.0, u, torch.zeros_like(u))


def bessel_basis(r: torch.Tensor, cutoff_A: float, n_basis: int) -> torch.Tensor:
    """[E, n_basis] sqrt(2/r_c) sin(n π r / r_c) / r for n = 1..n_basis (r in Å, E edges)."""
    n = torch.arange(1, n_basis + 1, dtype=r.dtype, device=r.device)
    pref = math.sqrt(2.0 / cutoff_A)
    return pref * torch.sin(n * (math.pi / cutoff_A) * r[:, None]) / r[:, None]


def angular_tensors(unit: torch.Tensor) -> torch.Tensor:
    """[E, 13] Cartesian angular features of unit vectors [E, 3].

    Columns: 1 (l = 0), u (l = 1, 3 columns), u uᵀ − I/3 flattened row-major (l = 2,
    9 columns, symmetric and traceless). Under a rotation R the l = 1 part transforms as
    R u and the l = 2 part as R T Rᵀ, so Cartesian contractions of them are invariant.
    """
    eye = torch.eye(3, dtype=unit.dtype, device=unit.device) / 3.0
    t2 = unit[:, :, None] * unit[:, None, :] - eye
    return torch.cat([torch.ones_like(unit[:, :1]), unit, t2.reshape(-1, 9)], dim=1)


def radial_basis(
    r: torch.Tensor, cutoff_A: float, n_basis: int, p: int = 6
) -> tuple[torch.Tensor, torch.Tensor]:
    """[E, n_basis] R_n(r) = Bessel_n(r) · u(r/r_c) and its derivative dR_n/dr (1/Å)."""
    n = torch.arange(1, n_basis + 1, dtype=r.dtype, device=r.device)
    kr = n * (math.pi / cutoff_A) * r[:, None]
    pref = math.sqrt(2.0 / cutoff_A)
    inv_r = 1.0 / r[:, None]
    j = pref * torch.sin(kr) * inv_r
    dj = pref * (n * (math.pi / cutoff_A) * torch.cos(kr) - torch.sin(kr) * inv_r) * inv_r
    x = r / cutoff_A
    a = (p + 1) * (p + 2) / 2.0
    b = p * (p + 2.0)
    c = p * (p + 1) / 2.0
    du = (-a * p * x ** (p - 1) + b * (p + 1) * x**p - c * (p + 2) * x ** (p + 1)) / cutoff_A
    du = torch.where(x < 1.0, du, torch.zeros_like(du))
    u = polynomial_envelope(x, p)
    return j * u[:, None], dj * u[:, None] + j * du[:, None]


def angular_gradient(cotangents: torch.Tensor, unit: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """[E, K, 3] Σ_m c_m ∂Y_m/∂r_vec (1/Å × c) for cotangents c [E, K, 13] of the
    :func:`angular_tensors` Y of unit vectors [E, 3] at lengths r [E] Å.

    With P = ∂u/∂r_vec = (I − u uᵀ)/r: l = 0 contributes nothing, l = 1 gives cᵀP and l = 2
    (u_a u_b) gives Σ_ab c_ab (P_a· u_b + u_a P_b·). Both collapse to one vector
    v = c₁ + (C₂ + C₂ᵀ) u projected perpendicular to u: (v − u (u·v)) / r, with no
    [E, 13, 3] Jacobian built.
    """
    u = unit[:, None, :]
    c2 = cotangents[..., 4:].unflatten(-1, (3, 3))
    v = cotangents[..., 1:4] + ((c2 + c2.transpose(-1, -2)) * u[..., None, :]).sum(-1)
    return (v - u * (u * v).sum(-1, keepdim=True)) / r[:, None, None]
