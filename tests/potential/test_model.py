"""Physics of the flagship body-order model (tiny float64 models with random weights)."""

import numpy as np
import pytest
import torch
from ase import Atoms

from mlmd import testing
from mlmd.data.build import sio2_crystal
from mlmd.data.convert import frame_to_atoms
from mlmd.errors import InputError
from mlmd.potential import evaluate, graph_from_atoms
from mlmd.potential.model import BodyOrderPotential, ModelConfig

TINY = ModelConfig(species=[8, 14], cutoff_A=4.0, n_basis=4, channels=4, hidden=[8])


def _model(seed: int = 0, **kw) -> BodyOrderPotential:
    model = BodyOrderPotential(ModelConfig(**{**TINY.__dict__, **kw}), seed=seed)
    with torch.no_grad():  # non-trivial reference energies and scale
        model.e0.copy_(torch.tensor([[-4.0, -7.5]]))
        model.scale.fill_(2.0)
    return model


def _quartz(seed: int = 0) -> Atoms:
    atoms = frame_to_atoms(sio2_crystal("quartz"))
    atoms.rattle(0.1, seed=seed)
    cell = atoms.cell.array @ np.array([[1.0, 0.04, 0.0], [0.0, 0.97, 0.03], [0.0, 0.0, 1.02]])
    atoms.set_cell(cell, scale_atoms=True)
    return atoms


def test_rotation_and_reflection_equivariance():
    testing.assert_rotation_equivariant(_model(), _quartz(), seed=3)


def test_translation_and_permutation_invariance():
    testing.assert_translation_permutation_invariant(_model(), _quartz(), seed=4)


def test_forces_are_minus_energy_gradient():
    testing.assert_forces_match_finite_differences(_model(), _quartz(), n_checks=6)


def test_stress_is_strain_derivative():
    testing.assert_stress_matches_strain_derivative(_model(), _quartz())


def test_cell_and_supercell_agree():
    testing.assert_supercell_consistent(_model(), _quartz())


@pytest.mark.parametrize("pair", [(14, 8), (8, 8), (14, 14)])
def test_energy_and_force_continuous_at_cutoff(pair):
    testing.assert_smooth_at_cutoff(_model(), pair)


def test_energy_depends_on_angles_not_only_distances():
    """Body order > 2: moving a neighbour around the centre at fixed distances changes E."""
    model = _model(seed=2)
    energies = []
    for angle in (60.0, 100.0, 150.0):
        t = np.radians(angle)
        pos = [[0, 0, 0], [1.6, 0, 0], [1.6 * np.cos(t), 1.6 * np.sin(t), 0]]
        atoms = Atoms(numbers=[14, 8, 8], positions=pos, pbc=False)
        g = graph_from_atoms([atoms], model.cutoff_A)
        # the O–O distance changes with the angle: keep only the Si centre's energy
        energies.append(float(evaluate(model, g, forces=False).per_atom_energy[0].detach()))
    assert np.ptp(energies) > 1e-4


def test_float32_model_agrees_with_float64():
    atoms = _quartz()
    e64 = evaluate(_model(), graph_from_atoms([atoms], TINY.cutoff_A))
    m32 = _model(dtype="float32")
    e32 = evaluate(m32, graph_from_atoms([atoms], TINY.cutoff_A))
    assert e32.energy.dtype == torch.float64
    assert torch.allclose(e32.energy, e64.energy, rtol=1e-5)
    assert torch.allclose(e32.forces, e64.forces, atol=1e-4 * e64.forces.abs().max())


def test_unknown_species_is_rejected():
    atoms = Atoms(numbers=[14, 1], positions=[[0, 0, 0], [1.5, 0, 0]], pbc=False)
    with pytest.raises(InputError, match=r"\[1\] \(H \(1\)\) are not among"):
        evaluate(_model(), graph_from_atoms([atoms], TINY.cutoff_A))


@pytest.mark.parametrize("inner, outer", [(1.1, 1.1), (1.5, 1.1), (0.0, 1.1), (-0.2, 1.1)])
def test_core_repulsion_radii_out_of_order_are_refused(inner, outer):
    with pytest.raises(ValueError, match=r"need 0 < repulsion_inner_A < repulsion_outer_A"):
        _model(repulsion_inner_A=inner, repulsion_outer_A=outer)
    _model(repulsion_inner_A=1.0, repulsion_outer_A=1.1)  # in order: built
