"""Elastic constants of a crystal or a glass from strain–stress with relaxed ions, at 0 K.

Method (as DP-GEN's autotest and atomate's elastic workflow, with ionic relaxation, unlike
TorchSim's clamped-ion ``elastic.py``): relax the structure (ions and cell, zero pressure),
then for each of the six Voigt strains e_j apply ±δ (and ±δ/2), relax the ions at the fixed
strained cell, and take central differences of the stress:

    C_ij = [σ_i(+δ e_j) − σ_i(−δ e_j)] / (2δ)        (Voigt, engineering shear strains)

C is symmetrised ((C + Cᵀ)/2; the asymmetry is reported) and the difference between the δ
and δ/2 estimates is its finite-difference error. Relaxed ions matter wherever atoms are not
all centres of inversion (quartz, any glass: internal relaxation lowers C44 of quartz by tens
of %). Why not the stress-fluctuation formula: it needs the Born term (second strain
derivatives of the energy, which mlmd's potential contract does not provide) and converges
slowly (stress fluctuations ∝ 1/V); for a glass at 0 K the strain–stress route on its
inherent structure is exact for the model and costs 24 relaxations.

Isotropic averages: Voigt (upper), Reuss (lower) and Hill (mean) bulk and shear moduli, and
Young's modulus and Poisson's ratio from the Hill pair. Units: GPa.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from mlmd import units
from mlmd.errors import InputError
from mlmd.properties.relax import Relaxation, relax, strained

#: Voigt labels in ASE's order.
VOIGT = ("xx", "yy", "zz", "yz", "xz", "xy")


@dataclass(frozen=True)
class ElasticConstants:
    """C (GPa, [6, 6] symmetrised), its finite-difference error and asymmetry (GPa), the
    reference structure's residual stress (GPa, Voigt) and isotropic moduli."""

    c_GPa: np.ndarray
    fd_error_GPa: np.ndarray
    asymmetry_GPa: float
    reference_stress_GPa: tuple[float, ...]
    strain: float
    relaxed_ions: bool
    all_converged: bool

    @property
    def moduli(self) -> dict[str, float]:
        """K and G (Voigt, Reuss, Hill), Young's E and Poisson's ν (Hill), GPa."""
        return isotropic_moduli(self.c_GPa)

    def summary(self) -> dict:
        m = self.moduli
        return {
            "value": m["K_hill"],
            "error": float(np.max(self.fd_error_GPa[:3, :3])),
            "unit": "GPa",
            "C_GPa": self.c_GPa.round(4).tolist(),
            "fd_error_GPa": self.fd_error_GPa.round(4).tolist(),
            "asymmetry_GPa": self.asymmetry_GPa,
            "reference_stress_GPa": list(self.reference_stress_GPa),
            "strain": self.strain,
            "relaxed_ions": self.relaxed_ions,
            "all_converged": self.all_converged,
            "moduli_GPa": m,
        }


def isotropic_moduli(c: np.ndarray) -> dict[str, float]:
    """Voigt–Reuss–Hill averages of an elastic tensor C [6, 6] (GPa)."""
    c = np.asarray(c, dtype=float)
    s = np.linalg.inv(c)
    k_v = (c[0, 0] + c[1, 1] + c[2, 2] + 2 * (c[0, 1] + c[1, 2] + c[0, 2])) / 9
    g_v = (
        c[0, 0] + c[1, 1] + c[2, 2] - (c[0, 1] + c[1, 2] + c[0, 2]) + 3 * np.trace(c[3:, 3:])
    ) / 15
    k_r = 1 / (s[0, 0] + s[1, 1] + s[2, 2] + 2 * (s[0, 1] + s[1, 2] + s[0, 2]))
    g_r = 15 / (
        4 * (s[0, 0] + s[1, 1] + s[2, 2])
        - 4 * (s[0, 1] + s[1, 2] + s[0, 2])
        + 3 * np.trace(s[3:, 3:])
    )
    k, g = (k_v + k_r) / 2, (g_v + g_r) / 2
    return {
        "K_voigt": float(k_v),
        "K_reuss": float(k_r),
        "K_hill": float(k),
        "G_voigt": float(g_v),
        "G_reuss": float(g_r),
        "G_hill": float(g),
        "E_hill": float(9 * k * g / (3 * k + g)),
        "poisson_hill": float((3 * k - 2 * g) / (2 * (3 * k + g))),
    }


def elastic_constants(
    atoms: Atoms,
    calculator: Calculator,
    *,
    strain: float = 0.005,
    relax_ions: bool = True,
    relax_cell: bool = True,
    fmax_eV_A: float = 1e-4,
    max_steps: int = 3000,
) -> ElasticConstants:
    """C_ij of ``atoms`` under ``calculator`` (see module docstring).

    Args:
        strain: δ, the largest strain (the check uses δ/2 too).
        relax_ions: relax the ions at every strained cell (False: clamped ions).
        relax_cell: first relax the reference structure's cell to zero pressure.

    Raises:
        InputError: a non-periodic structure or a strain outside (0, 0.05].
    """
    if not np.all(atoms.pbc) or atoms.cell.volume <= 0:
        raise InputError("elastic constants need a fully periodic cell", field="structure")
    if not 0 < strain <= 0.05:
        raise InputError(f"strain {strain} outside (0, 0.05]", field="strain", fix="e.g. 0.005")
    ref, info = relax(atoms, calculator, cell=relax_cell, fmax_eV_A=fmax_eV_A, max_steps=max_steps)
    ok = [info.converged]

    def stress(voigt: np.ndarray) -> np.ndarray:
        work = strained(ref, voigt)
        if relax_ions:
            work, r = relax(work, calculator, fmax_eV_A=fmax_eV_A, max_steps=max_steps)
        else:
            work.calc = calculator
            r = Relaxation(0, True, 0.0, tuple(work.get_stress() / units.GPA))
        ok.append(r.converged)
        return np.asarray(r.stress_GPa)

    estimates = []
    for delta in (strain, strain / 2):
        c = np.empty((6, 6))
        for j in range(6):
            e = np.zeros(6)
            e[j] = delta
            c[:, j] = (stress(e) - stress(-e)) / (2 * delta)
        estimates.append(c)
    raw = estimates[1]
    sym = 0.5 * (raw + raw.T)
    return ElasticConstants(
        c_GPa=sym,
        fd_error_GPa=np.abs(0.5 * (estimates[0] + estimates[0].T) - sym),
        asymmetry_GPa=float(np.max(np.abs(raw - raw.T)) / 2),
        reference_stress_GPa=info.stress_GPa,
        strain=strain,
        relaxed_ions=relax_ions,
        all_converged=all(ok),
    )
