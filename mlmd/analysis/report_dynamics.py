"""The dynamics and thermo part of the report: MSD and diffusion, VACF and VDOS, thermo."""

from __future__ import annotations

import numpy as np

from mlmd.analysis import plots
from mlmd.analysis.context import Context, Section
from mlmd.analysis.dynamics import (
    THZ_TO_INV_CM,
    fit_diffusion,
    loglog_exponent,
    msd_by_species,
    uniform_dt,
    vacf_by_species,
    vdos,
)
from mlmd.analysis.passes import Pass1
from mlmd.analysis.thermo import THERMO_NAMES, select_steps, thermo_summary
from mlmd.errors import InputError

#: Default MSD fit window as fractions of one block's duration.
DEFAULT_FIT_FRACTIONS = (0.2, 0.6)


def dynamics_sections(ctx: Context, p1: Pass1, want_vacf: bool) -> list[Section]:
    """MSD/diffusion, VACF/VDOS and thermo sections (each skipped with a note when the
    frames cannot give it)."""
    sections, notes = [], []
    n_frames = len(p1.steps)
    if (ctx.wants("msd") or want_vacf) and n_frames < 8:
        notes.append(f"msd/vacf skipped: {n_frames} frames (need at least 8)")
    else:
        if (ctx.wants("msd") or want_vacf) and not ctx.reader.time_known:
            notes.append(
                "the trajectory stores no times: lags are in frame/step units (give --timestep-fs)"
            )
        try:
            if ctx.wants("msd"):
                sections.append(msd_section(ctx, p1))
            if want_vacf:
                sections.append(vacf_section(ctx, p1))
        except InputError as exc:
            if "equally spaced" not in str(exc):
                raise
            sections = []
            notes.append(f"msd/vacf skipped: {exc}")  # the structure part stays valid
    if ctx.wants("thermo"):
        sections.append(thermo_section(ctx, p1))
    return [Section(notes=notes), *sections]


def _blocks(config, t: int) -> tuple[int, list[str]]:
    n_blocks = config.n_blocks
    while n_blocks > 1 and t // n_blocks < 8:
        n_blocks -= 1
    if n_blocks == config.n_blocks:
        return n_blocks, []
    return n_blocks, [f"diffusion: {n_blocks} blocks instead of {config.n_blocks} (too few frames)"]


def msd_section(ctx: Context, p1: Pass1) -> Section:
    """MSD per species (Å² vs lag in ps; ``msd.dat``, ``msd.png``) and D ± block error from
    the fit window (``summary["msd"]``)."""
    config, labels, kind = ctx.config, ctx.species.labels, ctx.species.kind
    dt = uniform_dt(p1.times_fs)
    t = len(p1.steps)
    n_blocks, notes = _blocks(config, t)
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
    values = {
        "dt_fs": dt,
        "unwrap": u.method,
        "max_fractional_step_between_frames": u.max_step_fraction if u.method != "image" else None,
        "centre_of_mass_drift": "removed",
        "fit": "MSD = 6 D τ + c, least squares over the fit window",
        "fit_window_ps": [window[0] / 1e3, window[1] / 1e3],
        "species": species,
    }
    if u.method != "image" and u.max_step_fraction > 0.25:
        notes.append(
            f"unwrapping: an atom moved {u.max_step_fraction:.2f} of a cell between frames; "
            "the MSD is unreliable unless frames are closer in time or images are stored"
        )
    curve = ctx.curve(
        "msd.dat",
        "lag_ps " + " ".join(f"msd_{k}_A2" for k in labels),
        [lag_fs / 1e3, *full.values()],
    )
    half = max(t // 2, int(window[1] / dt) + 2)
    shown = {k: v[:half] for k, v in full.items()}
    fit_ps = (window[0] / 1e3, window[1] / 1e3)
    png = ctx.plot(plots.plot_msd, lag_fs[:half] / 1e3, shown, species, fit_ps, ctx.out / "msd.png")
    return Section(values={"msd": values}, curves=[curve], plots=png, notes=notes)


def vacf_section(ctx: Context, p1: Pass1) -> Section:
    """VACF per species (Å²/fs² vs lag in ps; ``vacf.dat``) and the mass-weighted VDOS
    (1/THz vs THz, total area 1; ``vdos.dat``), with plots (``summary["vacf"]``)."""
    config, labels, kind = ctx.config, ctx.species.labels, ctx.species.kind
    masses = ctx.reader.masses
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
    lag_ps = np.arange(t) * dt / 1e3
    curves = [
        ctx.curve(
            "vacf.dat",
            "lag_ps " + " ".join(f"vacf_{k}_A2_per_fs2" for k in labels),
            [lag_ps, *per_species.values()],
        ),
        ctx.curve(
            "vdos.dat",
            "freq_THz " + " ".join(f"g_{k}_per_THz" for k in dos),
            [freq, *dos.values()],
        ),
    ]
    half = max(t // 2, 2)
    shown = {k: v[:half] for k, v in per_species.items()}
    png = ctx.plot(plots.plot_vacf, lag_ps[:half], shown, ctx.out / "vacf.png")
    png += ctx.plot(plots.plot_vdos, freq, dos, ctx.out / "vdos.png")
    return Section(values={"vacf": section}, curves=curves, plots=png)


def thermo_section(ctx: Context, p1: Pass1) -> Section:
    """Statistics of the observables whose steps lie within the analysed frames."""
    observables = select_steps(ctx.reader.observables(), int(p1.steps[0]), int(p1.steps[-1]))
    notes = (
        []
        if observables
        else ["thermo: no /observables in the trajectory (density from the box only)"]
    )
    values = {"thermo": thermo_summary(observables, ctx.reader.n_atoms) if observables else {}}
    panels = [
        (label, observables[name].time_fs / 1e3, observables[name].value)
        for name, label in THERMO_NAMES.items()
        if name in observables
    ]
    if "density" not in observables and np.isfinite(p1.densities_g_cm3).all():
        panels.append(("ρ (g/cm³)", p1.times_fs / 1e3, p1.densities_g_cm3))
    png = []
    if panels:
        marks = {"ρ (g/cm³)": ctx.marks.get("density") or []}
        png = ctx.plot(plots.plot_thermo, panels, ctx.out / "thermo.png", marks)
    return Section(values=values, plots=png, notes=notes)
