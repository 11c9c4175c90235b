"""Static relaxations and homogeneous strains through ASE (any calculator, e.g. mlmd's).

- :func:`relax` — ions at fixed cell, or ions and cell together through ASE's
  ``FrechetCellFilter`` (towards a hydrostatic target pressure), with L-BFGS;
- :func:`strained` — a copy of a structure under a small Voigt strain;
- :func:`calculator_for` — an ASE calculator from an mlmd potential spec (or the calculator
  itself).

Units: Å, eV, eV/Å; strains dimensionless (Voigt order xx, yy, zz, yz, xz, xy with
engineering shears γ = 2ε); pressures GPa.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.filters import FrechetCellFilter
from ase.optimize import LBFGS
from ase.parallel import DummyMPI
from threadpoolctl import threadpool_limits

from mlmd import units


@dataclass(frozen=True)
class Relaxation:
    """What a relaxation reached: ``steps`` taken, ``converged`` (max force ≤ fmax and, for a
    cell relaxation, max |stress − target| ≤ fmax/Å³ as ASE measures it), the final
    ``max_force_eV_A`` and the stress [6] in GPa (Voigt, ASE sign: tension positive)."""

    steps: int
    converged: bool
    max_force_eV_A: float
    stress_GPa: tuple[float, ...]


def calculator_for(potential: str | Path | Calculator, device: str = "cpu") -> Calculator:
    """``potential`` itself if it is an ASE calculator, else mlmd's calculator of that spec."""
    if isinstance(potential, Calculator):
        return potential
    from mlmd.potential.calculator import MlmdCalculator

    return MlmdCalculator(potential, device=device)


def relax(
    atoms: Atoms,
    calculator: Calculator,
    *,
    cell: bool = False,
    hydrostatic: bool = False,
    pressure_GPa: float = 0.0,
    fmax_eV_A: float = 1e-4,
    max_steps: int = 3000,
) -> tuple[Atoms, Relaxation]:
    """A relaxed copy of ``atoms`` (``atoms`` itself is not changed). BLAS runs on one thread
    meanwhile: on small cells OpenBLAS threads only spin (a 9-atom quartz relaxation took
    7–18 s instead of 0.5 s on this loaded 2-core machine).

    Args:
        cell: also relax the cell (FrechetCellFilter, hydrostatic ``pressure_GPa``).
        hydrostatic: with ``cell``, change the volume only and keep the cell's shape (as
            LAMMPS ``fix box/relax iso``): a glass relaxed with all six cell strains free can
            shear into another minimum (1.9 % larger volume measured for a 192-atom silica).
        fmax_eV_A: force (and cell-force) convergence threshold.
        max_steps: L-BFGS step limit; ``converged`` tells whether it was reached in time.
    """
    work = atoms.copy()
    work.calc = calculator
    target = (
        FrechetCellFilter(
            work, scalar_pressure=pressure_GPa * units.GPA, hydrostatic_strain=hydrostatic
        )
        if cell
        else work
    )
    opt = LBFGS(target, logfile=None, comm=DummyMPI())  # serial: never ASE's MPI world
    with threadpool_limits(limits=1, user_api="blas"):  # tiny matrices: threads only spin
        converged = bool(opt.run(fmax=fmax_eV_A, steps=max_steps))
    forces = work.get_forces()
    stress = work.get_stress() / units.GPA
    return work, Relaxation(
        steps=int(opt.nsteps),
        converged=converged,
        max_force_eV_A=float(np.sqrt((forces**2).sum(axis=1)).max(initial=0.0)),
        stress_GPa=tuple(float(s) for s in stress),
    )


def strain_matrix(voigt: np.ndarray) -> np.ndarray:
    """Symmetric 3×3 strain ε from a Voigt vector (xx, yy, zz, yz, xz, xy; γ = 2ε shears)."""
    e = np.asarray(voigt, dtype=float)
    return np.array(
        [
            [e[0], e[5] / 2, e[4] / 2],
            [e[5] / 2, e[1], e[3] / 2],
            [e[4] / 2, e[3] / 2, e[2]],
        ]
    )


def strained(atoms: Atoms, voigt: np.ndarray) -> Atoms:
    """A copy of ``atoms`` deformed by F = I + ε (cell rows and positions scaled alike)."""
    out = atoms.copy()
    deform = np.eye(3) + strain_matrix(voigt)
    out.set_cell(atoms.cell.array @ deform, scale_atoms=True)
    return out
