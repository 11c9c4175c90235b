"""Ring statistics on crystals whose rings are known."""

import numpy as np
from ase.spacegroup import crystal

from mlmd.analysis.coordination import bonds
from mlmd.analysis.rings import RingAccumulator, smallest_rings
from tests.analysis.trajectories import quartz


def _rings(atoms):
    kind = (atoms.numbers == 8).astype(int)
    acc = RingAccumulator(["Si", "O"], kind, "Si", "O", 2.0)
    i, j, vec = bonds(atoms.positions, atoms.cell.array, atoms.pbc, 2.0)
    acc.add_bonds(i, j, vec)
    return acc.result()


def test_every_link_of_quartz_and_cristobalite_is_in_a_six_ring():
    """alpha-quartz and beta-cristobalite: the smallest ring through every Si–O–Si link has
    six Si (quartz also has eight-rings, never the smallest); two links per Si."""
    q = _rings(quartz((3, 3, 3)))
    assert q["fraction_by_size"] == {"6": 1.0}
    assert q["links_per_frame"] == 2 * 81
    cristobalite = crystal(
        ["Si", "O"],
        basis=[(0, 0, 0), (1 / 8, 1 / 8, 1 / 8)],
        spacegroup=227,
        setting=1,
        cellpar=[7.16] * 3 + [90] * 3,
    )
    c = _rings(cristobalite.repeat((2, 2, 2)))
    assert c["fraction_by_size"] == {"6": 1.0}


def test_ring_sizes_of_small_graphs():
    """A square with a tail and a separate triangle: 4-ring links, 3-ring links, no ring."""
    links = np.array([[0, 1], [1, 2], [2, 3], [0, 3], [3, 4], [5, 6], [6, 7], [5, 7]])
    hist = smallest_rings(links, 8, max_size=6, block=3)
    assert list(hist) == [1, 0, 0, 3, 4, 0, 0]


def test_direct_bonds_of_diamond_silicon_are_in_six_rings():
    """a-Si's network: Si–Si bonds themselves (ring_bond "Si-Si"); in diamond every link is
    in a six-ring."""
    from ase.build import bulk

    from mlmd.analysis import RingAccumulator
    from mlmd.analysis.coordination import bonds

    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat((3, 3, 3))
    i, j, vec = bonds(atoms.positions, atoms.cell.array, atoms.pbc, 2.6)
    acc = RingAccumulator(["Si"], np.zeros(len(atoms), int), "Si", "Si", 2.6)
    acc.add_bonds(i, j, vec)
    result = acc.result()
    assert result["links_per_frame"] == 2 * len(atoms)  # 4 bonds per atom, each once
    assert result["fraction_by_size"] == {"6": 1.0}
    assert "bonded directly" in result["network"]
