"""mlmd/analysis/coordination.py: the bond list of the analysis."""

import numpy as np

from mlmd.analysis.coordination import bonds
from tests.analysis import tolerances as tol
from tests.analysis.trajectories import quartz


def test_bonds_equal_the_shared_neighbour_list():
    """The analysis's bond list is mlmd.potential.neighbour_list's, vectors included."""
    from mlmd.potential import neighbour_list

    atoms = quartz((2, 2, 2))
    atoms.rattle(0.05, seed=2)
    i, j, vec = bonds(atoms.positions, atoms.cell.array, atoms.pbc, 3.2)
    i2, j2, shifts = neighbour_list(atoms.positions, atoms.cell.array, atoms.pbc, 3.2)
    vec2 = atoms.positions[j2] - atoms.positions[i2] + shifts
    key = np.lexsort((vec[:, 2], vec[:, 1], vec[:, 0], j, i))
    key2 = np.lexsort((vec2[:, 2], vec2[:, 1], vec2[:, 0], j2, i2))
    np.testing.assert_array_equal(i[key], i2[key2])
    np.testing.assert_array_equal(j[key], j2[key2])
    np.testing.assert_allclose(vec[key], vec2[key2], atol=tol.EXACT_A)
