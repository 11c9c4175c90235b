"""Structure builders: random insertion for any composition, crystals, supercells, files; and
the SiO2 shortcuts over them (density, stoichiometry, minimum distances, crystal geometry)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.data import atomic_masses
from ase.neighborlist import neighbor_list

from mlmd.data import frame_to_atoms, random_sio2, sio2_crystal
from mlmd.data.build import (
    bulk_crystal,
    pair_symbols,
    random_cell,
    read_structure,
    repeat_frame,
    spacegroup_crystal,
)
from mlmd.errors import InputError
from mlmd.units import density_g_cm3

PAIRS = {"SiO": (14, 8), "OO": (8, 8), "SiSi": (14, 14)}
MIN = {"SiO": 1.4, "OO": 2.2, "SiSi": 2.8}


def _density(frame):
    return density_g_cm3(atomic_masses[frame.numbers].sum(), frame.volume)


def _shortest(frame, cutoff=3.5):
    """Shortest distance per pair type (independent neighbour search: ASE)."""
    i, j, d = neighbor_list("ijd", frame_to_atoms(frame), cutoff)
    zi, zj = frame.numbers[i], frame.numbers[j]
    out = {}
    for name, (a, b) in PAIRS.items():
        sel = ((zi == a) & (zj == b)) | ((zi == b) & (zj == a))
        out[name] = d[sel].min() if sel.any() else np.inf
    return out


def test_random_sio2_3000_atoms_at_2_2():
    frame = random_sio2(3000, 2.2, seed=7)
    assert frame.n_atoms == 3000 and frame.pbc.all() and frame.status == "unlabelled"
    assert (frame.numbers == 14).sum() == 1000 and (frame.numbers == 8).sum() == 2000
    assert _density(frame) == pytest.approx(2.2, rel=1e-12)
    assert np.allclose(frame.cell, np.eye(3) * frame.cell[0, 0])
    assert frame.cell[0, 0] == pytest.approx(35.66, abs=0.01)  # notes/sio2.md: 35.7 Å
    inside = (frame.positions >= 0) & (frame.positions < frame.cell[0, 0])
    assert inside.all()
    shortest = _shortest(frame)
    for name, dmin in MIN.items():
        assert shortest[name] >= dmin, (name, shortest[name])
    assert shortest["SiO"] < 1.6  # the constraint binds: insertion is random, not a lattice
    # uniform filling: each of the 8 octants holds 375 ± 20 % atoms
    octant = (frame.positions // (frame.cell[0, 0] / 2)).astype(int) @ [1, 2, 4]
    assert np.all(np.abs(np.bincount(octant, minlength=8) - 375) < 75)


def test_random_sio2_seeded_and_custom_distances():
    a, b, c = random_sio2(96, 2.0, seed=1), random_sio2(96, 2.0, seed=1), random_sio2(96, 2.0)
    assert np.array_equal(a.positions, b.positions) and not np.array_equal(a.positions, c.positions)
    loose = random_sio2(96, 1.6, seed=0, min_dist={"OO": 2.5, "SiSi": 3.0})
    assert _shortest(loose)["OO"] >= 2.5 and _shortest(loose)["SiSi"] >= 3.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_atoms": 3001, "density_g_cm3": 2.2}, "n_atoms"),
        ({"n_atoms": 0, "density_g_cm3": 2.2}, "n_atoms"),
        ({"n_atoms": 30, "density_g_cm3": -1.0}, "density_g_cm3"),
        ({"n_atoms": 300, "density_g_cm3": 6.0, "max_tries_per_atom": 200}, "density_g_cm3"),
        ({"n_atoms": 30, "density_g_cm3": 2.2, "min_dist": {"SiC": 1.0}}, "min_dist.SiC"),
    ],
)
def test_random_sio2_rejects_bad_input(kwargs, field):
    with pytest.raises(InputError) as err:
        random_sio2(**kwargs)
    assert err.value.field == field and err.value.fix


@pytest.mark.parametrize(
    ("name", "n", "density", "si_o"),
    [("quartz", 9, 2.646, 1.605), ("cristobalite", 24, 2.175, 1.550)],
)
def test_crystals(name, n, density, si_o):
    frame = sio2_crystal(name)
    assert frame.n_atoms == n and (frame.numbers == 14).sum() * 3 == n
    assert _density(frame) == pytest.approx(density, abs=2e-3)
    big = sio2_crystal(name, repeat=(2, 2, 3))
    assert big.n_atoms == 12 * n and _density(big) == pytest.approx(_density(frame))
    i, j, d = neighbor_list("ijd", frame_to_atoms(big), 1.8)  # Si–O bonds only
    assert np.all(big.numbers[i] != big.numbers[j])
    assert d.min() == pytest.approx(si_o, abs=2e-3)
    coordination = np.bincount(i, minlength=big.n_atoms)
    assert np.all(coordination[big.numbers == 14] == 4)
    assert np.all(coordination[big.numbers == 8] == 2)


def test_crystal_rejects_bad_input():
    with pytest.raises(InputError, match="unknown crystal"):
        sio2_crystal("tridymite")
    with pytest.raises(InputError, match="repeat"):
        sio2_crystal("quartz", repeat=(1, 0, 1))


def test_random_cell_ternary_composition_and_distances():
    dmin = {"Na-Na": 2.6, "Na-Si": 2.6, "Na-O": 2.0, "Si-Si": 2.8, "Si-O": 1.45, "O-O": 2.3}
    counts = {"Na": 16, "Si": 24, "O": 56}  # Na2O·3SiO2
    frame = random_cell(counts, 2.4, dmin, seed=5)
    assert [int((frame.numbers == z).sum()) for z in (11, 14, 8)] == [16, 24, 56]
    assert _density(frame) == pytest.approx(2.4, rel=1e-12)
    i, j, d = neighbor_list("ijd", frame_to_atoms(frame), 3.0)
    names = {11: "Na", 14: "Si", 8: "O"}
    for a, b, r in zip(frame.numbers[i], frame.numbers[j], d, strict=True):
        key = (
            f"{names[a]}-{names[b]}"
            if f"{names[a]}-{names[b]}" in dmin
            else f"{names[b]}-{names[a]}"
        )
        assert r >= dmin[key] - 1e-12
    # hardest species first (Si–Si 2.8 Å), then Na (2.6), then O; same seed, same cell
    assert frame.numbers[:24].tolist() == [14] * 24 and frame.numbers[24:40].tolist() == [11] * 16
    assert np.array_equal(random_cell(counts, 2.4, dmin, seed=5).positions, frame.positions)


@pytest.mark.parametrize(
    ("counts", "dmin", "field", "what"),
    [
        ({"Si": 10}, {"Si-Si": 2.0, "Si-O": 1.0}, "min_dist.Si-O", "not in the cell"),
        (
            {"Si": 10, "O": 20},
            {"Si-Si": 2.0, "Si-O": 1.0},
            "min_dist",
            "no minimum distance for O-O",
        ),
        ({"Si": 10}, {"Si-Xx": 2.0}, "min_dist.Si-Xx", "unknown element"),
        ({"Si": 10}, {"Si-Si-Si": 2.0}, "min_dist.Si-Si-Si", "not a pair"),
        ({"Si": 10}, {"Si-Si": -1.0}, "min_dist.Si-Si", "≥ 0"),
        ({"Si": 2.5}, {"Si-Si": 2.0}, "counts", "integers"),
        ({"Si": 200}, {"Si-Si": 4.0}, "density_g_cm3", "jams"),
    ],
)
def test_random_cell_rejects_bad_input(counts, dmin, field, what):
    with pytest.raises(InputError) as err:
        random_cell(counts, 2.3, dmin)
    assert err.value.field == field and what in err.value.message, str(err.value)


def test_random_cell_gives_up_when_the_box_is_full():
    # each species alone is below jamming, but the Si–O distance makes the mix impossible
    with pytest.raises(InputError, match="could not place atom") as err:
        random_cell({"Si": 40, "O": 80}, 2.2, {"Si-Si": 2.5, "O-O": 2.5, "Si-O": 3.0},
                    max_tries_per_atom=200)  # fmt: skip
    assert err.value.field == "density_g_cm3" and err.value.fix


def test_pair_symbols_accepts_both_spellings():
    assert pair_symbols("Si-O", "f") == pair_symbols("SiO", "f") == ("Si", "O")
    assert pair_symbols("CuZr", "f") == ("Cu", "Zr") and pair_symbols("OO", "f") == ("O", "O")
    with pytest.raises(InputError, match="did you mean 'Si'"):
        pair_symbols("si-O", "f")


def test_repeat_equals_ase_and_bulk_builder():
    base = spacegroup_crystal(["Si", "O"], [(0.4697, 0, 2 / 3), (0.4135, 0.2669, 0.7858)],
                              154, [4.916, 4.916, 5.4054, 90, 90, 120])  # fmt: skip
    big = repeat_frame(base, (2, 1, 3))
    ref = frame_to_atoms(base).repeat((2, 1, 3))
    assert np.array_equal(big.positions, ref.positions) and np.array_equal(big.cell, ref.cell[:])
    cu = bulk_crystal("Cu", "fcc", a=3.615, cubic=True)
    assert cu.n_atoms == 4 and np.allclose(cu.cell, np.eye(3) * 3.615)
    with pytest.raises(InputError, match="repeat"):
        repeat_frame(base, (1, 0, 1))
    with pytest.raises(InputError, match="ASE cannot build"):
        bulk_crystal("Cu", "diamondd", a=3.6)


def test_read_structure_errors(tmp_path):
    with pytest.raises(InputError, match="not found") as err:
        read_structure(tmp_path / "none.cif")
    assert err.value.file.endswith("none.cif")
    (tmp_path / "junk.cif").write_text("this is not a CIF\n")
    with pytest.raises(InputError, match="ASE cannot read"):
        read_structure(tmp_path / "junk.cif")
    (tmp_path / "mol.xyz").write_text("2\n\nSi 0 0 0\nO 1.6 0 0\n")
    with pytest.raises(InputError, match="not a periodic crystal"):
        read_structure(tmp_path / "mol.xyz")
