"""mlmd/materials/load.py (+ schema.py): the shipped material files load; bad files stop with
file, key and fix; make_reference builds each shipped reference through its backend, which
labels the material's structures."""

from __future__ import annotations

import numpy as np
import pytest
from ase.data import chemical_symbols

from mlmd.errors import ConfigError
from mlmd.materials import (
    bond_cutoffs_A,
    crystal_structure,
    experiment_table,
    load_material,
    make_reference,
    min_distances_A,
    start_frames,
)
from tests.materials import tolerances as tol
from tests.materials.helpers import BAD_FILES, MATERIALS, SHIPPED, write_material


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


#: Experiment rows other stages compare (``mlmd properties``), not the structure analysis.
OTHER_STAGES = {"glass_transition_K", "youngs_modulus_GPa"}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_experiment_row_names_a_quantity_the_report_compares(name):
    """A misnamed row ("coordination_SiSi" for ``cn_SiSi``) would be listed as not
    compared in every report: each name must read as an analysis quantity of the material's
    species (or belong to another stage)."""
    from mlmd.analysis.quantities import resolve

    m = load_material(MATERIALS / f"{name}.toml")
    summary = {"system": {"species": {element: {} for element in m.elements}}}
    notes = {key: resolve(summary, key)[1] for key in experiment_table(m)}
    unknown = {k for k, note in notes.items() if note == "not an analysis quantity"}
    assert unknown <= OTHER_STAGES, notes


def test_formulas_of_the_shipped_files():
    formulas = {
        n: load_material(MATERIALS / f"{n}.toml").formula for n in ("sio2", "si", "cuzr", "geo2")
    }
    assert formulas == {
        "sio2": {"Si": 1, "O": 2}, "si": {"Si": 1}, "cuzr": {"Cu": 16, "Zr": 9},
        "geo2": {"Ge": 1, "O": 2},
    }  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_material_files(tmp_path, case):
    tables, field, what = BAD_FILES[case]
    path = write_material(tmp_path, **tables)
    with pytest.raises(ConfigError) as err:
        load_material(path)
    assert err.value.file == str(path) and err.value.field == field, str(err.value)
    assert what in str(err.value) and "(fix: " in str(err.value), str(err.value)


def test_make_reference_builds_the_backend_and_names_the_file(tmp_path):
    m = load_material(MATERIALS / "sio2.toml")
    teacher = make_reference(m, "teacher")
    assert teacher.name == "teacher" and teacher.reference["potential"] == "teacher"
    bad = load_material(
        write_material(
            tmp_path,
            references='[references.teacher]\nname = "teacher"\nsettings = { batch_atom = 5 }\n',
        )
    )
    with pytest.raises(ConfigError) as err:
        make_reference(bad)
    assert err.value.file == str(tmp_path / "mat.toml")
    assert err.value.field == "references.teacher.settings.batch_atom"
    assert "batch_atoms" in err.value.fix  # did-you-mean from the backend's strict settings


def test_make_reference_refuses_a_backend_missing_elements(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from mlmd.reference import registry

    def only_si(**_):  # a backend that labels Si only (as an SW LAMMPS reference would)
        return SimpleNamespace(name="only_si", species=[14], reference={"name": "only_si"})

    monkeypatch.setitem(registry._FACTORIES, "only_si", only_si)
    refs = '[references.teacher]\nname = "teacher"\n[references.si]\nname = "only_si"\n'
    m = load_material(write_material(tmp_path, references=refs))
    with pytest.raises(ConfigError, match=r"knows only atomic numbers \[14\], not \[8\]") as err:
        make_reference(m, "si")
    assert err.value.file == m.path and err.value.field == "references.si"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_references_build_through_their_backends(name):
    """Every reference of a shipped file accepts its settings and covers the material's
    elements."""
    m = load_material(MATERIALS / f"{name}.toml")
    assert m.references
    for label in m.references:
        ref = make_reference(m, label)
        assert ref.name == m.references[label].name and ref.reference["name"] == ref.name


@pytest.mark.parametrize("name", ["si", "cuzr"])
def test_lammps_materials_label_their_start_frames(tmp_path, name):
    """Material → start frames → its LAMMPS reference: every frame labelled, no force that
    would swamp a force loss; SW diamond Si at a = 5.431 Å sits at SW's −2ε = −4.3366 eV/atom."""
    m = load_material(MATERIALS / f"{name}.toml")
    reference = make_reference(m)
    frames = start_frames(m, "small", 6, seed=1)
    results = reference.label(frames, tmp_path)
    assert [r.status for r in results] == ["ok"] * 6
    assert max(float(np.abs(r.forces).max()) for r in results) < tol.MAX_START_FORCE_EV_A
    if name == "si":
        (ideal,) = reference.label([crystal_structure(m, "diamond")], tmp_path)
        assert ideal.energy / 8 == pytest.approx(
            tol.SW_DIAMOND_EV_PER_ATOM, abs=tol.SW_ENERGY_EV_PER_ATOM
        )
        assert np.abs(ideal.forces).max() < tol.IDEAL_FORCE_EV_A


def test_geo2_quartz_labels_with_xtb(tmp_path):
    """Material → crystal → GFN1-xTB: a label with stress, and forces summing to zero."""
    m = load_material(MATERIALS / "geo2.toml")
    (result,) = make_reference(m, "xtb").label([crystal_structure(m, "quartz")], tmp_path)
    assert result.status == "ok" and np.isfinite(result.energy)
    assert (
        np.abs(result.forces.sum(axis=0)).max() < tol.NET_FORCE_EV_A
        and np.isfinite(result.stress).all()
    )
