"""Distances between MD observables and their noise floor (notes/validation.md).

- :func:`l1_distance`: ∫|y₁(x) − y₂(x)| dx of two curves on the same uniform bins (g(r)
  partials up to half the box, bond-angle densities over 0–180°).
- :func:`noise_floor`: the mean distance between the reference runs (other seed, other
  start): what two runs of the *same* potential differ by. A model's distance is inside the
  noise when it is at most ``allowance`` × the floor.
- :func:`diffusion_window_ps`: the MSD fit window, the second half of one block's lags.

Block-average standard errors come from :func:`mlmd.analysis.thermo.block_error` (the
analysis applies it to every thermo series: pressure, potential energy, density).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np


def l1_distance(x: np.ndarray, y1: np.ndarray, y2: np.ndarray, x_max: float | None = None) -> float:
    """∫|y₁ − y₂| dx over uniform bins centred at ``x`` [N] (bins with x < ``x_max``).

    Units: those of y times those of x (Å for g(r), 1 for unit-area angle densities).
    """
    x, y1, y2 = (np.asarray(a, dtype=float) for a in (x, y1, y2))
    if not (x.shape == y1.shape == y2.shape) or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"curves need one shared grid of ≥ 2 points (got {x.shape}, {y1.shape})")
    width = float(x[1] - x[0])
    keep = np.ones(len(x), bool) if x_max is None else x < x_max
    return float(np.abs(y1[keep] - y2[keep]).sum() * width)


def noise_floor(curves: Sequence[np.ndarray], distance: Callable[..., float]) -> float:
    """Mean ``distance(a, b)`` over every pair of the reference runs' ``curves`` (≥ 2)."""
    if len(curves) < 2:
        raise ValueError("a noise floor needs at least two reference runs")
    return float(np.mean([distance(a, b) for a, b in itertools.combinations(curves, 2)]))


def mean_distance_to(curve: np.ndarray, refs: Sequence[np.ndarray], distance) -> float:
    """Mean ``distance(curve, ref)`` over the reference runs: the model's distance."""
    return float(np.mean([distance(curve, r) for r in refs]))


def diffusion_window_ps(n_frames: int, frame_dt_ps: float, n_blocks: int) -> tuple[float, float]:
    """MSD fit window (ps): the second half of the lags of one of ``n_blocks`` blocks.

    The slope of the full window's origin-averaged MSD over these lags gives D; the same fit
    per block gives its standard error (mlmd.analysis.dynamics.fit_diffusion).
    """
    block_frames = n_frames // n_blocks
    if block_frames < 4:
        raise ValueError(f"{n_frames} frames cannot make {n_blocks} blocks of ≥ 4 frames")
    longest = (block_frames - 1) * frame_dt_ps
    return 0.5 * longest, longest


def relative_difference(value: float, reference: float) -> float:
    """|value − reference| / |reference| (inf when the reference is 0 and value is not)."""
    if reference == 0:
        return 0.0 if value == 0 else float("inf")
    return abs(value - reference) / abs(reference)


def mean_and_error(values: Sequence[float], errors: Sequence[float]) -> tuple[float, float]:
    """Mean of the reference runs' values and its standard error: the runs' own errors
    combined (σ/n) or, when larger, the scatter between the runs (std/√n)."""
    v, e = np.asarray(values, float), np.asarray(errors, float)
    n = len(v)
    propagated = float(np.sqrt(np.nansum(e**2)) / n) if np.isfinite(e).any() else float("nan")
    scatter = float(np.std(v, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return float(v.mean()), float(np.nanmax([propagated, scatter]))
