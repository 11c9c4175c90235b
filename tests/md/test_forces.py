"""Forces of a decomposed domain: a message-passing potential gets ghost centres, and an
ensemble's force spread counts what reaches an owner through its ghosts."""

from __future__ import annotations

import numpy as np

from mlmd.potential import evaluate, graph_from_atoms
from tests.md import tolerances as tol
from tests.md.helpers import decomposed, fcc_crystal


def test_message_passing_potential_gets_ghost_centres():
    from tests.md.helpers import TwoLayer

    atoms = fcc_crystal((4, 4, 4), rattle=0.2)
    pot = TwoLayer()
    ref = evaluate(pot, graph_from_atoms([atoms], pot.cutoff_A))
    engine, state = decomposed(atoms, pot)
    order = np.argsort(state.ids)
    assert abs(state.potential_energy - float(ref.energy[0].detach())) < tol.ENERGY_EV
    assert np.abs(state.forces[order] - ref.forces.numpy()).max() < tol.FORCE_EV_A
    assert np.abs(state.virial - ref.virial[0].numpy()).max() < tol.VIRIAL_EV


def test_ensemble_spread_counts_ghost_contributions():
    """An owner's force spread includes what reaches it through ghosts (here its periodic
    images): the same per-atom std as a direct periodic evaluation."""
    from mlmd.data.build import sio2_crystal
    from mlmd.data.convert import frame_to_atoms
    from mlmd.potential.model import BodyOrderPotential, ModelConfig

    config = ModelConfig(
        species=[8, 14], cutoff_A=4.0, n_basis=4, channels=4, hidden=[8], n_members=3
    )
    pot = BodyOrderPotential(config, seed=1)
    atoms = frame_to_atoms(sio2_crystal("cristobalite", (2, 1, 1)))
    atoms.rattle(0.05, seed=3)
    ref = evaluate(pot, graph_from_atoms([atoms], pot.cutoff_A))
    engine, state = decomposed(atoms, pot)
    order = np.argsort(state.ids)
    assert engine.plan.n_local > engine.plan.n_owned
    assert np.abs(state.forces[order] - ref.forces.numpy()).max() < tol.FORCE_SPREAD_EV_A
    assert np.abs(state.force_std[order] - ref.force_std.numpy()).max() < tol.FORCE_SPREAD_EV_A
