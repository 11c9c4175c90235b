"""Physical bounds on labels: a result outside them becomes ``unphysical``, never ``ok``.

Every backend's results pass through :func:`check_result` in the labelling driver, so a
label that no training set should hold (a 0.1 Å overlap labelled by an analytic potential at
3.4e9 eV/atom; a NaN from a diverged SCF that was not flagged) gets status ``unphysical``
with the offending numbers in its message and no labels.

The defaults are far outside anything a melt, a glass or a rattled crystal reaches, so they
only catch broken structures and broken calculations (measured with the teacher: ideal
β-cristobalite rattled by σ = 0.08 Å has max |F| up to 190 eV/Å and |σ_ij| up to 120 GPa; a
0.1 Å Si–O overlap gives 3.4e9 eV/atom and 8.9e12 eV/Å):

================================  =======  ===================================================
bound                             default  meaning
================================  =======  ===================================================
``max_force_eV_A``                1000     largest force component, eV/Å
``max_energy_eV_per_atom``        1e4      |E|/N, eV/atom (pseudopotential total energies
                                           are 10–2000 eV/atom: Zr GTH q12 ≈ 1300)
``max_stress_GPa``                5000     largest stress component |σ_ij|, GPa
================================  =======  ===================================================

Non-finite energy, forces or stress (where the method gives a stress) are always unphysical.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mlmd import units
from mlmd.config import from_mapping
from mlmd.errors import ConfigError
from mlmd.reference.protocol import Result


@dataclass(frozen=True)
class LabelBounds:
    """Largest physical label magnitudes (see the module docstring); all must be > 0."""

    max_force_eV_A: float = 1000.0
    max_energy_eV_per_atom: float = 1e4
    max_stress_GPa: float = 5000.0

    def __post_init__(self) -> None:
        for key in ("max_force_eV_A", "max_energy_eV_per_atom", "max_stress_GPa"):
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ConfigError(f"must be > 0, got {value!r}", field=key, fix="change it")


def load_bounds(value: LabelBounds | Mapping[str, Any] | None) -> LabelBounds:
    """``value`` as :class:`LabelBounds` (a mapping is parsed strictly; None: defaults)."""
    if value is None:
        return LabelBounds()
    if isinstance(value, LabelBounds):
        return value
    return from_mapping(LabelBounds, dict(value), source="<label bounds>", prefix="bounds")


def problems(result: Result, n_atoms: int, bounds: LabelBounds) -> list[str]:
    """What is unphysical about an ``ok`` result (empty when nothing is)."""
    found = []
    e_atom = result.energy / max(n_atoms, 1)
    if not math.isfinite(e_atom) or abs(e_atom) > bounds.max_energy_eV_per_atom:
        found.append(f"|E|/N = {abs(e_atom):.3g} eV/atom > {bounds.max_energy_eV_per_atom:g}")
    forces = np.asarray(result.forces, dtype=np.float64)
    if forces.shape != (n_atoms, 3) or not np.isfinite(forces).all():
        found.append("forces missing or not finite")
    elif forces.size and np.abs(forces).max() > bounds.max_force_eV_A:
        found.append(f"max |F| = {np.abs(forces).max():.3g} eV/Å > {bounds.max_force_eV_A:g}")
    if result.stress is not None:
        stress = np.asarray(result.stress, dtype=np.float64)
        if not np.isfinite(stress).all():
            found.append("stress not finite")
        elif np.abs(stress).max() / units.GPA > bounds.max_stress_GPa:
            peak = np.abs(stress).max() / units.GPA
            found.append(f"max |σ| = {peak:.3g} GPa > {bounds.max_stress_GPa:g}")
    return found


def check_result(result: Result, n_atoms: int, bounds: LabelBounds) -> Result:
    """``result``, or an ``unphysical`` result without labels if it breaks ``bounds``."""
    if result.status != "ok":
        return result
    found = problems(result, n_atoms, bounds)
    if not found:
        return result
    return replace(
        result,
        status="unphysical",
        energy=math.nan,
        forces=None,
        stress=None,
        message="unphysical label: " + "; ".join(found),
    )
