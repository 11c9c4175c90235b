"""A small teacher-labelled SiO2 dataset shared by the training tests."""

import numpy as np
import pytest

from mlmd.data import Dataset
from mlmd.data.build import sio2_crystal
from mlmd.potential.model import ModelConfig
from mlmd.reference.teacher import Teacher
from mlmd.train import TrainConfig


def teacher_frames(n: int, seed: int = 0):
    """``n`` rattled and strained quartz/cristobalite cells labelled by the teacher."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        base = sio2_crystal("quartz" if k % 2 == 0 else "cristobalite")
        strain = np.eye(3) + rng.normal(scale=0.01, size=(3, 3))
        cell = base.cell @ strain
        frac = np.linalg.solve(base.cell.T, base.positions.T).T
        pos = frac @ cell + rng.normal(scale=0.03, size=base.positions.shape)
        frames.append(base.__class__(numbers=base.numbers, positions=pos, cell=cell, pbc=True))
    results = Teacher().label(frames)
    return [
        f.with_labels(energy=r.energy, forces=r.forces, stress=r.stress)
        for f, r in zip(frames, results, strict=True)
    ]


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "sio2.h5"
    ds = Dataset.create(path, {"name": "teacher", "potential": "teacher"})
    ds.append(teacher_frames(12))
    return path


def tiny_config(**kw) -> TrainConfig:
    model = ModelConfig(species=[8, 14], cutoff_A=4.0, n_basis=4, channels=4, hidden=[8])
    base = dict(model=model, epochs=3, batch_size=3, lr=1e-2, split=[0.6, 0.2, 0.2])
    return TrainConfig(**{**base, **kw})
