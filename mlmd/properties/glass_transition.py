"""Glass transition from the kink of y(T) during a quench: a continuous two-line (hinge) fit.

Model (least squares over all points, T in K, y in any unit — enthalpy per atom, volume,
density)::

    y(T) = a + b_glass (T − T_g)     for T < T_g
    y(T) = a + b_liquid (T − T_g)    for T ≥ T_g

For each trial T_g the fit is linear in (a, b_glass, b_liquid); its residual sum of squares
SSR(T_g) comes from prefix sums over the T-sorted points (O(1) per trial), so a grid of 400
trials over the allowed range plus a bounded refinement of the best one costs O(n). Every
branch keeps at least ``min_points`` points.

Uncertainty: the quench samples are correlated in time (neighbouring points share MD
noise), so σ(T_g) and σ(b) come from a moving-block bootstrap of the residuals (in T order;
block length twice the lag at which the residual autocorrelation first drops below 1/e;
200 resamples, fixed seed: reproducible).

The kink counts as *resolved* when the two slopes differ by more than 3 of their bootstrap
standard deviations and T_g ± 2σ lies inside the fitted range; otherwise ``resolved`` is
False, ``reason`` says why, and T_g is the best hinge anyway (callers must not report it as
a glass transition).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from mlmd.errors import InputError

#: Trial hinge positions of the coarse scan; bootstrap resamples.
N_GRID, N_BOOTSTRAP = 400, 200


@dataclass(frozen=True)
class Line:
    """y = intercept + slope · T on one side of T_g (slope in y-unit/K, intercept at T = 0 K);
    ``slope_err`` is the bootstrap standard deviation."""

    slope: float
    intercept: float
    slope_err: float


@dataclass(frozen=True)
class GlassTransition:
    """Result of :func:`glass_transition`.

    Attributes:
        tg_K, tg_err_K: hinge temperature and its bootstrap standard deviation (K).
        resolved: True when the kink is significant (see module docstring).
        reason: why the kink is not resolved ("" when it is).
        glass, liquid: the low-T and high-T lines.
        t_range_K: (min, max) of the fitted temperatures.
        n_points: number of (T, y) points fitted; rms: root-mean-square residual (y unit).
    """

    tg_K: float
    tg_err_K: float
    resolved: bool
    reason: str
    glass: Line
    liquid: Line
    t_range_K: tuple[float, float]
    n_points: int
    rms: float

    def as_dict(self) -> dict:
        """Plain JSON-ready values."""
        return asdict(self)

    def predict(self, temperature_K: np.ndarray) -> np.ndarray:
        """The fitted two-line curve at ``temperature_K`` [n]."""
        t = np.asarray(temperature_K, dtype=float)
        low = self.glass.intercept + self.glass.slope * t
        high = self.liquid.intercept + self.liquid.slope * t
        return np.where(t < self.tg_K, low, high)


def glass_transition(
    temperature_K: np.ndarray,
    y: np.ndarray,
    *,
    min_points: int = 5,
    seed: int = 0,
) -> GlassTransition:
    """T_g ± σ from the kink of ``y`` against ``temperature_K`` (see module docstring).

    Args:
        temperature_K: [n] temperatures (any order: a quench goes down in T).
        y: [n] the quantity (enthalpy, volume or density), same order.
        min_points: fewest points on each branch (≥ 3).
        seed: seed of the bootstrap.

    Raises:
        InputError: arrays of different lengths, non-finite values, or fewer than
            2 · ``min_points`` + 1 points over a non-zero temperature range.
    """
    t, v = _checked(temperature_K, y, min_points)
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    tg, beta, fitted = _best_hinge(t, v, min_points)
    residuals = v - fitted
    boot = _bootstrap(t, fitted, residuals, min_points, seed)
    tg_err = float(np.std(boot[:, 0], ddof=1))
    slope_err = np.std(boot[:, 2:], axis=0, ddof=1)
    a, b_glass, b_liquid = beta
    diff_err = float(np.std(boot[:, 3] - boot[:, 2], ddof=1))
    reason = ""
    if not abs(b_liquid - b_glass) > 3.0 * diff_err:
        reason = (
            f"the slopes {b_glass:.4g} and {b_liquid:.4g} differ by less than 3σ "
            f"({3 * diff_err:.3g}): no kink resolved"
        )
    elif not (t[0] < tg - 2.0 * tg_err and tg + 2.0 * tg_err < t[-1]):
        reason = f"T_g ± 2σ = {tg:.0f} ± {2 * tg_err:.0f} K reaches the end of the data"
    return GlassTransition(
        tg_K=float(tg),
        tg_err_K=tg_err,
        resolved=not reason,
        reason=reason,
        glass=Line(float(b_glass), float(a - b_glass * tg), float(slope_err[0])),
        liquid=Line(float(b_liquid), float(a - b_liquid * tg), float(slope_err[1])),
        t_range_K=(float(t[0]), float(t[-1])),
        n_points=int(len(t)),
        rms=float(np.sqrt(np.mean(residuals**2))),
    )


def _checked(temperature_K, y, min_points: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(temperature_K, dtype=float).ravel()
    v = np.asarray(y, dtype=float).ravel()
    if min_points < 3:
        raise InputError(f"min_points={min_points} is below 3", field="min_points", fix="use ≥ 3")
    if len(t) != len(v):
        raise InputError(
            f"{len(t)} temperatures but {len(v)} values",
            field="temperature_K, y",
            fix="pass one value per temperature",
        )
    if not (np.isfinite(t).all() and np.isfinite(v).all()):
        raise InputError("non-finite temperatures or values", field="temperature_K, y")
    if len(t) < 2 * min_points + 1 or np.ptp(t) <= 0:
        raise InputError(
            f"{len(t)} points over {np.ptp(t) if len(t) else 0:.0f} K are too few for a "
            f"two-line fit",
            field="temperature_K",
            fix=f"give at least {2 * min_points + 1} points over a range of temperatures",
        )
    return t, v


class _Sums:
    """Prefix sums of the T-sorted data (centred and scaled) for O(1) hinge fits."""

    def __init__(self, t: np.ndarray, y: np.ndarray):
        self.t0, self.ts = float(np.mean(t)), float(np.std(t)) or 1.0
        self.y0 = float(np.mean(y))
        x, w = (t - self.t0) / self.ts, y - self.y0
        self.x = x
        self.n = len(x)
        zero = np.zeros(1)
        self.c1 = np.concatenate([zero, np.cumsum(x)])
        self.c2 = np.concatenate([zero, np.cumsum(x * x)])
        self.cy = np.concatenate([zero, np.cumsum(w)])
        self.cxy = np.concatenate([zero, np.cumsum(x * w)])
        self.yy = float(np.sum(w * w))

    def fit(self, tg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SSR [m] and (a, b_glass, b_liquid) [m, 3] in the original units, for hinges tg [m]."""
        g = (np.atleast_1d(tg) - self.t0) / self.ts
        k = np.searchsorted(self.x, g)
        n, c1, c2, cy, cxy = self.n, self.c1, self.c2, self.cy, self.cxy
        lo1 = c1[k] - k * g
        lo2 = c2[k] - 2 * g * c1[k] + k * g * g
        loy = cxy[k] - g * cy[k]
        hi1 = (c1[-1] - c1[k]) - (n - k) * g
        hi2 = (c2[-1] - c2[k]) - 2 * g * (c1[-1] - c1[k]) + (n - k) * g * g
        hiy = (cxy[-1] - cxy[k]) - g * (cy[-1] - cy[k])
        m = np.zeros((len(g), 3, 3))
        m[:, 0, 0], m[:, 0, 1], m[:, 0, 2] = n, lo1, hi1
        m[:, 1, 0], m[:, 1, 1] = lo1, lo2
        m[:, 2, 0], m[:, 2, 2] = hi1, hi2
        rhs = np.stack([np.full_like(g, cy[-1]), loy, hiy], axis=1)
        beta = np.linalg.solve(m, rhs[..., None])[..., 0]
        ssr = self.yy - np.einsum("ij,ij->i", beta, rhs)
        beta = beta * np.array([1.0, 1.0 / self.ts, 1.0 / self.ts]) + np.array([self.y0, 0, 0])
        return ssr, beta


def _best_hinge(t: np.ndarray, y: np.ndarray, min_points: int, refine: bool = True):
    """(T_g, (a, b_glass, b_liquid), fitted y [n]) of the least-squares hinge; ``refine``
    polishes the best grid hinge (the bootstrap keeps the grid's 1/400 of the range)."""
    sums = _Sums(t, y)
    lo, hi = t[min_points - 1], t[len(t) - min_points]
    if hi <= lo:
        lo, hi = t[0], t[-1]
    grid = np.linspace(lo, hi, N_GRID)
    ssr, _ = sums.fit(grid)
    best = int(np.argmin(ssr))
    step = grid[1] - grid[0]
    bounds = (max(lo, grid[best] - step), min(hi, grid[best] + step))
    if refine and bounds[1] > bounds[0]:
        res = minimize_scalar(
            lambda g: float(sums.fit(np.array([g]))[0][0]),
            bounds=bounds,
            method="bounded",
            options={"xatol": 1e-6 * max(1.0, abs(grid[best]))},
        )
        tg = float(res.x) if res.fun <= ssr[best] else float(grid[best])
    else:
        tg = float(grid[best])
    beta = sums.fit(np.array([tg]))[1][0]
    fitted = beta[0] + np.where(t < tg, beta[1], beta[2]) * (t - tg)
    return tg, beta, fitted


def _block_length(residuals: np.ndarray) -> int:
    """Twice the lag at which the residual autocorrelation first drops below 1/e (≥ 1)."""
    r = residuals - residuals.mean()
    var = float(np.dot(r, r))
    if var == 0:
        return 1
    n = len(r)
    f = np.fft.rfft(r, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n] / var
    below = np.nonzero(acf < np.exp(-1.0))[0]
    lag = int(below[0]) if len(below) else n
    return int(min(max(1, 2 * lag), max(1, n // 4)))


def _bootstrap(t, fitted, residuals, min_points: int, seed: int) -> np.ndarray:
    """[N_BOOTSTRAP, 4] rows (T_g, a, b_glass, b_liquid) refitted on block-resampled data."""
    rng = np.random.default_rng(seed)
    n = len(t)
    length = _block_length(residuals)
    n_blocks = -(-n // length)
    out = np.empty((N_BOOTSTRAP, 4))
    for b in range(N_BOOTSTRAP):
        starts = rng.integers(0, n - length + 1, size=n_blocks)
        idx = (starts[:, None] + np.arange(length)[None, :]).ravel()[:n]
        tg, beta, _ = _best_hinge(t, fitted + residuals[idx], min_points, refine=False)
        out[b] = (tg, *beta)
    return out
