"""Is the model at least physical beside its reference? Issue 12's minimum bar, below the
validation's tolerances, on the validation's liquid and, for the shortest pairs, its glass
(model and reference runs at the same state point from the same cell):

- no pairs closer than the reference lets them come: for every g(r) partial, the model's
  onset (the smallest r with g ≥ ``ONSET_G``) is not below the reference runs' smallest
  onset by more than ``ONSET_SLACK_A`` (SiO2 teacher: no Si–Si below ≈ 2.6 Å);
- nor a few such pairs, which g ≥ ``ONSET_G`` does not see: in the liquid and in the glass,
  the model's shortest pair of every kind (the smallest r with g > 0 over the window) is
  not below the reference runs' shortest by more than ``SHORTEST_SLACK_A`` (a model with a
  hole in its repulsion binds a few O–O pairs at 1.45 Å, where the teacher never brings
  them closer than 2.07 Å);
- |ΔP| < 1 GPa, |ΔE_pot| < 30 meV/atom, and D of every species within a factor 1.5.

A model that fails this runs its production where its reference does not go; the report
says so.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

ONSET_G = 0.1
ONSET_SLACK_A = 0.1
SHORTEST_SLACK_A = 0.2
PRESSURE_GPA = 1.0
ENERGY_MEV_ATOM = 30.0
DIFFUSION_FACTOR = 1.5


def onsets_A(analysis_summary: str | Path, threshold: float = ONSET_G) -> dict[str, float]:
    """{pair: smallest r (Å) where g_pair(r) ≥ ``threshold``} from the analysis'
    ``curves/gr.dat``; ``threshold`` 0: where g > 0, the shortest pair of the window (pairs
    never reaching it: inf)."""
    path = Path(analysis_summary).parent / "curves" / "gr.dat"
    table = np.genfromtxt(path, names=True, deletechars="")
    r = table["r_A"]
    out = {}
    for name in table.dtype.names:
        if name.startswith("g_") and name != "g_total":
            g = table[name]
            above = np.flatnonzero(g >= threshold if threshold > 0 else g > 0)
            out[name[2:]] = float(r[above[0]]) if above.size else math.inf
    return out


def _check(quantity: str, model: float, ref: float, limit: str, passed: bool) -> dict:
    return {"quantity": quantity, "model": model, "reference": ref, "limit": limit, "pass": passed}


def _onset_checks(runs: dict, threshold: float, slack_A: float, name: str) -> list[dict]:
    """Per pair: the model's onset (:func:`onsets_A` at ``threshold``) against the reference
    runs' smallest, less ``slack_A``; ``name`` formats the check's name with ``pair``."""
    mine = onsets_A(runs["model"]["analysis"], threshold)
    refs = [onsets_A(r["analysis"], threshold) for role, r in runs.items() if role != "model"]
    checks = []
    for pair in sorted(refs[0]):
        ref = min(o.get(pair, math.inf) for o in refs)
        model = mine.get(pair, math.inf)
        limit = f"≥ {ref - slack_A:.2f} Å"
        checks.append(_check(name.format(pair=pair), model, ref, limit, model >= ref - slack_A))
    return checks


def _shortest_pair_checks(summary: dict) -> list[dict]:
    """The shortest-pair checks of the liquid and the glass (each where it has a model run
    and a reference run)."""
    checks = []
    for state in ("liquid", "glass"):
        runs = (summary.get(state) or {}).get("runs") or {}
        if "model" in runs and len(runs) >= 2:
            name = f"{state}: shortest {{pair}} pair, Å"
            checks += _onset_checks(runs, 0.0, SHORTEST_SLACK_A, name)
    return checks


def _mean(runs: dict, key: str) -> tuple[float | None, float | None]:
    def value(role: str) -> float | None:
        v = runs[role]["scalars"].get(key)
        return None if v is None else float(v[0])

    refs = [value(role) for role in runs if role != "model"]
    ref = None if None in refs or not refs else float(np.mean(refs))
    return value("model"), ref


def physical_checks(summary: dict) -> list[dict]:
    """The bar's checks on a validation ``summary`` (none without a finished model liquid)."""
    runs = (summary.get("liquid") or {}).get("runs") or {}
    if "model" not in runs or len(runs) < 2:
        return []
    checks = _onset_checks(runs, ONSET_G, ONSET_SLACK_A, f"closest {{pair}} (g ≥ {ONSET_G:g}), Å")
    checks += _shortest_pair_checks(summary)
    model, ref = _mean(runs, "pressure_GPa")
    if model is not None and ref is not None:
        checks.append(_check("pressure, GPa", model, ref, f"Δ within ±{PRESSURE_GPA:g}",
                             abs(model - ref) < PRESSURE_GPA))  # fmt: skip
    model, ref = _mean(runs, "epot_eV_atom")
    if model is not None and ref is not None:
        checks.append(_check("E_pot, meV/atom", 1e3 * model, 1e3 * ref,
                             f"Δ within ±{ENERGY_MEV_ATOM:g}",
                             abs(model - ref) * 1e3 < ENERGY_MEV_ATOM))  # fmt: skip
    keys = sorted(k for k in runs["model"]["scalars"] if k.startswith("D_"))
    for key in keys:
        model, ref = _mean(runs, key)
        if model is None or ref is None or ref <= 0:
            continue
        ratio = model / ref
        name = f"D {key[2:].removesuffix('_1e-5cm2_s')}, 1e-5 cm²/s"
        checks.append(_check(name, model, ref, f"within ×{DIFFUSION_FACTOR:g}",
                             1 / DIFFUSION_FACTOR <= ratio <= DIFFUSION_FACTOR))  # fmt: skip
    return checks


def report_lines(summary: dict) -> list[str]:
    """The bar as a markdown section (nothing when there is no liquid comparison)."""
    checks = physical_checks(summary)
    if not checks:
        return []
    ok = all(c["pass"] for c in checks)
    lines = [f"### Is the model physical beside its reference? {'yes' if ok else 'NO'}", ""]
    if not ok:
        bad = ", ".join(c["quantity"] for c in checks if not c["pass"])
        lines += [f"**NO**: the model is unphysical beside its reference ({bad}); production "
                  "with it runs where its reference does not go.", ""]  # fmt: skip
    lines += [
        "| check (liquid unless named) | model | reference | limit | |",
        "|---|---|---|---|---|",
    ]
    for c in checks:
        verdict = "pass" if c["pass"] else "**FAIL**"
        lines.append(f"| {c['quantity']} | {c['model']:.4g} | {c['reference']:.4g} | "
                     f"{c['limit']} | {verdict} |")  # fmt: skip
    return [*lines, ""]
