"""PNG plots of the analysis (matplotlib's Agg canvas; no display, no pyplot state).

Every plot has labelled axes with units and a legend, and the analysis window as its title;
experimental values (from the caller's experiment table) are drawn as grey dashed lines
labelled "exp." when the report passes them in ``marks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mlmd.analysis.dynamics import THZ_TO_INV_CM

#: (position or (low, high) range, label) marks of experimental values on an axis.
Marks = Sequence[tuple[float | tuple[float, float], str]]


def _figure(rows: int = 1, cols: int = 1, size=(6.4, 4.2), title: str = ""):
    fig = Figure(figsize=(size[0] * cols, size[1] * rows), layout="constrained")
    FigureCanvasAgg(fig)
    if title:
        fig.suptitle(title, fontsize=8)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _marks(ax, marks: Marks | None, vertical: bool = True) -> None:
    for value, label in marks or ():
        if isinstance(value, tuple):
            span = ax.axvspan if vertical else ax.axhspan
            span(*value, color="0.5", alpha=0.2, label=label)
        elif vertical:
            ax.axvline(value, color="0.4", ls="--", lw=1, label=label)
        else:
            ax.axhline(value, color="0.4", ls="--", lw=1, label=label)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=120)
    return path


def plot_rdf(
    r: np.ndarray,
    total: np.ndarray,
    partials: dict[str, np.ndarray],
    path: Path,
    *,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
    marks: Marks | None = None,
    title: str = "",
) -> Path:
    """g(r): total [R] (top) and ``partials`` {"A-B": [R]} (bottom) over ``r`` [R] Å, with an
    optional ``reference`` (r, g) curve and experimental ``marks``."""
    fig, ax = _figure(2, 1, title=title)
    ax[0, 0].plot(r, total, label="total (mlmd)")
    if reference is not None:
        ax[0, 0].plot(*reference, "k:", label="reference")
    for key, g in partials.items():
        ax[1, 0].plot(r, g, label=key)
    _marks(ax[1, 0], marks)
    for a, which in zip(ax[:, 0], ("total", "partial"), strict=True):
        a.axhline(1.0, color="0.8", lw=0.8)
        a.set_xlabel("r (Å)")
        a.set_ylabel(f"g(r), {which}")
        a.set_xlim(0, r[-1])
        a.legend(fontsize=8)
    return _save(fig, path)


def plot_sq(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    path: Path,
    weighting: str,
    *,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
    marks: Marks | None = None,
    title: str = "",
) -> Path:
    """S(Q) of one ``weighting`` by each route {label: (Q [K] Å⁻¹, S [K])}, with an optional
    ``reference`` (Q, S) curve and experimental ``marks`` (the FSDP)."""
    fig, ax = _figure(title=title)
    a = ax[0, 0]
    for label, (q, s) in curves.items():
        style = "o-" if "direct" in label else "-"
        a.plot(q, s, style, ms=2, lw=1, label=label)
    if reference is not None:
        a.plot(*reference, "k:", label="reference")
    _marks(a, marks)
    a.axhline(1.0, color="0.8", lw=0.8)
    a.set_xlabel("Q (Å⁻¹)")
    a.set_ylabel(f"S(Q), {weighting} (Faber–Ziman)")
    a.legend(fontsize=8)
    return _save(fig, path)


def plot_coordination(coordination: dict[str, dict], path: Path, title: str = "") -> Path:
    keys = list(coordination)
    fig, ax = _figure(1, 1, size=(6.4, 4.2), title=title)
    a = ax[0, 0]
    width = 0.8 / max(len(keys), 1)
    for k, key in enumerate(keys):
        dist = coordination[key]["distribution"]
        n = np.array([int(c) for c in dist])
        p = np.array(list(dist.values()))
        rc = coordination[key]["cutoff_A"]
        a.bar(n + (k - (len(keys) - 1) / 2) * width, p, width, label=f"{key} (r < {rc:.2f} Å)")
    a.set_xlabel("coordination number (neighbours of the second species)")
    a.set_ylabel("fraction of centre atoms")
    a.legend(fontsize=8)
    return _save(fig, path)


def plot_angles(
    angles: dict[str, dict], path: Path, marks: Marks | None = None, title: str = ""
) -> Path:
    fig, ax = _figure(title=title)
    a = ax[0, 0]
    for key, d in angles.items():
        a.plot(
            d["centres_deg"],
            d["density"],
            label=f"{key}: {d['mean_deg']:.1f} ± {d['std_deg']:.1f}°",
        )
    _marks(a, marks)
    a.set_xlim(0, 180)
    a.set_xlabel("bond angle (degrees)")
    a.set_ylabel("probability density (1/degree)")
    a.legend(fontsize=8)
    return _save(fig, path)


def plot_rings(rings: dict, path: Path, title: str = "") -> Path:
    fig, ax = _figure(title=title)
    a = ax[0, 0]
    sizes = rings["fraction_by_size"]
    a.bar([int(n) for n in sizes], list(sizes.values()), 0.7, label=rings["network"])
    a.set_xlabel("ring size (network formers in the smallest ring through a link)")
    a.set_ylabel("fraction of links")
    a.legend(fontsize=8)
    return _save(fig, path)


def plot_msd(
    lag_ps: np.ndarray,
    msd: dict[str, np.ndarray],
    fits: dict[str, dict],
    window_ps: tuple[float, float],
    path: Path,
    *,
    title: str = "",
) -> Path:
    """MSD {species: [L]} Å² over ``lag_ps`` [L], each with its fitted line 6Dτ + c (``fits``:
    {species: {"D_A2_per_ps", ...}}) drawn over ``window_ps``."""
    fig, ax = _figure(title=title)
    a = ax[0, 0]
    for key, m in msd.items():
        line = a.plot(lag_ps, m, label=f"{key}")[0]
        if key in fits:
            d = fits[key]
            t = np.array(window_ps)
            # MSD = 6 D t + c through the window, drawn from the fitted slope and the data
            sel = (lag_ps >= t[0]) & (lag_ps <= t[1])
            c = np.mean(m[sel] - 6 * d["D_A2_per_ps"] * lag_ps[sel]) if sel.any() else 0.0
            a.plot(
                t,
                6 * d["D_A2_per_ps"] * t + c,
                "--",
                color=line.get_color(),
                label=f"{key} fit: D = {d['D_A2_per_ps']:.3g} ± {d['D_err_A2_per_ps']:.2g} Å²/ps",
            )
    a.axvspan(*window_ps, color="0.9", label="fit window")
    a.set_xlabel("lag time τ (ps)")
    a.set_ylabel("MSD (Å²)")
    a.legend(fontsize=8)
    return _save(fig, path)


def plot_vacf(lag_ps: np.ndarray, vacf: dict[str, np.ndarray], path: Path, title: str = "") -> Path:
    """VACF {species: [L]} normalised by its τ = 0 value, over ``lag_ps`` [L]."""
    fig, ax = _figure(title=title)
    a = ax[0, 0]
    for key, c in vacf.items():
        a.plot(lag_ps, c / c[0] if c[0] else c, label=key)
    a.axhline(0.0, color="0.8", lw=0.8)
    a.set_xlabel("lag time τ (ps)")
    a.set_ylabel("VACF C(τ)/C(0)")
    a.legend(fontsize=8)
    return _save(fig, path)


def plot_vdos(
    freq_thz: np.ndarray, dos: dict[str, np.ndarray], path: Path, title: str = ""
) -> Path:
    """VDOS {species: [F]} (1/THz) over ``freq_thz`` [F], with a wavenumber axis on top."""
    fig, ax = _figure(title=title)
    a = ax[0, 0]
    for key, g in dos.items():
        a.plot(freq_thz, g, label=key)
    a.set_xlabel("frequency ν (THz)")
    a.set_ylabel("VDOS g(ν) (1/THz, total normalised to 1)")
    top = a.secondary_xaxis(
        "top", functions=(lambda x: x * THZ_TO_INV_CM, lambda x: x / THZ_TO_INV_CM)
    )
    top.set_xlabel("wavenumber (cm⁻¹)")
    a.legend(fontsize=8)
    return _save(fig, path)


def plot_thermo(
    panels: list[tuple[str, np.ndarray, np.ndarray]],
    path: Path,
    marks: dict[str, Marks] | None = None,
    title: str = "",
) -> Path:
    """``panels``: (axis label with unit, time [T] ps, value [T]) stacked vertically."""
    fig, ax = _figure(len(panels), 1, size=(6.4, 1.9), title=title)
    for k, (label, t, v) in enumerate(panels):
        a = ax[k, 0]
        a.plot(t, v, lw=1, label=label.split(" (")[0])
        _marks(a, (marks or {}).get(label), vertical=False)
        a.set_ylabel(label)
        a.legend(fontsize=7, loc="upper right")
    ax[-1, 0].set_xlabel("time (ps)")
    return _save(fig, path)


def plot_voronoi(voronoi: dict, path: Path, title: str = "") -> Path:
    """Bars of the most frequent Voronoi indices per centre species."""
    fig, ax = _figure(title=title)
    a = ax[0, 0]
    centres = voronoi["centres"]
    width = 0.8 / max(len(centres), 1)
    names = list(dict.fromkeys(t["index"] for c in centres.values() for t in c["top"][:8]))
    x = np.arange(len(names))
    for k, (centre, c) in enumerate(centres.items()):
        frac = {t["index"]: t["fraction"] for t in c["top"]}
        a.bar(
            x + (k - (len(centres) - 1) / 2) * width,
            [frac.get(n, 0.0) for n in names],
            width,
            label=f"{centre}-centred",
        )
    a.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
    a.set_xlabel("Voronoi index <n3,n4,n5,n6>")
    a.set_ylabel("fraction of centres")
    a.legend(fontsize=8)
    return _save(fig, path)


def plot_quench(curves, fits: dict, path: Path, title: str = "") -> Path:
    """ρ(T) and H(T) of a quench (:class:`mlmd.analysis.quench.QuenchCurves`) with the
    two-line fits and T_g marked (``fits``: {"density" | "enthalpy": GlassTransition})."""
    fig, ax = _figure(2, 1, size=(6.4, 3.4), title=title)
    t = curves.temperature_K
    panels = (
        ("density", curves.density_g_cm3, curves.density_err, "ρ (g/cm³)"),
        (
            "enthalpy",
            curves.enthalpy_eV_atom,
            curves.enthalpy_err,
            "H = E_pot + E_kin + PV (eV/atom)",
        ),
    )
    for a, (key, y, err, label) in zip(ax[:, 0], panels, strict=True):
        a.errorbar(t, y, yerr=np.nan_to_num(err), fmt="o", ms=3, lw=0.8, label="binned samples")
        fit = fits.get(key)
        if fit is not None:
            grid = np.linspace(t.min(), t.max(), 200)
            a.plot(grid, fit.predict(grid), "-", lw=1, label="two-line fit")
            text = (
                f"T_g = {fit.tg_K:.0f} ± {fit.tg_err_K:.0f} K"
                if fit.resolved
                else f"kink not resolved (best hinge {fit.tg_K:.0f} K)"
            )
            a.axvline(fit.tg_K, color="0.3", ls="--" if fit.resolved else ":", lw=1, label=text)
        a.set_xlabel("target temperature (K)")
        a.set_ylabel(label)
        a.legend(fontsize=7)
    return _save(fig, path)
