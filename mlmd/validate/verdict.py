"""The verdict: one row per compared quantity (model, reference, distance, tolerance, pass).

Rules (tolerances in :class:`mlmd.validate.config.Tolerances`):

- ``noise``: curves (g(r) partials up to half the box, bond-angle densities). The distance is
  the mean L1 distance of the model's curve to each reference run's; the tolerance is
  ``noise_allowance`` × the noise floor (the mean L1 distance between reference runs).
- scalars: |model − reference mean| (pressure, E_pot per atom, first-peak positions, mean
  angles, FSDP position, coordination fraction), or that over |reference| (D per species,
  density), ≤ the tolerance — or, when the runs' noise is larger, ≤ the noise (the
  reference runs' spread × ``noise_allowance``, or twice the standard error of the
  difference; the row says "noise-limited": the runs are too short or too small to
  resolve the tolerance).

A quantity the references have but the model run lacks (no bonds, an MD that stopped) fails.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from mlmd.validate.config import Tolerances
from mlmd.validate.observe import Measurement
from mlmd.validate.stats import (
    l1_distance,
    mean_and_error,
    mean_distance_to,
    noise_floor,
    relative_difference,
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the verdict table (``ml``/``ref`` None for distances of whole curves)."""

    part: str
    quantity: str
    unit: str
    distance: float | None
    tolerance: float
    passed: bool
    rule: str
    ml: float | None = None
    ml_err: float | None = None
    ref: float | None = None
    ref_err: float | None = None

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "pass": self.passed}


def failed_run(part: str, message: str) -> Row:
    """The row of a model run that did not finish (its state point fails)."""
    return failed_check(part, "model MD ran to the end", message)


def failed_check(part: str, quantity: str, message: str) -> Row:
    """A row that fails with ``message`` and no value (a check that could not be made)."""
    return Row(part, quantity, "", None, 0.0, False, message)


class _Scalar(NamedTuple):
    """A scalar to compare: its key in the measurements' scalars, its row title and unit,
    whether the tolerance is relative, and the tolerance."""

    key: str
    title: str
    unit: str
    relative: bool
    tolerance: float


def _curve_rows(
    model: Measurement,
    refs: list[Measurement],
    *,
    part: str,
    kind: str,
    title: str,
    unit: str,
    allowance: float,
) -> list[Row]:
    """A row per ``kind`` curve (``"g"``, ``"angle"``) of the first reference: the model's
    mean L1 distance to the references' curves against ``allowance`` × their noise floor."""
    rows = []
    for key in sorted(k for k in refs[0].curves if k.startswith(f"{kind} ")):
        x = refs[0].curves[key][0]
        ref_curves = [r.curves[key][1] for r in refs]

        def dist(a, b, x=x):
            return l1_distance(x, a, b)

        tol = allowance * noise_floor(ref_curves, dist)
        name = f"{title} {key.split(' ', 1)[1]}, L1"
        if key not in model.curves or len(model.curves[key][1]) != len(x):
            rows.append(Row(part, name, unit, None, tol, False, "model run has no such curve"))
            continue
        d = mean_distance_to(model.curves[key][1], ref_curves, dist)
        rule = f"≤ {allowance:g} × noise floor {tol / allowance:.3g}"
        rows.append(Row(part, name, unit, d, tol, d <= tol, rule))
    return rows


def compare_values(
    part: str,
    title: str,
    unit: str,
    model: tuple[float, float] | None,
    refs: list[tuple[float, float]],
    *,
    relative: bool,
    tolerance: float,
    allowance: float,
) -> Row:
    """A scalar row: the model's (value, error) against the reference runs' mean.

    The tolerance is ``tolerance`` or, when the comparison cannot resolve it, the noise:
    ``allowance`` × the reference runs' own spread (max − min), or twice the standard error
    of the difference (block errors of the model and of the reference mean), whichever is
    larger (relative to the reference when ``relative``). The rule then says
    "noise-limited": longer or larger runs are needed to test the tolerance itself.
    """
    ref, ref_err = mean_and_error([v for v, _ in refs], [e for _, e in refs])
    noise = allowance * float(np.ptp([v for v, _ in refs]))
    if model is not None and math.isfinite(model[1]) and math.isfinite(ref_err):
        noise = max(noise, 2.0 * math.hypot(model[1], ref_err))
    if relative:
        noise = noise / abs(ref) if ref else math.inf
    effective = max(tolerance, noise)
    shown = f"{100 * tolerance:g} %" if relative else f"{tolerance:g} {unit}".strip()
    rule = f"≤ {shown}"
    if effective > tolerance:
        text = f"{100 * effective:.3g} %" if relative else f"{effective:.3g} {unit}".strip()
        rule = f"≤ {text} noise (noise-limited; tolerance {shown})"
    if model is None:
        return Row(
            part,
            title,
            unit,
            None,
            effective,
            False,
            "model run has none",
            ref=ref,
            ref_err=ref_err,
        )
    ml, ml_err = model
    d = relative_difference(ml, ref) if relative else abs(ml - ref)
    return Row(part, title, unit, d, effective, d <= effective, rule, ml, ml_err, ref, ref_err)


def _scalar_rows(
    part: str, specs: list[_Scalar], model: Measurement, refs: list[Measurement], allowance: float
) -> list[Row]:
    """A :func:`compare_values` row per scalar of ``specs`` that every reference has."""
    rows = []
    for s in specs:
        if any(s.key not in r.scalars for r in refs):
            continue
        values = [r.scalars[s.key] for r in refs]
        rows.append(
            compare_values(
                part,
                s.title,
                s.unit,
                model.scalars.get(s.key),
                values,
                relative=s.relative,
                tolerance=s.tolerance,
                allowance=allowance,
            )
        )
    return rows


def _labels(refs: list[Measurement], prefix: str, suffix: str) -> list[str]:
    keys = [k for k in refs[0].scalars if k.startswith(prefix) and k.endswith(suffix)]
    return sorted(k[len(prefix) :].removesuffix(suffix) for k in keys)


def liquid_rows(model: Measurement, refs: list[Measurement], tol: Tolerances) -> list[Row]:
    """Rows of the liquid: g(r) and angle distributions inside the noise, first peaks, D per
    species, pressure and potential energy per atom."""
    a, part = tol.noise_allowance, "liquid"
    rows = _curve_rows(model, refs, part=part, kind="g", title="g(r)", unit="Å", allowance=a)
    rows += _curve_rows(
        model, refs, part=part, kind="angle", title="angle distribution", unit="", allowance=a
    )
    specs = [
        _Scalar(f"peak_{p}_A", f"g(r) {p} first peak", "Å", False, tol.first_peak_A)
        for p in _labels(refs, "peak_", "_A")
    ]
    specs += [
        _Scalar(f"D_{x}_1e-5cm2_s", f"D {x}", "10⁻⁵ cm²/s", True, tol.diffusion_relative)
        for x in _labels(refs, "D_", "_1e-5cm2_s")
    ]
    specs += [
        _Scalar("pressure_GPa", "pressure", "GPa", False, tol.pressure_GPa),
        _Scalar("epot_eV_atom", "E_pot per atom", "eV", False, tol.energy_meV_atom / 1e3),
    ]
    return rows + _scalar_rows(part, specs, model, refs, a)


def _coordination_rows(model, refs, tol: Tolerances) -> list[Row]:
    """Fraction of centres with the first reference's most common count, unlike pairs."""
    rows = []
    for pair, dist in sorted(refs[0].coordination.items()):
        centre, neighbour = pair.split("-")
        if centre == neighbour or not dist:
            continue
        n = max(dist, key=dist.get)
        values = [(r.coordination.get(pair, {}).get(n, 0.0), math.nan) for r in refs]
        mine = (model.coordination.get(pair, {}).get(n, 0.0), math.nan)
        title = f"{centre}{neighbour}{n} fraction"
        t, a = tol.coordination_fraction, tol.noise_allowance
        rows.append(
            compare_values(
                "glass", title, "", mine, values, relative=False, tolerance=t, allowance=a
            )
        )
    return rows


def glass_rows(model: Measurement, refs: list[Measurement], tol: Tolerances) -> list[Row]:
    """Rows of the glass (anneal window): density, mean angles, FSDP, coordination fraction,
    g(r) partials inside the noise."""
    a, part = tol.noise_allowance, "glass"
    specs = [_Scalar("density_g_cm3", "density", "g/cm³", True, tol.density_relative)]
    specs += [
        _Scalar(f"angle_{k}_deg", f"mean {k} angle", "deg", False, tol.angle_deg)
        for k in _labels(refs, "angle_", "_deg")
    ]
    specs += [_Scalar("fsdp_A-1", "FSDP position", "Å⁻¹", False, tol.fsdp_A)]
    rows = _scalar_rows(part, specs, model, refs, a)
    rows += _coordination_rows(model, refs, tol)
    return rows + _curve_rows(model, refs, part=part, kind="g", title="g(r)", unit="Å", allowance=a)


def verdict(rows: list[Row]) -> dict:
    """``{"pass", "rows", "failed"}``: pass when every row passes (False with no rows)."""
    return {
        "pass": bool(rows) and all(r.passed for r in rows),
        "rows": [r.to_dict() for r in rows],
        "failed": [f"{r.part}: {r.quantity}" for r in rows if not r.passed],
    }
