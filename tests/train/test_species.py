"""The potential takes its species from the data: a-Si (Si only) and Cu–Zr, nothing SiO2.

Labels come from cheap analytic potentials through ASE: Lennard-Jones for Si, and LAMMPS's
Cu–Zr Finnis–Sinclair EAM (``CuZr_mm.eam.fs`` of lammps-data) through ASE's EAM
calculator (Lennard-Jones if that file is absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.eam import EAM
from ase.calculators.lj import LennardJones

from mlmd.cli import main
from mlmd.data import Dataset, frame_from_atoms
from mlmd.data.build import sio2_crystal
from mlmd.data.convert import frame_to_atoms
from mlmd.errors import InputError
from mlmd.potential.calculator import MlmdCalculator
from mlmd.potential.model import ModelConfig
from mlmd.potential.registry import load_potential
from mlmd.train import TrainConfig, train_member

CUZR_EAM = Path("/usr/share/lammps/potentials/CuZr_mm.eam.fs")


def _labelled(cells: list[Atoms], calc, path: Path) -> Path:
    frames = []
    for atoms in cells:
        atoms.calc = calc
        atoms.get_forces(), atoms.get_stress()
        frames.append(frame_from_atoms(atoms))
    Dataset.create(path, {"name": type(calc).__name__.lower()}).append(frames)
    return path


def silicon_cells(n: int) -> list[Atoms]:
    cells = []
    for k in range(n):
        a = bulk("Si", "diamond", a=5.43 * (1 + 0.01 * (k % 3 - 1)), cubic=True)
        a.rattle(0.08, seed=k)
        cells.append(a)
    return cells


def cuzr_cells(n: int) -> list[Atoms]:
    """fcc cells with a third of the sites Zr (Cu64Zr36-like), rattled."""
    rng = np.random.default_rng(3)
    cells = []
    for k in range(n):
        a = bulk("Cu", "fcc", a=3.85, cubic=True) * (1, 1, 2)
        a.numbers[rng.choice(len(a), 3, replace=False)] = 40
        a.rattle(0.06, seed=10 + k)
        cells.append(a)
    return cells


def tiny(**model) -> TrainConfig:
    base = dict(cutoff_A=4.5, n_basis=3, channels=2, hidden=[4])
    return TrainConfig(
        model=ModelConfig(**{**base, **model}), epochs=2, batch_size=2, split=[0.5, 0.25, 0.25]
    )


def test_silicon_only_model_has_species_14_and_refuses_oxygen(tmp_path):
    data = _labelled(
        silicon_cells(6), LennardJones(sigma=2.1, epsilon=0.5, rc=4.5), tmp_path / "si.h5"
    )
    metrics = train_member(data, tmp_path / "model", tiny(), 0)
    assert metrics["species"] == [14]
    saved = json.loads((tmp_path / "model/member_0/config.json").read_text())
    assert saved["species"] == [14]
    calc = MlmdCalculator(tmp_path / "model")
    si = silicon_cells(1)[0]
    si.calc = calc
    assert np.isfinite(si.get_potential_energy()) and si.get_forces().shape == (8, 3)
    quartz = frame_to_atoms(sio2_crystal("quartz"))
    quartz.calc = calc
    with pytest.raises(InputError, match=r"O \(8\)"):
        quartz.get_potential_energy()


def test_cuzr_model_trains_exports_and_evaluates(tmp_path, capsys):
    calc = EAM(potential=str(CUZR_EAM)) if CUZR_EAM.is_file() else LennardJones(sigma=2.3)
    data = _labelled(cuzr_cells(6), calc, tmp_path / "cuzr.h5")
    model_dir, exported = tmp_path / "model", tmp_path / "cuzr.pt"
    cfg = tmp_path / "train.toml"
    cfg.write_text(
        "[train]\nbatch_size = 2\nsplit = [0.5, 0.25, 0.25]\n"
        "[train.model]\ncutoff_A = 4.5\nn_basis = 3\nchannels = 2\nhidden = [4]\n"
    )
    train = ["train", data, "-o", model_dir, "--config", cfg, "--epochs", "2", "--ensemble", "2"]
    assert main([str(a) for a in train]) == 0
    assert main(["export", str(model_dir), "-o", str(exported)]) == 0
    assert main(["evaluate", str(exported), str(data), "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{") :])
    assert report["n_members"] == 2 and np.isfinite(report["forces_rmse"])
    model = load_potential(exported)
    assert model.species == [29, 40] and model.n_members == 2
    atoms = cuzr_cells(1)[0]
    atoms.calc = MlmdCalculator(model)
    assert atoms.calc.get_property("energy_std", atoms) >= 0.0


def test_given_species_may_add_elements_but_must_cover_the_data(tmp_path):
    data = _labelled(silicon_cells(6), LennardJones(sigma=2.1, rc=4.5), tmp_path / "si.h5")
    metrics = train_member(data, tmp_path / "m", tiny(species=[14, 32]), 0)
    assert metrics["species"] == [14, 32]
    with pytest.raises(InputError, match="train.model.species") as info:
        train_member(data, tmp_path / "m2", tiny(species=[8]), 0)
    assert "Si" in str(info.value) and not (tmp_path / "m2").exists()
