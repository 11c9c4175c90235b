"""mlmd/materials/structures.py: random cells respect composition and minimum distances,
crystals come from recipes, CIF and extxyz files, supercells are near-cubic."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
from ase.data import atomic_masses, chemical_symbols
from ase.neighborlist import neighbor_list

from mlmd.data import frame_to_atoms, sio2_crystal
from mlmd.errors import InputError
from mlmd.materials import (
    crystal_structure,
    load_material,
    min_distances_A,
    random_structure,
)
from mlmd.materials.structures import repeat_for_atoms
from mlmd.units import density_g_cm3
from tests.materials import tolerances as tol
from tests.materials.helpers import MATERIALS, SHIPPED, write_material


def _shortest(frame, cutoff):
    """Shortest distance per element pair "A-B" (ASE's neighbour list, independent of mlmd)."""
    i, j, d = neighbor_list("ijd", frame_to_atoms(frame), cutoff)
    out: dict[str, float] = {}
    for a, b, r in zip(frame.numbers[i], frame.numbers[j], d, strict=True):
        key = "-".join(sorted((chemical_symbols[a], chemical_symbols[b])))
        out[key] = min(out.get(key, np.inf), r)
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_random_cells_respect_distances_and_composition(name):
    m = load_material(MATERIALS / f"{name}.toml")
    n = m.atoms_per_formula * max(1, 150 // m.atoms_per_formula)
    dmin = min_distances_A(m)
    for density in (m.density.nominal_g_cm3, m.density.random_g_cm3[1]):
        frame = random_structure(m, n, density, seed=3)
        counts = {s: int((frame.numbers == chemical_symbols.index(s)).sum()) for s in m.elements}
        assert counts == {s: k * n // m.atoms_per_formula for s, k in m.formula.items()}
        mass = atomic_masses[frame.numbers].sum()
        assert density_g_cm3(mass, frame.volume) == pytest.approx(density, rel=tol.EXACT_REL)
        shortest = _shortest(frame, max(dmin.values()) + 0.5)
        for pair, d in dmin.items():
            key = "-".join(sorted(pair.split("-")))
            assert shortest.get(key, np.inf) >= d, (name, pair, shortest.get(key))
        # the constraint binds somewhere: insertion is random, not a lattice
        assert (
            min(
                shortest[k] - dmin[p]
                for p in dmin
                if (k := "-".join(sorted(p.split("-")))) in shortest
            )
            < tol.BINDING_MARGIN_A
        )


def test_crystals_of_the_shipped_files():
    sio2 = load_material(MATERIALS / "sio2.toml")
    for name in ("quartz", "cristobalite"):  # the file's recipes are the ones older code uses
        a, b = crystal_structure(sio2, name, (2, 1, 2)), sio2_crystal(name, (2, 1, 2))
        assert np.array_equal(a.positions, b.positions) and np.array_equal(a.cell, b.cell)
    geo2 = load_material(MATERIALS / "geo2.toml")
    quartz = crystal_structure(geo2, "quartz")
    mass = atomic_masses[quartz.numbers].sum()
    assert quartz.n_atoms == 9 and density_g_cm3(mass, quartz.volume) == pytest.approx(
        4.28, abs=tol.CRYSTAL_DENSITY_G_CM3
    )
    i, j, d = neighbor_list("ijd", frame_to_atoms(quartz), 2.0)
    assert sorted(set(np.round(d, 3))) == [1.737, 1.741]  # Ge–O of alpha-quartz-type GeO2
    si = crystal_structure(load_material(MATERIALS / "si.toml"), "diamond", (2, 2, 2))
    i, j, d = neighbor_list("ijd", frame_to_atoms(si), 2.5)
    assert (
        si.n_atoms == 64
        and np.all(np.bincount(i) == 4)
        and d == pytest.approx(2.3517, abs=tol.CRYSTAL_BOND_A)
    )


def _same_sites(a, b):
    """Same cell and the same atoms at the same fractional positions, in any order."""
    assert np.allclose(a.cell, b.cell, atol=tol.CELL_A) and sorted(a.numbers) == sorted(b.numbers)
    fa, fb = a.positions @ np.linalg.inv(a.cell), b.positions @ np.linalg.inv(b.cell)
    for z, f in zip(a.numbers, fa, strict=True):
        delta = fb[b.numbers == z] - f
        assert np.min(np.abs(delta - np.round(delta)).max(axis=1)) < tol.SITE_FRACTIONAL


def test_crystals_from_cif_and_extxyz(tmp_path):
    quartz = sio2_crystal("quartz")
    (tmp_path / "seeds").mkdir()
    ase.io.write(tmp_path / "seeds" / "quartz.cif", frame_to_atoms(quartz))
    ase.io.write(tmp_path / "seeds" / "quartz.extxyz", frame_to_atoms(quartz))
    # a CIF giving only the asymmetric unit and the space group: ASE applies the symmetry
    (tmp_path / "seeds" / "cristobalite.cif").write_text(
        "data_cristobalite\n_cell_length_a 7.16\n_cell_length_b 7.16\n_cell_length_c 7.16\n"
        "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
        "_symmetry_space_group_name_H-M 'F d -3 m'\n_space_group_IT_number 227\n"
        "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
        "_atom_site_fract_y\n_atom_site_fract_z\nSi1 Si 0 0 0\nO1 O 0.125 0.125 0.125\n"
    )
    crystals = "\n".join(
        f'[crystals.{n}]\nfile = "seeds/{f}"\nrepeat = [1, 1, 2]\n'
        for n, f in (("cif", "quartz.cif"), ("xyz", "quartz.extxyz"), ("cb", "cristobalite.cif"))
    )
    m = load_material(write_material(tmp_path, crystals=crystals))
    for name in ("cif", "xyz"):
        _same_sites(crystal_structure(m, name), sio2_crystal("quartz", (1, 1, 2)))
    _same_sites(crystal_structure(m, "cb", (1, 1, 1)), sio2_crystal("cristobalite"))


def test_repeat_for_atoms_fewest_atoms_of_a_near_cubic_supercell():
    sio2 = load_material(MATERIALS / "sio2.toml")
    cb = crystal_structure(sio2, "cristobalite", (1, 1, 1))
    assert repeat_for_atoms(cb, 24) == (1, 1, 1) and repeat_for_atoms(cb, 3000) == (5, 5, 5)
    assert sorted(repeat_for_atoms(cb, 1002)) == [3, 4, 4]  # 1152 atoms, edges 21.5–28.6 Å
    quartz = crystal_structure(sio2, "quartz", (1, 1, 1))
    for n in (72, 648, 3000):
        reps = repeat_for_atoms(quartz, n)
        edges = np.linalg.norm(quartz.cell, axis=1) * reps
        atoms = 9 * int(np.prod(reps))
        assert atoms >= n and edges.max() / edges.min() <= 1.35
        smaller = [  # no near-cubic repeat holds fewer atoms
            r for r in np.ndindex(*(k + 1 for k in reps))
            if min(r) >= 1 and n <= 9 * np.prod(r) < atoms
            and (e := np.linalg.norm(quartz.cell, axis=1) * r).max() / e.min() <= 1.35
        ]  # fmt: skip
        assert not smaller, (n, reps, smaller)
    with pytest.raises(InputError, match="atoms asked"):
        repeat_for_atoms(quartz, 0)
