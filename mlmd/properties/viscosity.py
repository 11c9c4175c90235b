"""Shear viscosity by Green–Kubo from the pressure tensor of fixed-volume MD (NVE or NVT).

    η = V / (k_B T) ∫_0^∞ ⟨P°_s(0) P°_s(t)⟩ dt

for each shear-like component s of the symmetric traceless pressure tensor P°. An isotropic
liquid has five independent ones; mlmd uses all of them (Daivis & Evans, J. Chem. Phys. 100,
541 (1994)), as six estimators of the same η:

- the off-diagonals P_xy, P_xz, P_yz (symmetrised, (P_ab + P_ba)/2), weight 0.2 each;
- the half differences (P_xx − P_yy)/2, (P_yy − P_zz)/2, (P_zz − P_xx)/2, weight 0.4/3 each.

The half differences have the same autocorrelation as an off-diagonal in an isotropic fluid
but only two of the three are independent; the weights (3 off-diagonals : 2 diagonal degrees
of freedom) make the combination exactly (V/10kT) Σ_ab ∫⟨P°_ab P°_ab⟩, the isotropic average
over all nine components. Using the diagonal pairs besides xy, xz, yz cuts the error by
~√(5/3) at no extra MD cost. The running integral, plateau rule and block errors are those of
:mod:`mlmd.properties.green_kubo` (blocks of each replica, or independent replicas).

Units: pressure GPa, volume Å³, time fs → η in Pa·s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from ase.units import _k as KB_J_PER_K

from mlmd.errors import InputError
from mlmd.properties.green_kubo import GreenKubo, green_kubo
from mlmd.properties.observables import read_run

#: Shear estimators of the traceless pressure tensor and their weights (module docstring).
WEIGHTS = {
    "xy": 0.2,
    "xz": 0.2,
    "yz": 0.2,
    "(xx-yy)/2": 0.4 / 3,
    "(yy-zz)/2": 0.4 / 3,
    "(zz-xx)/2": 0.4 / 3,
}
#: V[Å³] GPa² fs / (k_B[J/K] T) → Pa·s, times 1/T.
_PA_S = 1e-30 * 1e18 * 1e-15 / KB_J_PER_K
#: Ensembles with a fixed volume (Green–Kubo needs V constant).
FIXED_VOLUME = ("nve", "langevin", "nose_hoover_chain", "berendsen")


@dataclass(frozen=True)
class Viscosity:
    """η ± σ (Pa·s) with its Green–Kubo curves (``gk`` integrals already in Pa·s)."""

    value_Pa_s: float
    error_Pa_s: float
    gk: GreenKubo
    volume_A3: float
    temperature_K: float
    sampled_ps: float
    thermostat: str | None = None
    replica_temperatures_K: tuple[float, ...] = ()

    def summary(self) -> dict:
        """JSON-ready values (the curves go to the .dat file, not here)."""
        v, e = self.value_Pa_s, self.error_Pa_s
        return {
            "value": v,
            "error": e,
            "unit": "Pa s",
            "log10_Pa_s": float(np.log10(v)) if v > 0 else None,
            "log10_error": float(e / (v * np.log(10))) if v > 0 else None,
            "components_Pa_s": self.gk.component_values,
            "plateau_window_ps": [w / 1e3 for w in self.gk.window_fs],
            "n_blocks": self.gk.n_blocks,
            "block_ps": self.gk.block_fs / 1e3,
            "sampled_ps": self.sampled_ps,
            "volume_A3": self.volume_A3,
            "temperature_K": self.temperature_K,
            "thermostat": self.thermostat,
            "replica_temperatures_K": list(self.replica_temperatures_K),
            "method": "Green-Kubo, 3 off-diagonal + 3 diagonal-difference components "
            "(Daivis-Evans weights); "
            + ("fixed plateau window" if self.gk.fixed_window else "plateau [2t0, 4t0]")
            + ", block errors",
        }


def shear_components(pressure_GPa: np.ndarray) -> dict[str, np.ndarray]:
    """The six shear estimators of :data:`WEIGHTS` from a pressure tensor series [T, 3, 3]."""
    p = np.asarray(pressure_GPa, dtype=float)
    if p.ndim != 3 or p.shape[1:] != (3, 3):
        raise InputError(f"pressure tensor of shape {p.shape}, expected [T, 3, 3]")
    return {
        "xy": 0.5 * (p[:, 0, 1] + p[:, 1, 0]),
        "xz": 0.5 * (p[:, 0, 2] + p[:, 2, 0]),
        "yz": 0.5 * (p[:, 1, 2] + p[:, 2, 1]),
        "(xx-yy)/2": 0.5 * (p[:, 0, 0] - p[:, 1, 1]),
        "(yy-zz)/2": 0.5 * (p[:, 1, 1] - p[:, 2, 2]),
        "(zz-xx)/2": 0.5 * (p[:, 2, 2] - p[:, 0, 0]),
    }


def viscosity(
    pressure_GPa: Sequence[np.ndarray],
    dt_fs: float,
    volume_A3: float,
    temperature_K: float,
    *,
    blocks_per_series: int = 4,
    max_lag_fs: float | None = None,
    plateau_fs: tuple[float, float] | None = None,
    name: str = "pressure tensor",
) -> Viscosity:
    """η from independent replicas of the pressure tensor, each [T_r, 3, 3] GPa, sampled every
    ``dt_fs``, at volume ``volume_A3`` and temperature ``temperature_K``; ``plateau_fs`` fixes
    the plateau window instead of the rule (:func:`mlmd.properties.green_kubo.green_kubo`)."""
    if volume_A3 <= 0 or temperature_K <= 0:
        raise InputError(
            f"volume {volume_A3} Å³ and temperature {temperature_K} K must be positive",
            file=name,
        )
    series = [shear_components(p) for p in pressure_GPa]
    gk = green_kubo(
        series,
        dt_fs,
        weights=WEIGHTS,
        blocks_per_series=blocks_per_series,
        max_lag_fs=max_lag_fs,
        plateau_fs=plateau_fs,
        name=name,
    ).scaled(volume_A3 * _PA_S / temperature_K)
    sampled = sum(len(p) for p in pressure_GPa) * dt_fs / 1e3
    return Viscosity(gk.value, gk.error, gk, float(volume_A3), float(temperature_K), sampled)


def viscosity_from_runs(
    paths: Sequence[str | Path],
    *,
    window=None,
    blocks_per_series: int = 4,
    max_lag_fs: float | None = None,
    plateau_fs: tuple[float, float] | None = None,
) -> Viscosity:
    """η from the ``pressure_tensor``, ``volume`` and ``temperature`` observables of one or
    more fixed-volume MD trajectories (independent replicas at one state point), using the
    samples in ``window`` (an analysis window, CONTRACTS §3: ``"time_ps:A:B"``,
    ``"segment:K"``, ...; None = all).

    Raises:
        InputError: a file without the pressure tensor, a run whose volume changes (NPT),
            unevenly spaced samples, replicas sampled differently, or too short for the
            plateau.
    """
    tensors, volumes, temps, dts, kinds = [], [], [], [], set()
    for path in paths:
        run = read_run(path)
        kind = run.ensemble
        if kind is not None and (kind not in FIXED_VOLUME or _barostat(run.config)):
            raise InputError(
                f"ensemble '{kind}' changes the volume; Green–Kubo viscosity needs fixed volume",
                file=str(path),
                field="ensemble.kind",
                fix="run NVT ('langevin', 'nose_hoover_chain') or NVE at the state point",
            )
        kinds.add(kind)
        start_ps, end_ps = run.window_ps(window)
        ptensor = run.series("pressure_tensor", "Green–Kubo viscosity").between(start_ps, end_ps)
        dts.append(ptensor.interval_fs(str(path), "pressure_tensor"))
        tensors.append(ptensor.value)
        volumes.append(run.series("volume", "Green–Kubo viscosity").between(start_ps, end_ps))
        temps.append(run.series("temperature", "Green–Kubo viscosity").between(start_ps, end_ps))
    if np.ptp(dts) > 1e-6 * max(dts):
        raise InputError(
            f"replicas sample the pressure tensor every {sorted(set(dts))} fs",
            file=", ".join(map(str, paths)),
            field="output.pressure_tensor_every",
            fix="use the same interval and timestep in every replica",
        )
    volume = float(np.mean(np.concatenate([v.value for v in volumes])))
    temperature = float(np.mean(np.concatenate([t.value for t in temps])))
    result = viscosity(
        tensors,
        dts[0],
        volume,
        temperature,
        blocks_per_series=blocks_per_series,
        max_lag_fs=max_lag_fs,
        plateau_fs=plateau_fs,
        name=", ".join(map(str, paths)),
    )
    thermostat = "/".join(sorted(k or "unknown" for k in kinds))
    means = tuple(float(t.value.mean()) for t in temps)
    return replace(result, thermostat=thermostat, replica_temperatures_K=means)


def _barostat(config: dict) -> bool:
    ens = config.get("ensemble", {})
    return ens.get("kind") == "berendsen" and bool(ens.get("barostat"))
