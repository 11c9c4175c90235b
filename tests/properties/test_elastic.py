"""Elastic constants by strain–stress with relaxed ions: analytic springs, and EMT copper
checked for cubic symmetry and against finite differences of the energy."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from mlmd import units
from mlmd.errors import InputError
from mlmd.potential.calculator import MlmdCalculator
from mlmd.properties.elastic import elastic_constants, isotropic_moduli
from mlmd.properties.relax import relax, strained
from tests.properties.harmonic import C11, C12, C44, Springs, fcc


def cubic_pattern(c11, c12, c44):
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    c[np.arange(3), np.arange(3)] = c11
    c[np.arange(3, 6), np.arange(3, 6)] = c44
    return c


def test_harmonic_springs_match_the_analytic_constants():
    result = elastic_constants(fcc(2), MlmdCalculator(Springs()))
    expected = cubic_pattern(C11, C12, C44) / units.GPA
    assert np.allclose(result.c_GPa, expected, atol=0.02)
    assert result.all_converged and result.asymmetry_GPa < 1e-6
    assert result.moduli["K_hill"] == pytest.approx((C11 + 2 * C12) / 3 / units.GPA, rel=1e-4)


@pytest.fixture(scope="module")
def copper():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    return elastic_constants(atoms, EMT(), strain=0.004), atoms


def test_cubic_symmetry(copper):
    c = copper[0].c_GPa
    c11, c12, c44 = c[0, 0], c[0, 1], c[3, 3]
    assert np.allclose(c, cubic_pattern(c11, c12, c44), atol=1e-3 * c11)
    assert c11 > c12 > 0 and c44 > 0  # Born stability of a cubic crystal
    assert np.max(copper[0].fd_error_GPa) < 0.5


def test_constants_match_energy_finite_differences(copper):
    """C_ij = (1/V) ∂²E/∂e_i∂e_j at the relaxed zero-stress reference, ions relaxed at each
    strain (central second differences, step 0.004)."""
    result, atoms = copper
    calc = EMT()
    ref, _ = relax(atoms, calc, cell=True)
    volume, h = ref.get_volume(), 0.004

    def energy(e):
        return relax(strained(ref, e), calc)[0].get_potential_energy()

    e0 = energy(np.zeros(6))
    for i, j in [(0, 0), (0, 1), (3, 3), (0, 3)]:
        ei, ej = np.eye(6)[i] * h, np.eye(6)[j] * h
        if i == j:
            d2 = (energy(ei) - 2 * e0 + energy(-ei)) / h**2
        else:
            d2 = (energy(ei + ej) - energy(ei - ej) - energy(ej - ei) + energy(-ei - ej)) / (
                4 * h * h
            )
        assert d2 / volume / units.GPA == pytest.approx(result.c_GPa[i, j], abs=0.01 * 170)


def test_isotropic_moduli_of_an_isotropic_tensor():
    k, g = 36.5, 31.0
    lam = k - 2 * g / 3
    m = isotropic_moduli(cubic_pattern(lam + 2 * g, lam, g))
    assert m["K_voigt"] == pytest.approx(k) and m["K_reuss"] == pytest.approx(k)
    assert m["G_hill"] == pytest.approx(g)
    assert m["poisson_hill"] == pytest.approx((3 * k - 2 * g) / (2 * (3 * k + g)))


def test_bad_strain():
    with pytest.raises(InputError, match="strain"):
        elastic_constants(fcc(1), MlmdCalculator(Springs()), strain=0.2)
