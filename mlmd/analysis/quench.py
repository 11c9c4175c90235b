"""Quench curves: density ρ(T) and enthalpy H(T) against the target temperature of a
melt–quench, with the glass-transition kink.

From the observables of the cooling segment of the MD schedule (the segment whose target
temperature falls the most, or the segment the caller names): every sample gets its target
temperature T(t) from the schedule stored in the trajectory, its enthalpy per atom

    H/N = (E_pot + E_kin + P V) / N        (eV/atom; P in GPa × V in Å³ → eV via mlmd.units.GPA)

and its density (the ``density`` observable, else the total mass over ``volume``). Samples are
averaged in bins of target temperature (``bin_K``, default 1/40 of the segment's range; the
standard error of each bin from its samples). The kink is the properties stream's continuous
two-line fit (:func:`mlmd.properties.glass_transition`, CONTRACTS §7) of the binned H(T) and
ρ(T); an unresolved kink is reported as such, with the fit's reason. Written as
``curves/quench.dat`` and ``quench.png`` (T_g marked).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mlmd.analysis import plots
from mlmd.analysis.context import Context, Section
from mlmd.analysis.trajectory import Series, TrajectoryReader
from mlmd.analysis.window import Segment, segments, stored_run_config
from mlmd.errors import InputError
from mlmd.units import AMU_PER_A3_TO_G_PER_CM3, GPA

#: Observables the curves need (written by ``mlmd md run`` every output.thermo_every steps).
NEEDED = ("potential_energy", "kinetic_energy", "pressure", "volume")
#: Default number of temperature bins over the cooling segment.
N_BINS = 40


@dataclasses.dataclass(frozen=True)
class QuenchCurves:
    """Binned curves of one cooling segment: [B] arrays over the target temperature (K)."""

    segment: Segment
    bin_K: float
    n_samples_total: int
    temperature_K: np.ndarray
    measured_K: np.ndarray
    density_g_cm3: np.ndarray
    density_err: np.ndarray
    enthalpy_eV_atom: np.ndarray
    enthalpy_err: np.ndarray
    n_samples: np.ndarray


def cooling_segment(config: dict, file: str) -> Segment:
    """The schedule segment whose target temperature falls the most."""
    cooling = [
        s for s in segments(config) if s.temperature_K and s.temperature_K[1] < s.temperature_K[0]
    ]
    if not cooling:
        raise InputError(
            "the run's schedule has no segment where the target temperature falls",
            file=file,
            field="parameters config [schedule] temperature_K",
            fix="give a melt–quench trajectory, or name the segment with --segment K",
        )
    return max(cooling, key=lambda s: s.temperature_K[0] - s.temperature_K[1])


def _series(reader: TrajectoryReader) -> dict[str, Series]:
    observables = reader.observables()
    missing = [name for name in NEEDED if name not in observables]
    if missing:
        raise InputError(
            f"no {', '.join(missing)} in /observables",
            file=str(reader.path),
            field="observables",
            fix="run the MD with output.thermo_every > 0 (quench curves need E_pot, E_kin, P, V)",
        )
    return observables


def _bin_means(key: np.ndarray, values: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of ``values`` [n] per bin index ``key`` [n] (NaN when a bin has
    fewer than two samples for the error)."""
    count = np.bincount(key, minlength=n_bins)
    total = np.bincount(key, weights=values, minlength=n_bins)
    mean = total / np.maximum(count, 1)
    sq = np.bincount(key, weights=(values - mean[key]) ** 2, minlength=n_bins)
    var = sq / np.maximum(count - 1, 1)
    err = np.where(count > 1, np.sqrt(var / np.maximum(count, 1)), np.nan)
    return mean, err


def _samples(reader: TrajectoryReader, seg: Segment) -> dict[str, np.ndarray | None]:
    """Per thermo sample of the segment: target T (K), measured T, density, H per atom."""
    obs = _series(reader)
    t_ps = obs["potential_energy"].time_fs / 1e3
    inside = (t_ps >= seg.start_ps - 1e-9) & (t_ps <= seg.end_ps + 1e-9)
    if inside.sum() < 2 or seg.temperature_K is None:
        raise InputError(
            f"segment {seg.index} ({seg.start_ps:g}–{seg.end_ps:g} ps) has {int(inside.sum())} "
            "thermo samples and a temperature target "
            f"{'none' if seg.temperature_K is None else 'given'}",
            file=str(reader.path),
            field="observables",
            fix="write thermo more often (output.thermo_every) or quench for longer",
        )
    v = {name: _aligned(obs, name, inside) for name in (*NEEDED, "temperature", "density")}
    n = reader.n_atoms
    enthalpy = (v["potential_energy"] + v["kinetic_energy"] + v["pressure"] * v["volume"] * GPA) / n
    density = v["density"]
    if density is None:
        density = float(np.nansum(reader.masses)) / v["volume"] * AMU_PER_A3_TO_G_PER_CM3
    t0, t1 = seg.temperature_K
    frac = (t_ps[inside] - seg.start_ps) / max(seg.end_ps - seg.start_ps, 1e-12)
    return {"T": t0 + (t1 - t0) * frac, "measured": v["temperature"], "rho": density, "H": enthalpy}


def quench_curves(
    reader: TrajectoryReader, segment: Segment | None = None, bin_K: float | None = None
) -> QuenchCurves:
    """ρ(T) and H(T) of the cooling ``segment`` (default: :func:`cooling_segment`), binned in
    target temperature."""
    config = stored_run_config(reader, "the quench curves")
    seg = segment or cooling_segment(config, str(reader.path))
    data = _samples(reader, seg)
    t0, t1 = seg.temperature_K
    span = abs(t0 - t1) or 1.0
    width = float(bin_K or span / N_BINS)
    n_bins = max(int(np.ceil(span / width - 1e-9)), 1)
    key = np.clip(((data["T"] - min(t0, t1)) / width).astype(np.int64), 0, n_bins - 1)
    count = np.bincount(key, minlength=n_bins)
    filled = count > 0
    binned = {}
    for name, values in data.items():
        if values is None:
            binned[name] = (np.full(n_bins, np.nan), np.full(n_bins, np.nan))
        else:
            binned[name] = _bin_means(key, np.asarray(values, dtype=float), n_bins)
    return QuenchCurves(
        segment=seg,
        bin_K=width,
        n_samples_total=int(len(data["T"])),
        temperature_K=binned["T"][0][filled],
        measured_K=binned["measured"][0][filled],
        density_g_cm3=binned["rho"][0][filled],
        density_err=binned["rho"][1][filled],
        enthalpy_eV_atom=binned["H"][0][filled],
        enthalpy_err=binned["H"][1][filled],
        n_samples=count[filled],
    )


def _aligned(obs: dict[str, Series], name: str, inside: np.ndarray) -> np.ndarray | None:
    """``name``'s samples at the potential energy's steps (None for an optional one that is
    not written there)."""
    ref = obs["potential_energy"].step[inside]
    series = obs.get(name)
    where = None if series is None else np.searchsorted(series.step, ref)
    ok = where is not None and (where < len(series.step)).all()
    ok = ok and bool((series.step[where] == ref).all())
    if ok:
        return series.value[where]
    if name in ("temperature", "density"):
        return None
    raise InputError(
        f"observable {name} is not written at the same steps as potential_energy",
        field=f"observables/{name}",
        fix="write all thermo observables together (output.thermo_every)",
    )


def fit_kinks(curves: QuenchCurves) -> tuple[dict, list[str]]:
    """The two-line fits of H(T) and ρ(T) ({"enthalpy": fit, "density": fit} as dicts) with
    notes for curves too short to fit."""
    from mlmd.properties import glass_transition

    fits, notes = {}, []
    for key, y in (("enthalpy", curves.enthalpy_eV_atom), ("density", curves.density_g_cm3)):
        try:
            fits[key] = glass_transition(curves.temperature_K, y)
        except InputError as exc:
            notes.append(f"quench: no {key} kink fitted ({exc.message})")
    return fits, notes


def quench_section(ctx: Context, segment: Segment | None = None) -> Section:
    """The ``quench`` entry: the cooling segment (its own window), binned curves, fits."""
    curves = quench_curves(ctx.reader, segment, ctx.config.quench_bin_K)
    fits, notes = fit_kinks(curves)
    seg = curves.segment
    values = {
        "window": {
            "kind": "segment",
            "start_ps": seg.start_ps,
            "end_ps": seg.end_ps,
            "frames": curves.n_samples_total,
            "samples": "thermo observables (not trajectory frames)",
            "segment": seg.to_dict(),
        },
        "enthalpy_definition": "H/N = (E_pot + E_kin + P V) / N, eV/atom",
        "bin_K": curves.bin_K,
        "n_bins": int(len(curves.temperature_K)),
        "fit": "mlmd.properties.glass_transition (continuous two-line hinge, bootstrap errors)",
        **{key: fit.as_dict() for key, fit in fits.items()},
    }
    curve = ctx.curve(
        "quench.dat",
        "T_target_K T_measured_K density_g_cm3 density_err enthalpy_eV_per_atom "
        "enthalpy_err n_samples",
        [
            curves.temperature_K,
            curves.measured_K,
            curves.density_g_cm3,
            curves.density_err,
            curves.enthalpy_eV_atom,
            curves.enthalpy_err,
            curves.n_samples,
        ],
    )
    title = f"{ctx.reader.path.name} — quench, segment {seg.index}: {seg.start_ps:g}–"
    title += f"{seg.end_ps:g} ps, {seg.temperature_K[0]:g}→{seg.temperature_K[1]:g} K"
    png = ctx.plot(plots.plot_quench, curves, fits, ctx.out / "quench.png", title=title)
    return Section(values={"quench": values}, curves=[curve], plots=png, notes=notes)
