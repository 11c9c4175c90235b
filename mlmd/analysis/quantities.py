"""Named quantities of an analysis summary, their comparison with an experiment table, and
report lines that name the window of every number.

The experiment comes from the caller as a plain table (CONTRACTS §4; e.g. a material file's
``[experiment]``): ``{name: {"value", "uncertainty", "unit", "source", ...}}``. Names are read
generically against the trajectory's species (case-sensitive first, then case-insensitive,
so ``sio4_fraction`` works for a system with Si and O; a name that reads two ways is left
out with a note):

=================================  =========================================================
``density_g_cm3``                  mean density over the window
``r_<A><B>_A``                     first peak of g_AB (``r_SiO_A``)
``cn_<A><B>``                      mean number of B around A within the cutoff (``cn_SiO``)
``<A><B><n>_fraction``             fraction of A centres with n B neighbours (``SiO4_fraction``)
``angle_<X><C><Y>_deg``            mean X–C–Y bond angle (``angle_SiOSi_deg``)
``fsdp_Q_A-1``                     first sharp diffraction peak, neutron S(Q) (direct route
                                   when computed, else from g(r)); ``fsdp_xray_Q_A-1`` X-ray
``D_<A>_cm2_s``                    diffusion coefficient of A
``icosahedral_<A>_fraction``       fraction of A centres with Voronoi index ⟨0,0,12,0⟩
``ring_mean_size``                 mean smallest-ring size
=================================  =========================================================

Names of other stages (a glass transition, an elastic modulus) are listed as not analysis
quantities, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mlmd.analysis.species import split_species


def _get(d, *keys):
    for key in keys:
        if not isinstance(d, Mapping) or key not in d:
            return None
        d = d[key]
    return d


def _pair(summary, section, a, b, *keys):
    return _get(summary, section, f"{a}-{b}", *keys)


def _peak(summary: dict, a: str, b: str):
    partials = _get(summary, "rdf", "partials") or {}
    for key in (f"{a}-{b}", f"{b}-{a}"):
        if key in partials:
            return partials[key]["first_peak_A"]
    return None


def fsdp_entry(summary: dict, weighting: str = "neutron") -> dict:
    """The FSDP of an analysis summary under ``weighting``: the direct S(Q)'s when it found
    one, else that of S(Q) from g(r): ``{"fsdp_Q_A-1", "fsdp_height"[, "fsdp_Q_err_A-1"]}``
    ({} when neither has one)."""
    routes = _get(summary, "structure_factor", "routes") or {}
    for route in ("direct", "from g(r)"):
        entry = _get(routes, route, weighting) or {}
        if entry.get("fsdp_Q_A-1") is not None:
            return entry
    return {}


def _fsdp(summary: dict, weighting: str):
    return fsdp_entry(summary, weighting).get("fsdp_Q_A-1")


def _angle(summary: dict, x: str, c: str, y: str):
    angles = summary.get("angles") or {}
    for key in (f"{x}-{c}-{y}", f"{y}-{c}-{x}"):
        if key in angles:
            return angles[key]["mean_deg"]
    return None


#: (pattern, number of species in the first group, resolver(summary, species, extra)).
_RULES = [
    (r"density_g_cm3", 0, lambda s, sp, x: _get(s, "system", "density_g_cm3", "mean")),
    (r"fsdp_Q_A-1", 0, lambda s, sp, x: _fsdp(s, "neutron")),
    (r"fsdp_xray_Q_A-1", 0, lambda s, sp, x: _fsdp(s, "xray")),
    (r"ring_mean_size", 0, lambda s, sp, x: _get(s, "rings", "mean_size")),
    (r"r_(\w+?)_A", 2, lambda s, sp, x: _peak(s, *sp)),
    (r"cn_(\w+)", 2, lambda s, sp, x: _pair(s, "coordination", *sp, "mean")),
    (
        r"(\D+)(\d+)_fraction",
        2,
        lambda s, sp, x: _frac(_pair(s, "coordination", *sp, "distribution"), x),
    ),
    (r"angle_(\w+?)_deg", 3, lambda s, sp, x: _angle(s, *sp)),
    (r"D_(\w+?)_cm2_s", 1, lambda s, sp, x: _get(s, "msd", "species", sp[0], "D_cm2_per_s")),
    (
        r"icosahedral_(\w+?)_fraction",
        1,
        lambda s, sp, x: _get(s, "voronoi", "centres", sp[0], "icosahedral_fraction"),
    ),
]


def coordination_fraction(summary: dict, centre: str, neighbour: str, n: int) -> float | None:
    """Fraction of ``centre`` atoms with exactly ``n`` ``neighbour`` atoms within the cutoff
    (silica's SiO4 fraction is ``coordination_fraction(s, "Si", "O", 4)``); None when the
    summary has no such coordination."""
    return _frac(_pair(summary, "coordination", centre, neighbour, "distribution"), str(n))


def mean_angle(summary: dict, x: str, centre: str, y: str) -> float | None:
    """Mean X–C–Y bond angle in degrees (either order of X, Y; silica's Si–O–Si is
    ``mean_angle(s, "Si", "O", "Si")``); None when absent."""
    return _angle(summary, x, centre, y)


def _frac(distribution, n: str | None):
    if distribution is None:
        return None
    return float(distribution.get(str(int(n)), 0.0))


def resolve(summary: dict, name: str) -> tuple[float | None, str]:
    """The value of quantity ``name`` in ``summary`` and a note (empty when found; else why
    not: "not an analysis quantity", "not computed", "ambiguous species")."""
    labels = list(_get(summary, "system", "species") or {})
    for pattern, n_species, rule in _RULES:
        match = re.fullmatch(pattern, name)
        if match is None:
            continue
        species = []
        if n_species:
            species = split_species(match.group(1), labels)
            if species is None or len(species) != n_species:
                continue
        extra = match.group(2) if match.re.groups >= 2 else None
        value = rule(summary, species, extra)
        return (None, "not computed in this analysis") if value is None else (float(value), "")
    return None, "not an analysis quantity"


def compare(summary: dict, experiment: Mapping[str, Mapping]) -> tuple[dict, list[str]]:
    """Rows {name: {"model", "experiment", "uncertainty", "unit", "difference", "source",
    "window"}} for the experiment's quantities the analysis has, and the names it has not
    (with the reason)."""
    rows, missing = {}, []
    window = summary.get("window")
    for name, ref in experiment.items():
        value, note = resolve(summary, name)
        if value is None:
            missing.append(f"{name}: {note}")
            continue
        rows[name] = {
            "model": value,
            "experiment": float(ref["value"]),
            "uncertainty": ref.get("uncertainty"),
            "unit": ref.get("unit", ""),
            "difference": value - float(ref["value"]),
            "source": ref.get("source", ""),
            "window": window,
        }
        for key in ("note", "temperature_K"):
            if key in ref:
                rows[name][key] = ref[key]
    return rows, missing


def marks(experiment: Mapping[str, Mapping] | None, labels: list[str]) -> dict[str, list]:
    """Experimental values to draw on the plots: {"rdf" | "angles" | "sq" | "density":
    [(value, label)]}."""
    out: dict[str, list] = {"rdf": [], "angles": [], "sq": [], "density": []}
    for name, ref in (experiment or {}).items():
        value = float(ref["value"])
        text = f"exp. {name} {value:g}"
        if name == "density_g_cm3":
            out["density"].append((value, text))
        elif name.startswith("fsdp"):
            out["sq"].append((value, text))
        elif re.fullmatch(r"r_(\w+?)_A", name) and split_species(name[2:-2], labels):
            out["rdf"].append((value, text))
        elif re.fullmatch(r"angle_(\w+?)_deg", name) and split_species(name[6:-4], labels):
            out["angles"].append((value, text))
    return out


def _fmt(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def report_lines(summary: dict) -> list[str]:
    """Markdown: the window, the headline numbers and the comparison with experiment, each
    row naming the window it comes from."""
    w = summary.get("window") or {}
    where = f"{w.get('kind', 'all')} {w.get('start_ps', 0):g}–{w.get('end_ps', 0):g} ps"
    where += f", {w.get('frames', '?')} frames"
    lines = [f"Analysis window: {w.get('label', where)}", ""]
    lines += ["| quantity | value | window |", "|---|---|---|"]
    density = _get(summary, "system", "density_g_cm3", "mean")
    lines.append(f"| density (g/cm³) | {_fmt(density)} | {where} |")
    for key, p in (summary.get("rdf") or {}).get("partials", {}).items():
        lines.append(f"| first peak g_{key} (Å) | {_fmt(p.get('first_peak_A'))} | {where} |")
    for key, c in (summary.get("coordination") or {}).items():
        lines.append(f"| CN {key} | {_fmt(c.get('mean'))} | {where} |")
    for key, a in (summary.get("angles") or {}).items():
        lines.append(f"| angle {key} (°) | {_fmt(a.get('mean_deg'))} | {where} |")
    for key, d in ((summary.get("msd") or {}).get("species") or {}).items():
        lines.append(f"| D_{key} (cm²/s) | {_fmt(d.get('D_cm2_per_s'))} | {where} |")
    rows = summary.get("comparison") or {}
    if rows:
        lines += [
            "",
            "| quantity | model | experiment | source | window |",
            "|---|---|---|---|---|",
        ]
        for name, r in rows.items():
            exp = f"{_fmt(r['experiment'])} ± {_fmt(r.get('uncertainty'))} {r.get('unit', '')}"
            lines.append(f"| {name} | {_fmt(r['model'])} | {exp} | {r['source']} | {where} |")
    return lines + [""]
