"""Crystals relaxed with a model (ions and cell, zero pressure) and compared with a reference.

:func:`relax_crystal` relaxes a seed crystal through ASE's ``FrechetCellFilter`` with
L-BFGS (:func:`mlmd.properties.relax.relax`) and reports its lattice parameters a, b, c (Å),
α, β, γ (°), volume per atom (Å³), density (g/cm³) and energy per atom (eV);
:func:`compare_crystals` gives the relative differences model − reference (lattice lengths,
volume, density) and the angle differences (°).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from mlmd import units
from mlmd.errors import InputError
from mlmd.properties.relax import relax

CELLPAR = ("a_A", "b_A", "c_A", "alpha_deg", "beta_deg", "gamma_deg")


@dataclass(frozen=True)
class RelaxedCrystal:
    """A relaxed crystal's lattice (see module docstring); ``converged`` and ``steps`` from
    the optimiser, ``max_stress_GPa`` the largest residual stress component."""

    name: str
    n_atoms: int
    cellpar: tuple[float, ...]
    volume_per_atom_A3: float
    density_g_cm3: float
    energy_per_atom_eV: float
    max_stress_GPa: float
    converged: bool
    steps: int

    def summary(self) -> dict:
        out = asdict(self)
        out.update(dict(zip(CELLPAR, self.cellpar, strict=True)))
        return out


def relax_crystal(
    atoms: Atoms,
    calculator: Calculator,
    *,
    name: str = "",
    fmax_eV_A: float = 1e-4,
    max_steps: int = 3000,
) -> tuple[RelaxedCrystal, Atoms]:
    """Relax ``atoms`` (ions and cell, P = 0) under ``calculator``; returns the summary and
    the relaxed structure. ``atoms`` is not changed.

    Raises:
        InputError: a non-periodic structure.
    """
    if not np.all(atoms.pbc) or atoms.cell.volume <= 0:
        raise InputError(
            "a crystal relaxation needs a fully periodic cell", field=name or "structure"
        )
    relaxed, info = relax(atoms, calculator, cell=True, fmax_eV_A=fmax_eV_A, max_steps=max_steps)
    n = len(relaxed)
    mass = float(relaxed.get_masses().sum())
    volume = float(relaxed.get_volume())
    return (
        RelaxedCrystal(
            name=name or relaxed.get_chemical_formula(),
            n_atoms=n,
            cellpar=tuple(float(x) for x in relaxed.cell.cellpar()),
            volume_per_atom_A3=volume / n,
            density_g_cm3=units.density_g_cm3(mass, volume),
            energy_per_atom_eV=float(relaxed.get_potential_energy()) / n,
            max_stress_GPa=float(np.max(np.abs(info.stress_GPa))),
            converged=info.converged,
            steps=info.steps,
        ),
        relaxed,
    )


def compare_crystals(model: RelaxedCrystal, reference: RelaxedCrystal) -> dict[str, float]:
    """Model − reference: relative differences of a, b, c, volume and density, differences of
    the angles (°) and of the energy per atom (eV)."""
    out = {}
    for key, m, r in zip(CELLPAR, model.cellpar, reference.cellpar, strict=True):
        if key.endswith("_A"):
            out[f"{key[0]}_rel"] = m / r - 1.0
        else:
            out[f"{key.split('_')[0]}_diff_deg"] = m - r
    out["volume_rel"] = model.volume_per_atom_A3 / reference.volume_per_atom_A3 - 1.0
    out["density_rel"] = model.density_g_cm3 / reference.density_g_cm3 - 1.0
    out["energy_per_atom_diff_eV"] = model.energy_per_atom_eV - reference.energy_per_atom_eV
    out["max_abs_lattice_rel"] = max(abs(out[k]) for k in ("a_rel", "b_rel", "c_rel"))
    return out
