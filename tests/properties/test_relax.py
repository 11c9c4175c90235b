"""Strains and relaxations through ASE."""

import numpy as np
import pytest

from mlmd.potential.calculator import MlmdCalculator
from mlmd.properties.relax import calculator_for, relax, strain_matrix, strained
from tests.properties.harmonic import A_CUBIC, Springs, fcc


def test_strain_matrix_uses_engineering_shears():
    e = strain_matrix([0.01, 0.02, 0.03, 0.004, 0.006, 0.008])
    assert np.allclose(e, e.T) and e[1, 2] == 0.002 and e[0, 1] == 0.004
    atoms = fcc(1)
    out = strained(atoms, [0.01, 0, 0, 0, 0, 0])
    assert out.cell[0, 0] == pytest.approx(1.01 * A_CUBIC)
    assert np.allclose(out.get_scaled_positions(), atoms.get_scaled_positions())


def test_cell_relaxation_reaches_zero_pressure():
    squeezed = strained(fcc(2), [-0.02, -0.02, -0.02, 0, 0, 0])
    squeezed.rattle(0.01, seed=0)
    out, info = relax(squeezed, MlmdCalculator(Springs()), cell=True, fmax_eV_A=1e-5)
    assert info.converged and max(abs(s) for s in info.stress_GPa) < 1e-3
    assert out.cell[0, 0] == pytest.approx(2 * A_CUBIC, rel=1e-5)
    assert squeezed.cell[0, 0] == pytest.approx(0.98 * 2 * A_CUBIC)  # input unchanged


def test_hydrostatic_relaxation_keeps_the_cell_shape():
    """``hydrostatic``: the sheared cell is only rescaled (angles and edge ratios kept) to zero
    pressure, its shear stress stays; the free relaxation removes the shear."""
    sheared = strained(fcc(2), [-0.02, -0.02, -0.02, 0.03, 0, 0])
    calc = MlmdCalculator(Springs())
    iso, info = relax(sheared, calc, cell=True, hydrostatic=True, fmax_eV_A=1e-5)
    free, _ = relax(sheared, calc, cell=True, fmax_eV_A=1e-5)
    ratio = iso.cell.cellpar()[:3] / sheared.cell.cellpar()[:3]
    assert info.converged and np.allclose(ratio, ratio[0], rtol=1e-9) and ratio[0] > 1.01
    assert np.allclose(iso.cell.cellpar()[3:], sheared.cell.cellpar()[3:], atol=1e-9)
    assert abs(np.mean(info.stress_GPa[:3])) < 1e-3 < abs(info.stress_GPa[3])
    assert free.cell.cellpar()[3:] == pytest.approx([90.0] * 3, abs=1e-3)


def test_calculator_for_specs():
    calc = MlmdCalculator(Springs())
    assert calculator_for(calc) is calc
    assert isinstance(calculator_for("test-springs"), MlmdCalculator)
