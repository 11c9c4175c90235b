"""The ``lammps`` reference (library, one live instance) against a direct ``lmp`` run of the
same structure, for Stillinger–Weber, Tersoff and EAM; stress against a finite strain; bad
settings and rejected pair styles as clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from conftest import write_unlabelled

from mlmd.data import Dataset, Frame
from mlmd.errors import ConfigError, InputError
from mlmd.reference import ReferenceSetupError, get_reference, label_dataset
from mlmd.reference.lammps_direct import lammps_binary, run_lammps

POTENTIALS = Path("/usr/share/lammps/potentials")
pytest.importorskip("lammps", reason="the LAMMPS Python module (pip install lammps) is missing")
needs_lmp = pytest.mark.skipif(
    lammps_binary() is None or not (POTENTIALS / "Si.sw").is_file(),
    reason="Debian's lmp or its potentials are missing (apt-get install lammps lammps-data)",
)
#: Agreement demanded with the lmp program (energy eV, forces eV/Å, virial eV).
DIRECT_TOL = 1e-8

CASES = {
    "sw": ("sw", "* * Si.sw Si", ["Si"]),
    "tersoff": ("tersoff", "* * Si.tersoff Si", ["Si"]),
    "eam": ("eam/fs", "* * CuZr_mm.eam.fs Cu Zr", ["Cu", "Zr"]),
}


def distorted(kind: str, seed: int = 0) -> Atoms:
    """A rattled, sheared periodic cell: 64 Si (diamond) or 108 Cu64Zr36-like atoms (fcc)."""
    rng = np.random.default_rng(seed)
    if kind == "eam":
        atoms = bulk("Cu", "fcc", a=3.95, cubic=True).repeat(3)
        atoms.numbers[rng.permutation(len(atoms))[:39]] = 40
    else:
        atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    strain = np.eye(3) + rng.normal(0.0, 0.04, (3, 3))
    atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    atoms.positions += rng.normal(0.0, 0.12, atoms.positions.shape)
    return atoms


def frame_of(atoms: Atoms) -> Frame:
    return Frame(atoms.numbers, atoms.positions, atoms.cell.array, True)


def config(kind: str) -> dict:
    """The settings of ``kind``; elements come from the coefficient line's last words."""
    style, coeff, _ = CASES[kind]
    return {"pair_style": style, "pair_coeff": [coeff]}


@needs_lmp
@pytest.mark.parametrize("kind", sorted(CASES))
def test_library_equals_the_lmp_program(kind, tmp_path):
    ref = get_reference("lammps", config=config(kind))
    style, coeff, elements = CASES[kind]
    structures = [distorted(kind, seed) for seed in (1, 2)]
    results = ref.label([frame_of(a) for a in structures])  # one instance, two frames
    for atoms, r in zip(structures, results, strict=True):
        assert r.status == "ok", r.message
        direct = run_lammps(
            atoms,
            style,
            f"* * {POTENTIALS / coeff.split()[2]} " + " ".join(elements),
            elements,
            workdir=tmp_path / f"{kind}-{r.key}",
        )
        assert abs(r.energy - direct["energy"]) < DIRECT_TOL
        assert np.abs(r.forces - direct["forces"]).max() < DIRECT_TOL
        virial = -r.stress * atoms.get_volume()
        assert np.abs(virial - direct["virial"]).max() < DIRECT_TOL
        assert np.abs(r.forces).max() > 0.1  # a distorted cell: the comparison has teeth
    assert ref.reference["potential_files"]  # the file's hash is part of the reference
    assert ref.reference["elements"] == elements


def test_stress_is_the_strain_derivative_of_the_energy():
    ref = get_reference("lammps", config=config("tersoff"))
    atoms = distorted("tersoff", seed=3)
    (r,) = ref.label([frame_of(atoms)])
    h = 1e-5
    for i, j in ((0, 0), (1, 2), (2, 1)):
        energies = []
        for sign in (1, -1):
            eps = np.eye(3)  # a symmetric strain of ±h in the (i, j) component
            eps[i, j] += sign * (h if i == j else h / 2)
            if i != j:
                eps[j, i] += sign * h / 2
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ eps, scale_atoms=True)
            energies.append(ref.label([frame_of(strained)])[0].energy)
        derivative = (energies[0] - energies[1]) / (2 * h) / atoms.get_volume()
        assert derivative == pytest.approx(r.stress[i, j], abs=1e-6)


def test_labels_a_dataset_and_refuses_unknown_elements(tmp_path):
    frames = [frame_of(distorted("sw", s)) for s in range(3)]
    write_unlabelled(tmp_path / "in.h5", frames)
    summary = label_dataset(
        tmp_path / "in.h5", tmp_path / "out.h5", "lammps", config=config("sw"), progress=False
    )
    assert summary.counts == {"ok": 3}
    assert Dataset(tmp_path / "out.h5").reference["pair_style"] == "sw"
    carbon = Frame([6, 6], [[0, 0, 0], [1.5, 0, 0]], np.eye(3) * 8, True)
    write_unlabelled(tmp_path / "c.h5", [*frames, carbon])
    with pytest.raises(InputError, match="'C'") as err:
        label_dataset(tmp_path / "c.h5", tmp_path / "c-out.h5", "lammps", config=config("sw"))
    assert err.value.file == str(tmp_path / "c.h5") and not (tmp_path / "c-out.h5").exists()
    ref = get_reference("lammps", config=config("sw"))
    (alone,) = ref.label([carbon])  # the backend alone: a status, not a crash
    assert alone.status == "failed" and "[6]" in alone.message


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({**config("sw"), "pair_styl": "sw"}, "pair_styl"),
        ({"pair_coeff": ["* * Si.sw Si"], "elements": ["Si"]}, "pair_style"),
        ({**config("sw"), "elements": ["Xx"]}, "elements"),
        ({**config("sw"), "pair_coeff": "* * Si.sw Si"}, "pair_coeff"),
        ({"pair_style": "lj/cut 3.0", "pair_coeff": ["1 1 0.1 2.0"]}, "elements"),
    ],
)
def test_bad_settings_name_the_field(mapping, field):
    with pytest.raises(ConfigError) as err:
        get_reference("lammps", config=mapping)
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"pair_style": "no/such/style"}, "pair_style", "Unrecognized pair style"),
        ({"pair_coeff": ["* * no-such-file.sw Si"]}, "pair_coeff", "no-such-file.sw"),
        ({"pair_coeff": ["* * Si.sw C"]}, "pair_coeff", "missing an entry"),
    ],
)
def test_lammps_rejection_is_passed_on(change, field, words):
    with pytest.raises(ReferenceSetupError) as err:
        get_reference("lammps", config={**config("sw"), **change})
    assert err.value.field == field and words in str(err.value)


def test_cli_rejected_pair_style_exits_2_naming_file_and_field(tmp_path):
    write_unlabelled(tmp_path / "in.h5", [frame_of(distorted("sw"))])
    cfg = tmp_path / "ref.toml"
    cfg.write_text('pair_style = "sww"\npair_coeff = ["* * Si.sw Si"]\nelements = ["Si"]\n')
    proc = subprocess.run(
        [sys.executable, "-m", "mlmd.cli", "label", "in.h5", "-o", "out.h5"]
        + ["--reference", "lammps", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(cfg) in proc.stderr and "pair_style" in proc.stderr and "sww" in proc.stderr
    assert not (tmp_path / "out.h5").exists()
