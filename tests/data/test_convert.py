"""Frames ↔ ASE Atoms ↔ extxyz: conventions, statuses and bit-identical round trips."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.stress import full_3x3_to_voigt_6_stress

from mlmd.data import Frame, frame_from_atoms, frame_to_atoms, read_extxyz, write_extxyz
from mlmd.errors import InputError
from tests.data._helpers import make_frame, same_frame


def test_atoms_round_trip_and_voigt_stress():
    frame = make_frame(3)
    atoms = frame_to_atoms(frame)
    assert np.array_equal(atoms.get_stress(), full_3x3_to_voigt_6_stress(frame.stress))
    assert atoms.get_stress()[3] == frame.stress[1, 2]  # Voigt order xx yy zz yz xz xy
    assert atoms.get_stress()[5] == frame.stress[0, 1]
    assert np.array_equal(atoms.get_forces(), frame.forces)
    assert atoms.get_potential_energy() == frame.energy
    back = frame_from_atoms(atoms)
    assert same_frame(back, frame) and back.source == frame.source


def test_status_from_available_labels():
    atoms = Atoms("SiO", positions=[[0, 0, 0], [1.6, 0, 0]], cell=[5, 5, 5], pbc=True)
    assert frame_from_atoms(atoms).status == "unlabelled"
    atoms.calc = SinglePointCalculator(atoms, energy=-1.0)
    only_e = frame_from_atoms(atoms)
    assert only_e.status == "missing_output" and np.isnan(only_e.forces).all()
    atoms.calc = SinglePointCalculator(atoms, energy=-1.0, forces=np.ones((2, 3)))
    full = frame_from_atoms(atoms)
    assert full.status == "ok" and not full.has_stress
    assert frame_from_atoms(atoms, status="failed").status == "failed"


def test_extxyz_round_trip_is_bit_identical(tmp_path):
    frames = [make_frame(i, labelled=i != 2) for i in range(5)]
    molecule = Frame(numbers=[1, 8, 1], positions=np.random.default_rng(0).normal(size=(3, 3)),
                     cell=np.zeros((3, 3)), pbc=False, source="water, gas phase")  # fmt: skip
    frames.append(molecule.with_labels(energy=-14.2, forces=np.full((3, 3), 1 / 3)))
    frames.append(
        Frame(**{**make_frame(9).__dict__, "weight": 0.25, "status": "scf_not_converged"})
    )
    path = tmp_path / "f.extxyz"
    assert write_extxyz(frames, path) == 7
    back = read_extxyz(path)
    assert all(same_frame(a, b) for a, b in zip(frames, back, strict=True))
    assert [f.source for f in back] == [f.source for f in frames]


def test_read_extxyz_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_extxyz(tmp_path / "missing.extxyz")
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    with pytest.raises(InputError):
        read_extxyz(empty)
    garbled = tmp_path / "garbled.extxyz"
    garbled.write_text("3\nProperties=species:S:1:pos:R:3\nSi 0 0\n")
    with pytest.raises(InputError, match="extxyz") as err:
        read_extxyz(garbled)
    assert err.value.file == str(garbled)
