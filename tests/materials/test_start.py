"""mlmd/materials/start.py: start recipes give reproducible, seed-dependent frames with the
recipe's strain and rattle."""

from __future__ import annotations

import numpy as np
import pytest
from ase.data import atomic_masses

from mlmd.data import sio2_crystal
from mlmd.materials import (
    load_material,
    start_frames,
)
from mlmd.units import density_g_cm3
from tests.materials import tolerances as tol
from tests.materials.helpers import write_material


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
    m = load_material(write_material(tmp_path, crystals=crystals, start=start))
    frames = start_frames(m, "mix", seed=2)
    assert [f.n_atoms for f in frames] == [24, 30] * 3
    assert [f.source for f in frames] == [f"start:mix:{i}" for i in range(6)]
    base = sio2_crystal("cristobalite")
    for i, rattle_A in ((0, 0.0), (2, 0.05), (4, 0.1)):  # crystal frames: strain, then rattle
        strain = np.diag(frames[i].cell) / 7.16
        assert np.all(np.abs(strain - 1) <= 0.04) and np.all(strain != 1)
        assert np.array_equal(frames[i].cell, np.diag(np.diag(frames[i].cell)))
        shift = frames[i].positions - base.positions * strain
        assert np.std(shift) == pytest.approx(rattle_A, rel=tol.RATTLE_STD_REL, abs=1e-12)
    for f in frames[1::2]:  # random cells: the source's density range, strained by ±4 %
        mass = atomic_masses[f.numbers].sum()
        assert 2.1 / 1.04**3 <= density_g_cm3(mass, f.volume) <= 2.3 / 0.96**3
    again = start_frames(m, "mix", seed=2)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(frames, again, strict=True))
    other = start_frames(m, "mix", 2, seed=3)
    assert not np.array_equal(other[1].positions, frames[1].positions)
