"""What the properties write: curves as ``.dat`` + PNG, and the markdown lines of the report.

:func:`write_curve` writes named columns (units in the names) with a header, and a PNG of
y-columns against the first column (with error bars from ``<name>_err`` columns and optional
fitted lines). :func:`report_lines` turns a properties ``summary.json`` into a markdown table
(model value ± uncertainty beside experiment), for the campaign report (CONTRACTS §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Vitreous / liquid silica, experiment (value, uncertainty, unit, source).
SILICA_EXPERIMENT = {
    "bulk_modulus_GPa": {
        "value": 36.5,
        "uncertainty": 0.5,
        "unit": "GPa",
        "source": "vitreous silica, room T, ultrasonic (Bansal & Doremus, Handbook of Glass "
        "Properties, 1986)",
    },
    "volumetric_thermal_expansion_per_K": {
        "value": 1.5e-6,
        "uncertainty": 0.3e-6,
        "unit": "1/K",
        "source": "vitreous silica 300-900 K, 3 × the linear 0.5e-6 /K (Brückner, J. "
        "Non-Cryst. Solids 5, 123 (1970))",
    },
    "log10_viscosity_3000K": {
        "value": 1.2,
        "uncertainty": 0.3,
        "unit": "log10(Pa s)",
        "source": "Arrhenius extrapolation of Urbain, Bottinga & Richet, Geochim. Cosmochim. "
        "Acta 46, 1061 (1982)",
    },
    "log10_viscosity_3500K": {
        "value": -0.2,
        "uncertainty": 0.3,
        "unit": "log10(Pa s)",
        "source": "Arrhenius extrapolation of Urbain, Bottinga & Richet (1982)",
    },
    "glass_transition_K": {
        "value": 1450.0,
        "uncertainty": 50.0,
        "unit": "K",
        "source": "calorimetric T_g at ~10 K/min (Brückner 1970); MD quenches are 10¹⁰× "
        "faster and give higher T_g",
    },
}


def write_curve(
    stem: Path,
    columns: Mapping[str, np.ndarray],
    *,
    title: str,
    ylabel: str,
    lines: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    logy: bool = False,
) -> dict[str, str]:
    """``stem.dat`` (all columns) and ``stem.png`` (every non-error column against the first,
    with ``<name>_err`` as error bars, plus ``lines`` {label: (x, y)}); returns the paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    names = list(columns)
    data = np.column_stack([np.asarray(columns[n], dtype=float) for n in names])
    np.savetxt(stem.with_suffix(".dat"), data, header=f"{title}\n" + " ".join(names), fmt="%.8g")
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    x = data[:, 0]
    for k, name in enumerate(names[1:], start=1):
        if name.endswith("_err"):
            continue
        err = columns.get(f"{name}_err")
        if err is not None and len(x) < 60:
            ax.errorbar(x, data[:, k], yerr=np.asarray(err, dtype=float), fmt="o", label=name)
        else:
            ax.plot(x, data[:, k], label=name)
            if err is not None:
                e = np.asarray(err, dtype=float)
                ax.fill_between(x, data[:, k] - e, data[:, k] + e, alpha=0.25)
    for label, (lx, ly) in (lines or {}).items():
        ax.plot(lx, ly, "--", label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(names[0])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.savefig(stem.with_suffix(".png"), dpi=110)
    return {"dat": str(stem.with_suffix(".dat")), "png": str(stem.with_suffix(".png"))}


def _fmt(value, error=None) -> str:
    """``value ± error`` rounded to the error's precision: two significant digits of the
    error when it starts with 1 or 2, else one (4 significant digits without an error);
    scientific notation below 1e-3 or above 1e5."""
    if value is None:
        return "—"
    value = float(value)
    if value != 0 and not 1e-3 <= abs(value) < 1e5:
        return f"{value:.3g}" + ("" if error is None else f" ± {float(error):.2g}")
    if error is None or not np.isfinite(error) or error <= 0:
        return f"{value:.4g}"
    exponent = int(np.floor(np.log10(float(error))))
    leading = int(round(float(error) / 10.0**exponent, 6))
    decimals = max(0, (1 if leading < 3 else 0) - exponent)
    return f"{value:.{decimals}f} ± {float(error):.{decimals}f}"


def _row(name: str, value, error, unit: str, *, experiment: Mapping | None, key: str) -> str:
    ref = (experiment or {}).get(key)
    exp = _fmt(ref["value"], ref.get("uncertainty")) if ref else "—"
    source = ref.get("source", "") if ref else ""
    return f"| {name} | {_fmt(value, error)} | {unit} | {exp} | {source} |"


def _entries(summary: Mapping):
    """(label, value, error, unit, experiment key) of every number a summary reports; value
    None where the property is not resolved (no kink, no interior maximum)."""
    for p in summary.get("viscosity", {}).get("points", []):
        t = p["temperature_K"]
        yield (
            f"log₁₀ η at {t:.0f} K ({p['sampled_ps']:.3g} ps)",
            p["log10_Pa_s"],
            p["log10_error"],
            "log10(Pa s)",
            f"log10_viscosity_{t:.0f}K",
        )
    bulk = summary.get("bulk_modulus", {})
    for route, label in (("fluctuations", "NPT volume fluctuations"), ("pv_scan", "P–V scan")):
        if route in bulk:
            r = bulk[route]
            yield f"K ({label})", r["value"], r["error"], "GPa", "bulk_modulus_GPa"
    if "elastic" in summary:
        m = summary["elastic"]["moduli_GPa"]
        yield "K (elastic, 0 K, Hill)", m["K_hill"], None, "GPa", "bulk_modulus_GPa"
        yield "G (elastic, 0 K, Hill)", m["G_hill"], None, "GPa", "shear_modulus_GPa"
    if "thermal_expansion" in summary:
        r = summary["thermal_expansion"]
        yield (
            "volumetric thermal expansion α_V",
            r["value"],
            r["error"],
            "1/K",
            "volumetric_thermal_expansion_per_K",
        )
    if "density_curve" in summary:
        r = summary["density_curve"]["maximum"]
        ok = r["resolved"]
        yield (
            "T of the density maximum",
            r["value"] if ok else None,
            r["error"] if ok else None,
            "K",
            "density_maximum_K",
        )
    for key, label in (("enthalpy", "H(T)"), ("density", "ρ(T)")):
        r = summary.get("glass_transition", {}).get(key)
        if r:
            ok = r["resolved"]
            yield (
                f"T_g from the kink of {label}",
                r["tg_K"] if ok else None,
                r["tg_err_K"] if ok else None,
                "K",
                "glass_transition_K",
            )


def report_lines(summary: Mapping, experiment: Mapping | None = None) -> list[str]:
    """Markdown table of a properties summary (as ``summary.json`` holds it).

    Args:
        summary: {property: its summary}, as :func:`mlmd.properties.run_properties` returns.
        experiment: {key: {"value", "uncertainty", "unit", "source"}} (default: silica's
            :data:`SILICA_EXPERIMENT`); keys ``bulk_modulus_GPa``,
            ``volumetric_thermal_expansion_per_K`` (α_V = 3 α_linear), ``log10_viscosity_<T>K``,
            ``glass_transition_K``.
    """
    exp = SILICA_EXPERIMENT if experiment is None else experiment
    rows = ["| property | model | unit | experiment | source |", "|---|---|---|---|---|"]
    rows += [_row(*e[:4], experiment=exp, key=e[4]) for e in _entries(summary)]
    for name, c in summary.get("crystals", {}).get("structures", {}).items():
        diff = c.get("vs_reference")
        tail = (
            f" (largest lattice difference to the reference {diff['max_abs_lattice_rel']:.2e})"
            if diff
            else ""
        )
        rows.append(
            f"| {name}: a, c, ρ | {c['a_A']:.4f} Å, {c['c_A']:.4f} Å, "
            f"{c['density_g_cm3']:.4f} g/cm³{tail} | — | — | |"
        )
    return rows
