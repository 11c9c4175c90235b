"""Decomposition on one rank: ghosts are periodic images; forces, energy and virial equal a
direct periodic evaluation (orthorhombic, triclinic, and a cell thinner than the ghost depth,
whose ghosts take several hops)."""

from __future__ import annotations

import numpy as np
import pytest

from mlmd.potential import evaluate, graph_from_atoms
from tests.md import tolerances as tol
from tests.md.helpers import Morse, decomposed, fcc_crystal


@pytest.mark.parametrize(
    ("triclinic", "repeat", "skin"),
    [(False, 3, 0.5), (True, 3, 0.5), (True, 1, 3.0)],
    ids=["orthorhombic", "triclinic", "cell-thinner-than-ghost-depth"],
)
def test_one_rank_matches_direct_periodic_evaluation(triclinic, repeat, skin):
    """The last case: a 4-atom cell 3.9 Å wide whose ghosts reach 8 Å, two images deep."""
    atoms = fcc_crystal((repeat,) * 3, rattle=0.2)
    if triclinic:
        shear = np.array([[1, 0.1, 0.05], [0, 1, -0.08], [0, 0, 1]])
        atoms.set_cell(atoms.cell.array @ shear, scale_atoms=True)
    atoms.positions += 3.0  # some atoms outside the cell: exchange wraps them
    pot = Morse()
    ref = evaluate(pot, graph_from_atoms([atoms], pot.cutoff_A))
    engine, state = decomposed(atoms, pot, skin)
    order = np.argsort(state.ids)
    assert engine.plan.n_local > engine.plan.n_owned  # ghosts are periodic images
    if repeat == 1:
        assert len(engine.plan.swaps) > 6  # several hops per direction
    assert abs(state.potential_energy - float(ref.energy[0].detach())) < tol.ENERGY_EV
    assert np.abs(state.forces[order] - ref.forces.numpy()).max() < tol.FORCE_EV_A
    assert np.abs(state.virial - ref.virial[0].numpy()).max() < tol.VIRIAL_EV
    # wrapped positions + images reproduce the input
    unwrapped = state.positions + state.images @ np.array(atoms.cell.array)
    assert np.abs(unwrapped[order] - atoms.positions).max() < tol.UNWRAP_A
