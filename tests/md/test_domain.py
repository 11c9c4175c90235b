"""Decomposition on one rank: ghosts are periodic images; forces, energy and virial equal a
direct periodic evaluation (orthorhombic, triclinic, and a cell thinner than the ghost depth,
whose ghosts take several hops)."""

from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from mlmd.md import domain
from mlmd.md.engine import Engine
from mlmd.md.forces import ForceField
from mlmd.md.integrators import make_integrator
from mlmd.md.rng import normals
from mlmd.md.schedule import Schedule
from mlmd.md.state import atoms_from_structure
from mlmd.potential import evaluate, graph_from_atoms
from tests.md import tolerances as tol
from tests.md.helpers import Morse, fcc_crystal


def decomposed(atoms, potential, skin=0.5):
    grid = domain.make_grid(MPI.COMM_WORLD)
    cell = np.array(atoms.cell.array)
    engine = Engine(
        grid,
        ForceField(potential, "cpu"),
        make_integrator("nve"),
        skin_A=skin,
        seed=0,
        temperature=Schedule.constant(0),
        pressure=Schedule.constant(0),
    )
    whole = atoms_from_structure(atoms.numbers, atoms.positions)
    return engine, engine.start(whole, cell, len(atoms), dt_fs=1.0)


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


def test_noise_is_keyed_by_atom_id_not_position_in_array():
    ids = np.arange(1000, 1100)
    z = normals(5, 42, ids)
    perm = np.random.default_rng(0).permutation(len(ids))
    assert np.array_equal(normals(5, 42, ids[perm]), z[perm])
    assert not np.allclose(normals(5, 43, ids), z)
    assert abs(z.mean()) < 0.2 and abs(z.std() - 1) < 0.15


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
