"""Thermodynamic time series from H5MD ``/observables``: statistics, energy drift, ensemble spread.

Each series gets mean, standard deviation, block standard error of the mean (5 contiguous
blocks), min, max, first and last value. The energy drift is the least-squares slope of the
conserved energy (``conserved_energy``, else ``total_energy``) over time, per atom, in
eV/atom/ps, with the largest excursion |E(t) − E(0)|/N. The ensemble spread (force_std_max,
force_std_mean from an ensemble potential, eV/Å) is summarised the same way plus its trend.
"""

from __future__ import annotations

import numpy as np

from mlmd.analysis.trajectory import Series

#: Observables the report plots, in this order, with their axis labels.
THERMO_NAMES = {
    "temperature": "T (K)",
    "pressure": "P (GPa)",
    "potential_energy": "E_pot (eV)",
    "kinetic_energy": "E_kin (eV)",
    "total_energy": "E_tot (eV)",
    "conserved_energy": "E_cons (eV)",
    "volume": "V (Å³)",
    "density": "ρ (g/cm³)",
    "force_std_max": "max σ_F (eV/Å)",
    "force_std_mean": "mean σ_F (eV/Å)",
}
SPREAD_NAMES = ("force_std_max", "force_std_mean")


def block_error(values: np.ndarray, n_blocks: int = 5) -> float:
    """Standard error of the mean from ``n_blocks`` contiguous block means (NaN if too short)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 * n_blocks:
        return float("nan")
    means = [b.mean() for b in np.array_split(values, n_blocks)]
    return float(np.std(means, ddof=1) / np.sqrt(n_blocks))


def series_stats(series: Series) -> dict:
    """Mean, std, block error of the mean, extremes, first/last value (in the series' own
    ``unit``) and its time span [start, end] in ps."""
    v = series.value
    return {
        "unit": series.unit,
        "n": int(len(v)),
        "mean": float(np.mean(v)),
        "std": float(np.std(v)),
        "sem_blocks": block_error(v),
        "min": float(np.min(v)),
        "max": float(np.max(v)),
        "first": float(v[0]),
        "last": float(v[-1]),
        "time_ps": [float(series.time_fs[0] / 1e3), float(series.time_fs[-1] / 1e3)],
    }


def select_steps(observables: dict[str, Series], lo: int, hi: int) -> dict[str, Series]:
    """The samples of each series whose MD step lies in [lo, hi] (the analysed frames)."""
    out = {}
    for name, s in observables.items():
        sel = (s.step >= lo) & (s.step <= hi)
        if sel.any():
            out[name] = Series(s.value[sel], s.step[sel], s.time_fs[sel], s.unit)
    return out


def energy_drift(series: Series, n_atoms: int) -> dict:
    """Slope of E(t) in eV/atom/ps and max |E(t) − E(0)| / N in eV/atom."""
    t_ps = series.time_fs / 1e3
    e = series.value
    slope = float(np.polyfit(t_ps, e, 1)[0]) if len(e) >= 2 and np.ptp(t_ps) > 0 else float("nan")
    return {
        "drift_eV_per_atom_per_ps": slope / n_atoms,
        "max_excursion_eV_per_atom": float(np.abs(e - e[0]).max() / n_atoms),
        "span_ps": float(np.ptp(t_ps)),
    }


def thermo_summary(observables: dict[str, Series], n_atoms: int) -> dict:
    """Statistics of every 1-D observable, the energy drift and the ensemble spread."""
    out: dict = {"series": {name: series_stats(s) for name, s in sorted(observables.items())}}
    for name in ("conserved_energy", "total_energy"):
        if name in observables and len(observables[name].value) >= 2:
            out["energy_drift"] = {"from": name, **energy_drift(observables[name], n_atoms)}
            break
    spread = {}
    for name in SPREAD_NAMES:
        if name in observables:
            s = observables[name]
            stats = series_stats(s)
            t_ps = s.time_fs / 1e3
            if len(s.value) >= 2 and np.ptp(t_ps) > 0:
                stats["trend_per_ps"] = float(np.polyfit(t_ps, s.value, 1)[0])
            spread[name] = stats
    if spread:
        out["ensemble_spread"] = spread
    return out
