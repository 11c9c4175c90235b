"""The dynamics and thermo part of the report: MSD and diffusion, VACF and VDOS, thermo."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlmd.analysis import plots
from mlmd.analysis.config import AnalysisConfig
from mlmd.analysis.dynamics import (
    THZ_TO_INV_CM,
    fit_diffusion,
    loglog_exponent,
    msd_by_species,
    uniform_dt,
    vacf_by_species,
    vdos,
)
from mlmd.analysis.experiment import SILICA
from mlmd.analysis.passes import Pass1
from mlmd.analysis.report_structure import write_curve
from mlmd.analysis.thermo import THERMO_NAMES, select_steps, thermo_summary
from mlmd.analysis.trajectory import TrajectoryReader
from mlmd.errors import InputError

#: Default MSD fit window as fractions of one block's duration.
DEFAULT_FIT_FRACTIONS = (0.2, 0.6)


def dynamics_report(
    reader: TrajectoryReader,
    config: AnalysisConfig,
    p1: Pass1,
    labels: list[str],
    kind: np.ndarray,
    want_vacf: bool,
    out: Path,
    summary: dict,
    model: dict,
    silica: bool,
) -> None:
    notes = summary["notes"]
    n_frames = len(p1.steps)
    if (config.wants("msd") or want_vacf) and n_frames < 8:
        notes.append(f"msd/vacf skipped: {n_frames} frames (need at least 8)")
    else:
        if (config.wants("msd") or want_vacf) and not reader.time_known:
            notes.append(
                "the trajectory stores no times: lags are in frame/step units (give --timestep-fs)"
            )
        try:
            if config.wants("msd"):
                _msd(config, p1, labels, kind, out, summary)
            if want_vacf:
                _vacf(config, p1, labels, kind, reader.masses, out, summary)
        except InputError as exc:
            if "equally spaced" not in str(exc):
                raise
            notes.append(f"msd/vacf skipped: {exc}")  # the structure part stays valid
    if config.wants("thermo"):
        _thermo(reader, config, p1, out, summary, silica)


def _msd(config, p1: Pass1, labels, kind, out: Path, summary: dict) -> None:
    dt = uniform_dt(p1.times_fs)
    t = len(p1.steps)
    n_blocks = config.n_blocks
    while n_blocks > 1 and t // n_blocks < 8:
        n_blocks -= 1
    if n_blocks != config.n_blocks:
        summary["notes"].append(
            f"diffusion: {n_blocks} blocks instead of {config.n_blocks} (too few frames)"
        )
    full, blocks = msd_by_species(p1.store, kind, labels, n_blocks)
    lag_fs = np.arange(t) * dt
    tb = t // n_blocks
    if config.fit_window_ps is None:
        window = tuple(f * (tb - 1) * dt for f in DEFAULT_FIT_FRACTIONS)
    else:
        window = tuple(x * 1e3 for x in config.fit_window_ps)
    species = {}
    for label in labels:
        d = fit_diffusion(lag_fs, full[label], blocks[label], window).to_dict()
        d["msd_exponent_in_window"] = loglog_exponent(lag_fs, full[label], *window)
        species[label] = d
    u = p1.unwrapper
    summary["msd"] = {
        "dt_fs": dt,
        "unwrap": u.method,
        "max_fractional_step_between_frames": u.max_step_fraction if u.method != "image" else None,
        "centre_of_mass_drift": "removed",
        "fit": "MSD = 6 D τ + c, least squares over the fit window",
        "fit_window_ps": [window[0] / 1e3, window[1] / 1e3],
        "species": species,
    }
    if u.method != "image" and u.max_step_fraction > 0.25:
        summary["notes"].append(
            f"unwrapping: an atom moved {u.max_step_fraction:.2f} of a cell between frames; "
            "the MSD is unreliable unless frames are closer in time or images are stored"
        )
    summary["curves"].append(
        write_curve(
            out / "curves" / "msd.dat",
            "lag_ps " + " ".join(f"msd_{k}_A2" for k in labels),
            [lag_fs / 1e3, *full.values()],
        )
    )
    if config.plots:
        half = max(t // 2, int(window[1] / dt) + 2)
        summary["plots"].append(
            plots.plot_msd(
                lag_fs[:half] / 1e3,
                {k: v[:half] for k, v in full.items()},
                species,
                (window[0] / 1e3, window[1] / 1e3),
                out / "msd.png",
            ).name
        )


def _vacf(config, p1: Pass1, labels, kind, masses, out: Path, summary: dict) -> None:
    dt = uniform_dt(p1.times_fs)
    t = len(p1.steps)
    per_species, weighted = vacf_by_species(p1.store, kind, labels, masses)
    max_lag = (
        t // 2 if config.vdos_max_lag_ps is None else int(round(config.vdos_max_lag_ps * 1e3 / dt))
    )
    total = sum(weighted.values())
    freq, g_total = vdos(total, dt, max_lag)
    df = freq[1] - freq[0]
    norm = g_total.sum() * df
    dos = {"total": g_total / norm}
    for label in labels:
        dos[label] = vdos(weighted[label], dt, max_lag)[1] / norm
    g = dos["total"]
    section = {
        "dt_fs": dt,
        "vacf_0_A2_per_fs2": {k: float(v[0]) for k, v in per_species.items()},
        "vdos": {
            "max_lag_ps": min(max_lag, t) * dt / 1e3,
            "resolution_THz": df,
            "window": "Hann over the lags",
            "normalisation": "total area 1 (THz⁻¹); partials by species sum to the total",
            "peak_THz": {k: float(freq[np.argmax(v)]) for k, v in dos.items()},
            "mean_frequency_THz": float((freq * g).sum() / g.sum()),
            "nyquist_THz": float(freq[-1]),
        },
    }
    section["vdos"]["peak_cm-1"] = {
        k: v * THZ_TO_INV_CM for k, v in section["vdos"]["peak_THz"].items()
    }
    summary["vacf"] = section
    lag_ps = np.arange(t) * dt / 1e3
    summary["curves"].append(
        write_curve(
            out / "curves" / "vacf.dat",
            "lag_ps " + " ".join(f"vacf_{k}_A2_per_fs2" for k in labels),
            [lag_ps, *per_species.values()],
        )
    )
    summary["curves"].append(
        write_curve(
            out / "curves" / "vdos.dat",
            "freq_THz " + " ".join(f"g_{k}_per_THz" for k in dos),
            [freq, *dos.values()],
        )
    )
    if config.plots:
        half = max(t // 2, 2)
        summary["plots"].append(
            plots.plot_vacf(
                lag_ps[:half], {k: v[:half] for k, v in per_species.items()}, out / "vacf.png"
            ).name
        )
        summary["plots"].append(plots.plot_vdos(freq, dos, out / "vdos.png").name)


def _thermo(reader, config, p1: Pass1, out: Path, summary: dict, silica: bool) -> None:
    observables = select_steps(reader.observables(), int(p1.steps[0]), int(p1.steps[-1]))
    if not observables:
        summary["notes"].append(
            "thermo: no /observables in the trajectory (density from the box only)"
        )
    summary["thermo"] = thermo_summary(observables, reader.n_atoms) if observables else {}
    if not config.plots:
        return
    panels = [
        (label, observables[name].time_fs / 1e3, observables[name].value)
        for name, label in THERMO_NAMES.items()
        if name in observables
    ]
    if "density" not in observables and np.isfinite(p1.densities_g_cm3).all():
        panels.append(("ρ (g/cm³)", p1.times_fs / 1e3, p1.densities_g_cm3))
    if not panels:
        return
    marks = {"ρ (g/cm³)": [(SILICA["density_g_cm3"]["value"], "exp. glass 2.20 g/cm³")]}
    summary["plots"].append(
        plots.plot_thermo(panels, out / "thermo.png", marks if silica else None).name
    )
