"""Temperature scans in NPT: thermal expansion of a glass, density of a liquid and its maximum.

A scan is one NPT run whose schedule holds a series of temperatures (:func:`hold_segments`
finds the constant-T stretches of a run's schedule); every hold gives a state point — the mean
volume and density over the hold minus its first ``equilibration_ps``, with block standard
errors (:func:`mlmd.analysis.thermo.block_error`, 5 blocks).

- :func:`thermal_expansion`: weighted linear fit V(T) = V̄ + s (T − T̄) over the points;
  α = s / V̄ (1/K) at the mean temperature T̄, its error from the fit (point errors as
  absolute σ; with under three points an error is refused).
- :func:`density_maximum`: the highest mean density, and — when it is an interior point — a
  weighted quadratic through it and its neighbours (up to two each side):
  T_max = −c₁/(2c₂) with its propagated error. ``resolved`` is False (with a reason) when the
  maximum sits at an end of the scan or the curvature is not negative by 2σ.

Units: K, Å³, g/cm³.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mlmd.analysis.thermo import block_error
from mlmd.errors import InputError
from mlmd.properties.observables import Run


@dataclass(frozen=True)
class StatePoint:
    """Means over one temperature hold (errors: block standard errors)."""

    temperature_K: float
    volume_A3: float
    volume_err_A3: float
    density_g_cm3: float
    density_err_g_cm3: float
    start_ps: float
    end_ps: float
    n_samples: int


@dataclass(frozen=True)
class ThermalExpansion:
    """α (1/K) ± σ at ``reference_K`` from a linear fit of V(T)."""

    alpha_per_K: float
    alpha_err_per_K: float
    reference_K: float
    volume_A3: float
    slope_A3_per_K: float
    n_points: int

    def summary(self) -> dict:
        return {
            "value": self.alpha_per_K,
            "error": self.alpha_err_per_K,
            "unit": "1/K",
            **asdict(self),
        }


@dataclass(frozen=True)
class DensityMaximum:
    """The temperature of maximum density (K) ± σ, the maximum density (g/cm³)."""

    t_max_K: float
    t_max_err_K: float
    density_max_g_cm3: float
    resolved: bool
    reason: str

    def summary(self) -> dict:
        return {"value": self.t_max_K, "error": self.t_max_err_K, "unit": "K", **asdict(self)}


def hold_segments(config: dict, min_ps: float = 0.0) -> list[tuple[float, float, float]]:
    """(temperature_K, start_ps, end_ps) of every schedule segment of a run that holds one
    temperature for longer than ``min_ps`` (:func:`mlmd.analysis.window.segments`)."""
    from mlmd.analysis.window import segments

    holds = []
    for seg in segments(config):
        temps = seg.temperature_K
        if temps and temps[0] == temps[1] and seg.end_ps - seg.start_ps > min_ps:
            holds.append((float(temps[0]), seg.start_ps, seg.end_ps))
    return holds


def state_points(run: Run, equilibration_ps: float) -> list[StatePoint]:
    """One :class:`StatePoint` per temperature hold of ``run`` (NPT), skipping the first
    ``equilibration_ps`` of each hold.

    Raises:
        InputError: a run that is not NPT, or without volume/density observables.
    """
    if run.ensemble not in (None, "npt"):
        raise InputError(
            f"ensemble '{run.ensemble}' keeps the volume fixed; a temperature scan of the "
            "volume needs NPT",
            file=str(run.path),
            field="ensemble.kind",
            fix="run the scan with ensemble.kind = 'npt'",
        )
    volume = run.series("volume", "a temperature scan")
    density = run.series("density", "a temperature scan")
    points = []
    for temp, start, end in hold_segments(run.config, min_ps=equilibration_ps):
        v = volume.between(start + equilibration_ps, end).value
        d = density.between(start + equilibration_ps, end).value
        if len(v) < 10:
            continue
        points.append(
            StatePoint(
                temperature_K=temp,
                volume_A3=float(v.mean()),
                volume_err_A3=block_error(v),
                density_g_cm3=float(d.mean()),
                density_err_g_cm3=block_error(d),
                start_ps=start + equilibration_ps,
                end_ps=end,
                n_samples=len(v),
            )
        )
    return points


def thermal_expansion(
    temperature_K: Sequence[float], volume_A3: Sequence[float], volume_err_A3: Sequence[float]
) -> ThermalExpansion:
    """α = (1/V̄) dV/dT from a weighted linear fit (see module docstring)."""
    t = np.asarray(temperature_K, dtype=float)
    v = np.asarray(volume_A3, dtype=float)
    e = np.asarray(volume_err_A3, dtype=float)
    if len(t) < 3 or len(np.unique(t)) < 3:
        raise InputError(
            f"{len(np.unique(t))} temperatures: a thermal expansion with an error needs ≥ 3",
            field="temperatures_K",
            fix="scan at least three temperatures",
        )
    if not (np.isfinite(e).all() and (e > 0).all()):
        raise InputError(
            "every volume needs a finite, positive error (hold each temperature longer)",
            field="volume_err_A3",
        )
    t_ref = float(np.average(t, weights=e**-2))
    (slope, intercept), cov = np.polyfit(t - t_ref, v, 1, w=1.0 / e, cov="unscaled")
    return ThermalExpansion(
        alpha_per_K=float(slope / intercept),
        alpha_err_per_K=float(np.sqrt(cov[0, 0]) / intercept),
        reference_K=t_ref,
        volume_A3=float(intercept),
        slope_A3_per_K=float(slope),
        n_points=len(t),
    )


def density_maximum(
    temperature_K: Sequence[float], density: Sequence[float], density_err: Sequence[float]
) -> DensityMaximum:
    """The density maximum of a ρ(T) curve (see module docstring)."""
    order = np.argsort(np.asarray(temperature_K, dtype=float))
    t = np.asarray(temperature_K, dtype=float)[order]
    d = np.asarray(density, dtype=float)[order]
    e = np.asarray(density_err, dtype=float)[order]
    k = int(np.argmax(d))
    if k == 0 or k == len(t) - 1:
        end = "lowest" if k == 0 else "highest"
        return DensityMaximum(
            float(t[k]), float("nan"), float(d[k]), False, f"the density is largest at the {end} T"
        )
    sel = slice(max(0, k - 2), min(len(t), k + 3))
    ts, ds, es = t[sel], d[sel], e[sel]
    if len(ts) < 4 or not (np.isfinite(es).all() and (es > 0).all()):
        es = np.full(len(ts), max(float(np.std(ds)), 1e-12))
    x0 = float(t[k])
    coef, cov = np.polyfit(ts - x0, ds, 2, w=1.0 / es, cov="unscaled")
    c2, c1, c0 = coef
    tmax = x0 - c1 / (2 * c2)
    grad = np.array([c1 / (2 * c2 * c2), -1 / (2 * c2), 0.0])
    err = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
    reason = ""
    if not c2 < -2 * np.sqrt(cov[0, 0]):
        reason = "the curvature of ρ(T) at its largest value is not negative by 2σ"
    elif not ts[0] <= tmax <= ts[-1]:
        reason = "the fitted maximum lies outside the points around the largest density"
    rho_max = float(c0 - c1 * c1 / (4 * c2))
    return DensityMaximum(float(tmax), err, rho_max, not reason, reason)
