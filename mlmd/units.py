"""The one internal unit system of mlmd: Å, eV, amu, fs, K; stress in eV/Å³.

Every constant is derived from :mod:`ase.units`, so mlmd agrees with ASE to the last bit.
User-facing names carry their unit (``timestep_fs``, ``temperature_K``, ``pressure_GPa``);
convert at the edge with the factors below and keep everything inside in internal units.

Time: ASE's internal time unit is Å·sqrt(amu/eV) ≈ 10.18 fs. mlmd's integrators work in fs,
so velocities are Å/fs and the kinetic energy of a velocity v is ``0.5 * m * v² * MVV2E``.
"""

from ase import units as _ase

#: Boltzmann constant, eV/K.
KB_EV_PER_K: float = _ase.kB
#: One femtosecond in ASE time units.
FS: float = _ase.fs
#: m[amu]·v²[Å²/fs²] → eV.
MVV2E: float = 1.0 / _ase.fs**2
#: F[eV/Å]·dt[fs]/m[amu] → Δv[Å/fs].
FTM2V: float = _ase.fs**2
#: One GPa in eV/Å³.
GPA: float = _ase.GPa
#: One bar in eV/Å³.
BAR: float = _ase.bar
#: One Hartree in eV, one Bohr in Å (for reference-code parsers).
HARTREE: float = _ase.Hartree
BOHR: float = _ase.Bohr
#: One amu in grams (densities in g/cm³ from amu/Å³).
AMU_G: float = _ase._amu * 1e3
#: amu/Å³ → g/cm³.
AMU_PER_A3_TO_G_PER_CM3: float = AMU_G * 1e24


def gpa_to_ev_per_a3(pressure_GPa: float) -> float:
    """Convert a pressure or stress from GPa to eV/Å³."""
    return pressure_GPa * GPA


def ev_per_a3_to_gpa(stress: float) -> float:
    """Convert a pressure or stress from eV/Å³ to GPa."""
    return stress / GPA


def density_g_cm3(total_mass_amu: float, volume_A3: float) -> float:
    """Mass density in g/cm³ of ``total_mass_amu`` in ``volume_A3``."""
    return total_mass_amu / volume_A3 * AMU_PER_A3_TO_G_PER_CM3


def kinetic_temperature_K(kinetic_energy_eV: float, degrees_of_freedom: int) -> float:
    """Instantaneous temperature from the kinetic energy: T = 2 K / (N_dof k_B)."""
    return 2.0 * kinetic_energy_eV / (degrees_of_freedom * KB_EV_PER_K)
