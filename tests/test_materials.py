"""Material files: the shipped ones load, their structures respect composition and minimum
distances, crystals come from recipes, CIF and extxyz files, start recipes are reproducible,
and bad files stop with file, key and fix (exit 2 from ``mlmd build``, nothing written)."""

from __future__ import annotations

from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase.data import atomic_masses, chemical_symbols
from ase.neighborlist import neighbor_list

from mlmd.data import Dataset, frame_to_atoms, sio2_crystal
from mlmd.errors import ConfigError, InputError
from mlmd.materials import (
    bond_cutoffs_A,
    crystal_structure,
    experiment_table,
    load_material,
    make_reference,
    min_distances_A,
    random_structure,
    start_frames,
)
from mlmd.materials.structures import repeat_for_atoms
from mlmd.units import density_g_cm3
from tests.data._helpers import call_mlmd, digest

MATERIALS = Path(__file__).resolve().parents[1] / "campaigns" / "materials"
SHIPPED = sorted(p.stem for p in MATERIALS.glob("*.toml"))


def _not_built(**_):  # pragma: no cover - only its name is looked up
    raise AssertionError("stand-in backend")


def _real_backend(name: str) -> bool:
    from mlmd.reference import registry

    return registry._FACTORIES.get(name) is not _not_built


@pytest.fixture(autouse=True)
def backends(monkeypatch):
    """Backend names the shipped files use but the refs stream has not registered yet become
    stand-ins: load_material checks only the name; make_reference builds the real one."""
    from mlmd.reference import registry

    for name in ("lammps", "xtb", "qe"):
        if name not in registry.available():
            monkeypatch.setitem(registry._FACTORIES, name, _not_built)


def _shortest(frame, cutoff):
    """Shortest distance per element pair "A-B" (ASE's neighbour list, independent of mlmd)."""
    i, j, d = neighbor_list("ijd", frame_to_atoms(frame), cutoff)
    out: dict[str, float] = {}
    for a, b, r in zip(frame.numbers[i], frame.numbers[j], d, strict=True):
        key = "-".join(sorted((chemical_symbols[a], chemical_symbols[b])))
        out[key] = min(out.get(key, np.inf), r)
    return out


def test_every_expected_material_is_shipped():
    assert {"sio2", "si", "cuzr", "geo2"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_material_loads(name):
    m = load_material(MATERIALS / f"{name}.toml")
    assert m.path.endswith(f"{name}.toml") and m.elements == tuple(m.formula)
    assert list(m.species) == sorted(chemical_symbols.index(s) for s in m.elements)
    assert m.reference in m.references and m.crystals and m.start
    table = experiment_table(m)
    assert table and all(
        set(row) >= {"value", "uncertainty", "unit", "source"} for row in table.values()
    )
    assert all(
        a in m.elements and b in m.elements for a, b in (k.split("-") for k in bond_cutoffs_A(m))
    )
    dmin = min_distances_A(m)
    assert len(dmin) == len(m.elements) * (len(m.elements) + 1) // 2
    sched = m.melt_quench.schedule(m.melt_quench.quench_rates_K_ps[0])
    assert sched["temperature_K"] == [m.melt_quench.melt_K] * 2 + [m.melt_quench.glass_K] * 2
    assert np.all(np.diff(sched["time_ps"]) > 0)


def test_formulas_of_the_shipped_files():
    formulas = {
        n: load_material(MATERIALS / f"{n}.toml").formula for n in ("sio2", "si", "cuzr", "geo2")
    }
    assert formulas == {
        "sio2": {"Si": 1, "O": 2}, "si": {"Si": 1}, "cuzr": {"Cu": 16, "Zr": 9},
        "geo2": {"Ge": 1, "O": 2},
    }  # fmt: skip


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
        assert density_g_cm3(mass, frame.volume) == pytest.approx(density, rel=1e-12)
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
            < 0.3
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
        4.28, abs=0.01
    )
    i, j, d = neighbor_list("ijd", frame_to_atoms(quartz), 2.0)
    assert sorted(set(np.round(d, 3))) == [1.737, 1.741]  # Ge–O of alpha-quartz-type GeO2
    si = crystal_structure(load_material(MATERIALS / "si.toml"), "diamond", (2, 2, 2))
    i, j, d = neighbor_list("ijd", frame_to_atoms(si), 2.5)
    assert si.n_atoms == 64 and np.all(np.bincount(i) == 4) and d == pytest.approx(2.3517, abs=1e-4)


def _material_text(**tables: str) -> str:
    """A small valid material file (SiO2 with the teacher), tables replaced by ``tables``."""
    parts = {
        "top": 'name = "SiO2"\ncomposition = { Si = 1, O = 2 }\nreference = "teacher"\n',
        "density": "[density]\nnominal_g_cm3 = 2.2\nrandom_g_cm3 = [2.0, 2.6]\n",
        "min_distance": '[min_distance]\npairs_A = { "Si-O" = 1.4, "O-O" = 2.2, "Si-Si" = 2.8 }\n',
        "crystals": "",
        "melt_quench": "[melt_quench]\nmelt_K = 3000.0\nmelt_hold_ps = 1.0\n"
        "quench_rates_K_ps = [100.0]\nanneal_ps = 1.0\n",
        "references": '[references.teacher]\nname = "teacher"\n',
        "start": "",
    }
    parts.update(tables)
    return "\n".join(parts.values())


def _write(tmp_path, **tables) -> Path:
    path = tmp_path / "mat.toml"
    path.write_text(_material_text(**tables))
    return path


def _same_sites(a, b):
    """Same cell and the same atoms at the same fractional positions, in any order."""
    assert np.allclose(a.cell, b.cell, atol=1e-6) and sorted(a.numbers) == sorted(b.numbers)
    fa, fb = a.positions @ np.linalg.inv(a.cell), b.positions @ np.linalg.inv(b.cell)
    for z, f in zip(a.numbers, fa, strict=True):
        delta = fb[b.numbers == z] - f
        assert np.min(np.abs(delta - np.round(delta)).max(axis=1)) < 1e-5


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
    m = load_material(_write(tmp_path, crystals=crystals))
    for name in ("cif", "xyz"):
        _same_sites(crystal_structure(m, name), sio2_crystal("quartz", (1, 1, 2)))
    _same_sites(crystal_structure(m, "cb", (1, 1, 1)), sio2_crystal("cristobalite"))


def test_start_recipe_frames(tmp_path):
    crystals = (
        '[crystals.cb]\nspacegroup = 227\nsymbols = ["Si", "O"]\n'
        "basis = [[0.0, 0.0, 0.0], [0.125, 0.125, 0.125]]\n"
        "cellpar = [7.16, 7.16, 7.16, 90, 90, 90]\n"
    )
    start = (
        "[start.mix]\nframes = 6\nstrain = 0.04\nrattle_A = [0.0, 0.1, 0.05]\n"
        'sources = [{ crystal = "cb" }, { random_atoms = 30, density_g_cm3 = [2.1, 2.3] }]\n'
    )
    m = load_material(_write(tmp_path, crystals=crystals, start=start))
    frames = start_frames(m, "mix", seed=2)
    assert [f.n_atoms for f in frames] == [24, 30] * 3
    assert [f.source for f in frames] == [f"start:mix:{i}" for i in range(6)]
    base = sio2_crystal("cristobalite")
    for i, rattle_A in ((0, 0.0), (2, 0.05), (4, 0.1)):  # crystal frames: strain, then rattle
        strain = np.diag(frames[i].cell) / 7.16
        assert np.all(np.abs(strain - 1) <= 0.04) and np.all(strain != 1)
        assert np.array_equal(frames[i].cell, np.diag(np.diag(frames[i].cell)))
        shift = frames[i].positions - base.positions * strain
        assert np.std(shift) == pytest.approx(rattle_A, rel=0.3, abs=1e-12)
    for f in frames[1::2]:  # random cells: the source's density range, strained by ±4 %
        mass = atomic_masses[f.numbers].sum()
        assert 2.1 / 1.04**3 <= density_g_cm3(mass, f.volume) <= 2.3 / 0.96**3
    again = start_frames(m, "mix", seed=2)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(frames, again, strict=True))
    other = start_frames(m, "mix", 2, seed=3)
    assert not np.array_equal(other[1].positions, frames[1].positions)


def test_make_reference_builds_the_backend_and_names_the_file(tmp_path):
    m = load_material(MATERIALS / "sio2.toml")
    teacher = make_reference(m, "teacher")
    assert teacher.name == "teacher" and teacher.reference["potential"] == "teacher"
    bad = load_material(
        _write(
            tmp_path,
            references='[references.teacher]\nname = "teacher"\nsettings = { batch_atom = 5 }\n',
        )
    )
    with pytest.raises(ConfigError) as err:
        make_reference(bad)
    assert err.value.file == str(tmp_path / "mat.toml")
    assert err.value.field == "references.teacher.settings.batch_atom"
    assert "batch_atoms" in err.value.fix  # did-you-mean from the backend's strict settings


def _top(composition: str) -> str:
    return f'name = "x"\ncomposition = {{ {composition} }}\nreference = "teacher"\n'


WRONG_QUARTZ = (  # the widely copied variant of shared/notes/sio2.md: Si–O 1.295 Å
    '[crystals.q]\nspacegroup = 152\nsymbols = ["Si", "O"]\n'
    "basis = [[0.4697, 0.0, 0.0], [0.4135, 0.2669, 0.1191]]\n"
    "cellpar = [4.916, 4.916, 5.4054, 90, 90, 120]\n"
)
BAD_FILES = {
    "unknown element": ({"top": _top("Si = 1, Oo = 2")}, "composition.Oo", "unknown element"),
    "fractions not summing": ({"top": _top("Si = 0.3, O = 0.6")}, "composition", "sum to 0.9"),
    "non-integer formula": ({"top": _top("Si = 1, O = 2.5")}, "composition",
                            "not whole atom counts"),
    "unknown key": ({"density": "[density]\nnominal_g_cm3 = 2.2\nrandom_g_cm = [2.0, 2.6]\n"},
                    "density.random_g_cm", "did you mean 'random_g_cm3'"),
    "density range inverted": (
        {"density": "[density]\nnominal_g_cm3 = 2.2\nrandom_g_cm3 = [2.6, 2.0]\n"},
        "density", "random_g_cm3: [2.6, 2.0] must be 0 < low ≤ high",
    ),
    "missing seed file": ({"crystals": '[crystals.q]\nfile = "nope.cif"\n'}, "crystals.q.file",
                          "not found"),
    "wrong crystal recipe": ({"crystals": WRONG_QUARTZ}, "crystals.q", "closer than the minimum"),
    "pair outside composition": ({"min_distance": '[min_distance]\npairs_A = { "Si-C" = 1.4 }\n'},
                                 "min_distance.pairs_A.Si-C", "not in the composition"),
    "unknown backend": ({"references": '[references.teacher]\nname = "vasp"\n'},
                        "references.teacher.name", "unknown reference backend"),
    "default reference missing": ({"references": '[references.t]\nname = "teacher"\n'},
                                  "reference", "not a table"),
    "recipe names no crystal": ({"start": '[start.s]\nsources = [{ crystal = "tridymite" }]\n'},
                                "start.s.sources[0].crystal", "unknown crystal"),
    "recipe breaks formula units": ({"start": "[start.s]\nsources = [{ random_atoms = 10 }]\n"},
                                    "start.s.sources[0].random_atoms", "formula units"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_material_files(tmp_path, case):
    tables, field, what = BAD_FILES[case]
    path = _write(tmp_path, **tables)
    with pytest.raises(ConfigError) as err:
        load_material(path)
    assert err.value.file == str(path) and err.value.field == field, str(err.value)
    assert what in str(err.value) and "(fix: " in str(err.value), str(err.value)


@pytest.mark.parametrize("case", ["unknown element", "non-integer formula", "unknown key",
                                  "missing seed file", "density range inverted"])  # fmt: skip
def test_build_with_a_bad_material_exits_2_and_writes_nothing(tmp_path, capsys, case):
    tables, field, what = BAD_FILES[case]
    path = _write(tmp_path, **tables)
    before = digest(path)
    out = tmp_path / "out.h5"
    rc, _, err = call_mlmd(capsys, "build", "--material", path, "--atoms", "9", "-o", out)
    assert rc == 2 and str(path) in err and field in err and what in err, err
    assert "Traceback" not in err and not out.exists() and digest(path) == before


def test_build_command_writes_random_crystal_and_start_frames(tmp_path, capsys):
    sio2 = MATERIALS / "sio2.toml"
    rc, _, err = call_mlmd(capsys, "build", "--material", sio2, "--atoms", "96", "--seed", "2",
                           "-o", tmp_path / "r.h5")  # fmt: skip
    assert rc == 0, err
    frame = Dataset(tmp_path / "r.h5")[0]
    assert frame.n_atoms == 96 and frame.status == "unlabelled"
    assert np.array_equal(
        frame.positions, random_structure(load_material(sio2), 96, seed=2).positions
    )
    cuzr = MATERIALS / "cuzr.toml"
    rc, _, err = call_mlmd(capsys, "build", "--material", cuzr, "--crystal", "b2",
                           "--repeat", "2", "2", "2", "-o", tmp_path / "c.h5")  # fmt: skip
    assert rc == 0 and Dataset(tmp_path / "c.h5")[0].n_atoms == 16, err
    rc, _, err = call_mlmd(capsys, "build", "--material", sio2, "--crystal", "cristobalite",
                           "--atoms", "1000", "-o", tmp_path / "a.h5")  # fmt: skip
    assert rc == 0 and Dataset(tmp_path / "a.h5")[0].n_atoms == 1152, err  # 3 × 4 × 4 cells
    rc, _, err = call_mlmd(capsys, "build", "--material", sio2, "--start", "small", "--frames", "3",
                           "-o", tmp_path / "s.h5")  # fmt: skip
    assert rc == 0 and len(Dataset(tmp_path / "s.h5")) == 3, err
    for args, what in (
        (["--atoms", "100"], "multiple of 3"),
        (["--atoms", "96", "--repeat", "1", "1", "1"], "--repeat"),
        (
            ["--atoms", "96", "--crystal", "quartz", "--repeat", "2", "2", "2"],
            "--repeat or --atoms",
        ),
        (["--start", "small", "--crystal", "quartz"], "--start takes no --crystal"),
        (["--crystal", "quartz", "--density", "2.2"], "--density does not go"),
        (["--seed", "3"], "nothing to build"),
        (["--atoms", "300", "--density", "6"], "--density"),
        (["--crystal", "tridymite"], "unknown crystal"),
        (["--start", "huge"], "no start recipe"),
    ):
        rc, _, err = call_mlmd(capsys, "build", "--material", sio2, *args, "-o", tmp_path / "n.h5")
        assert rc == 2 and what in err and "fix:" in err, (args, err)
        assert not (tmp_path / "n.h5").exists()


def test_material_command_checks_a_file_and_its_references(tmp_path, capsys):
    import json

    sio2 = MATERIALS / "sio2.toml"
    rc, out, err = call_mlmd(capsys, "material", sio2, "--all-references", "--json")
    assert rc == 0, err
    info = json.loads(out)
    assert info["formula"] == {"Si": 1, "O": 2} and info["species"] == [8, 14]
    assert info["crystals"]["quartz"] == {
        "atoms": 9,
        "density_g_cm3": pytest.approx(2.646, abs=1e-3),
    }
    assert set(info["references"]) == {"cp2k", "cp2k_fast", "teacher"}
    assert info["references"]["teacher"]["name"] == "teacher"
    assert info["experiment"]["angle_SiOSi_deg"]["uncertainty"] == 1.5
    rc, out, err = call_mlmd(capsys, "material", sio2)
    assert rc == 0 and "is valid" in out and "quartz: 9 atoms" in out, err
    bad = _write(
        tmp_path, references='[references.teacher]\nname = "teacher"\nsettings = { threads = -1 }\n'
    )
    rc, _, err = call_mlmd(capsys, "material", bad)  # parses: settings are the backend's
    assert rc == 0, err
    rc, _, err = call_mlmd(capsys, "material", bad, "--reference", "teacher")
    assert rc == 2 and str(bad) in err and "references.teacher.settings.threads" in err, err


def test_make_reference_refuses_a_backend_missing_elements(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from mlmd.reference import registry

    def only_si(**_):  # a backend that labels Si only (as an SW LAMMPS reference would)
        return SimpleNamespace(name="only_si", species=[14], reference={"name": "only_si"})

    monkeypatch.setitem(registry._FACTORIES, "only_si", only_si)
    refs = '[references.teacher]\nname = "teacher"\n[references.si]\nname = "only_si"\n'
    m = load_material(_write(tmp_path, references=refs))
    with pytest.raises(ConfigError, match=r"knows only atomic numbers \[14\], not \[8\]") as err:
        make_reference(m, "si")
    assert err.value.file == m.path and err.value.field == "references.si"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_references_build_through_their_backends(name):
    """Every reference of a shipped file whose backend is registered accepts its settings and
    covers the material's elements (stand-ins for unlanded backends are skipped)."""
    m = load_material(MATERIALS / f"{name}.toml")
    labels = [k for k, spec in m.references.items() if _real_backend(spec.name)]
    for label in labels:
        ref = make_reference(m, label)
        assert ref.name == m.references[label].name and ref.reference["name"] == ref.name
    if not labels:
        pytest.skip(f"no backend of {sorted(m.references)} registered yet")


@pytest.mark.parametrize("name", ["si", "cuzr"])
def test_lammps_materials_label_their_start_frames(tmp_path, name):
    """Material → start frames → its LAMMPS reference: every frame labelled, no force that
    would swamp a force loss; SW diamond Si at a = 5.431 Å sits at SW's −2ε = −4.3366 eV/atom."""
    m = load_material(MATERIALS / f"{name}.toml")
    if not _real_backend("lammps"):
        pytest.skip("the lammps backend is not registered")
    reference = make_reference(m)
    frames = start_frames(m, "small", 6, seed=1)
    results = reference.label(frames, tmp_path)
    assert [r.status for r in results] == ["ok"] * 6
    assert max(float(np.abs(r.forces).max()) for r in results) < 30.0
    if name == "si":
        (ideal,) = reference.label([crystal_structure(m, "diamond")], tmp_path)
        assert ideal.energy / 8 == pytest.approx(-4.3366, abs=2e-4)
        assert np.abs(ideal.forces).max() < 1e-8


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


def test_geo2_quartz_labels_with_xtb(tmp_path):
    """Material → crystal → GFN1-xTB: a label with stress, and forces summing to zero."""
    m = load_material(MATERIALS / "geo2.toml")
    if not _real_backend("xtb"):
        pytest.skip("the xtb backend is not registered")
    (result,) = make_reference(m, "xtb").label([crystal_structure(m, "quartz")], tmp_path)
    assert result.status == "ok" and np.isfinite(result.energy)
    assert np.abs(result.forces.sum(axis=0)).max() < 1e-4 and np.isfinite(result.stress).all()
