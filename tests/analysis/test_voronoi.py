"""Voronoi indices: crystals and a cluster whose indices are known exactly."""

import numpy as np
import pytest
from ase.build import bulk
from ase.cluster import Icosahedron

from mlmd.analysis import VoronoiAccumulator, index_fraction, voronoi_indices
from mlmd.analysis.voronoi import index_label
from mlmd.errors import InputError


@pytest.mark.parametrize(
    "atoms, index",
    [
        (bulk("Cu", "fcc", a=3.615, cubic=True).repeat((3, 3, 3)), "<0,12,0,0>"),
        (bulk("Cu", "fcc", a=3.615).repeat((4, 4, 4)), "<0,12,0,0>"),  # triclinic primitive
        (bulk("Cu", "fcc", a=3.615, cubic=True), "<0,12,0,0>"),  # 4 atoms: images > 1 cell deep
        (bulk("Fe", "bcc", a=2.87, cubic=True).repeat((3, 3, 3)), "<0,6,0,8>"),
    ],
    ids=["fcc", "fcc-primitive", "fcc-one-cell", "bcc"],
)
def test_crystals_have_their_polyhedra(atoms, index):
    """fcc: the rhombic dodecahedron (12 four-edged faces; its six-cell vertices are Qhull
    degeneracies that must be merged); bcc: the truncated octahedron (6 squares, 8 hexagons)."""
    counts = voronoi_indices(atoms.positions, atoms.cell.array, True)
    assert {index_label(row) for row in counts} == {index}
    assert index_fraction(counts, (0, 12, 0, 0)) == (1.0 if index == "<0,12,0,0>" else 0.0)


def test_the_centre_of_an_icosahedron_is_a_full_icosahedron():
    cluster = Icosahedron("Cu", noshells=2)  # 13 atoms: a centre and its 12 neighbours
    centre = int(np.argmin(np.linalg.norm(cluster.positions - cluster.positions.mean(0), axis=1)))
    counts = voronoi_indices(cluster.positions, None, False, [centre])
    assert index_label(counts[0]) == "<0,0,12,0>"
    assert index_fraction(counts) == 1.0
    with pytest.raises(InputError, match="unbounded"):
        voronoi_indices(cluster.positions, None, False, [(centre + 1) % 13])


def test_accumulator_reports_per_centre_species():
    """B2 CuZr: every atom has 8 + 6 neighbours, the truncated octahedron ⟨0,6,0,8⟩."""
    atoms = bulk("CuZr", "cesiumchloride", a=3.26).repeat((3, 3, 3))
    kind = (atoms.numbers == 40).astype(int)
    acc = VoronoiAccumulator(["Zr", "Cu"], 1 - kind, centres=["Cu"])
    acc.add(atoms.positions, atoms.cell.array, np.array([True] * 3))
    result = acc.result()
    assert set(result["centres"]) == {"Cu"}
    cu = result["centres"]["Cu"]
    assert cu["n_per_frame"] == 27 and cu["icosahedral_fraction"] == 0.0
    assert cu["top"] == [{"index": "<0,6,0,8>", "fraction": 1.0}]
