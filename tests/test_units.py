"""The internal unit system against CODATA values written out independently of ASE."""

from __future__ import annotations

import pytest

from mlmd import units

#: CODATA agreement: ASE's constants are CODATA 2014, these are CODATA 2018 (rel. < 1e-6).
CODATA_REL = 1e-6
#: Derived factors that must invert each other exactly but for rounding.
ROUNDING_REL = 1e-14

EV_J = 1.602176634e-19  # J per eV (exact since 2019)
AMU_KG = 1.66053906660e-27  # kg per amu


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (units.KB_EV_PER_K, 8.617333262e-5),  # eV/K
        (units.GPA, 1e9 * 1e-30 / EV_J),  # 1 GPa = 1e9 J/m³ in eV/Å³
        (units.BAR, 1e5 * 1e-30 / EV_J),
        (units.HARTREE, 27.211386245988),  # eV
        (units.BOHR, 0.529177210903),  # Å
        (units.AMU_PER_A3_TO_G_PER_CM3, AMU_KG * 1e3 / 1e-24),  # amu/Å³ in g/cm³
        (units.MVV2E, AMU_KG * (1e-10 / 1e-15) ** 2 / EV_J),  # 1 amu at 1 Å/fs, m v² in eV
    ],
    ids=["kB", "GPa", "bar", "Hartree", "Bohr", "density", "mvv2e"],
)
def test_constants_match_codata(value, expected):
    assert value == pytest.approx(expected, rel=CODATA_REL)


def test_conversions_invert_and_temperature_is_equipartition():
    assert units.FTM2V * units.MVV2E == pytest.approx(1.0, rel=ROUNDING_REL)
    p = units.gpa_to_ev_per_a3(2.5)
    assert units.ev_per_a3_to_gpa(p) == pytest.approx(2.5, rel=ROUNDING_REL)
    n_dof, t_K = 3 * 64 - 3, 1234.5
    kinetic_eV = 0.5 * n_dof * units.KB_EV_PER_K * t_K
    assert units.kinetic_temperature_K(kinetic_eV, n_dof) == pytest.approx(t_K, rel=ROUNDING_REL)
    # SiO2 quartz cell: 3 Si + 6 O in 113.01 Å³ is 2.648 g/cm³
    mass_amu = 3 * 28.0855 + 6 * 15.9994
    assert units.density_g_cm3(mass_amu, 113.01) == pytest.approx(2.648, abs=1e-3)
