"""The reusable physics assertions pass on a correct potential and catch broken ones."""

import numpy as np
import pytest
import torch
from ase.build import bulk

from mlmd import testing


class Pair(torch.nn.Module):
    """A smooth pair potential; ``flaw`` breaks one symmetry on purpose."""

    cutoff_A = receptive_field_A = 4.0
    species = [14]

    def __init__(self, flaw: str = ""):
        super().__init__()
        self.flaw = flaw
        self.register_buffer("scale", torch.tensor(1.0, dtype=torch.float64))

    def forward(self, graph, edge_vectors):
        r = edge_vectors.norm(dim=1)
        x = r / self.cutoff_A
        pair = 0.5 * self.scale * ((1 - torch.exp(-1.5 * (r - 2.4))) ** 2 - 1) * (1 - x**2) ** 2
        if self.flaw == "axis":  # depends on the direction of the bond
            pair = pair * (1 + 0.1 * edge_vectors[:, 0] / r)
        if self.flaw == "jump":  # truncated, not smoothed, at the cutoff
            pair = pair + 0.01 * (r < self.cutoff_A)
        out = torch.zeros(graph.n_atoms, dtype=torch.float64)
        out = out.index_add(0, graph.edge_index[0], pair)
        if self.flaw == "absolute":  # reads positions outside edge_vectors
            out = out + 0.05 * torch.sin(graph.positions[:, 0])
        if self.flaw == "size":  # depends on the number of atoms
            out = out * (1 + 1.0 / graph.n_atoms)
        return out


def silicon():
    atoms = bulk("Si", "diamond", a=5.3)
    atoms.set_cell(atoms.cell.array @ np.array([[1, 0.04, 0], [0, 1, 0.03], [0, 0, 1]]), True)
    atoms.rattle(0.1, seed=1)
    return atoms


def test_a_correct_potential_passes_every_check():
    pot, atoms = Pair(), silicon()
    testing.assert_forces_match_finite_differences(pot, atoms)
    testing.assert_stress_matches_strain_derivative(pot, atoms)
    testing.assert_rotation_equivariant(pot, atoms)
    testing.assert_translation_permutation_invariant(pot, atoms)
    testing.assert_supercell_consistent(pot, atoms)
    testing.assert_smooth_at_cutoff(pot, (14, 14))


@pytest.mark.parametrize(
    "flaw, check, message",
    [
        ("absolute", testing.assert_forces_match_finite_differences, "finite differences"),
        ("absolute", testing.assert_translation_permutation_invariant, "translation"),
        ("axis", testing.assert_rotation_equivariant, "under rotation"),
        ("size", testing.assert_supercell_consistent, "supercell"),
    ],
)
def test_each_check_catches_its_flaw(flaw, check, message):
    with pytest.raises(AssertionError, match=message):
        check(Pair(flaw), silicon())


def test_cutoff_check_catches_a_jump():
    with pytest.raises(AssertionError, match="energy jumps"):
        testing.assert_smooth_at_cutoff(Pair("jump"), (14, 14))


def test_tolerances_follow_the_dtype():
    pot = Pair()
    assert testing.tolerances_for(pot) is testing.TOLERANCES[torch.float64]
    pot.scale = pot.scale.float()
    assert testing.tolerances_for(pot) is testing.TOLERANCES[torch.float32]


def test_random_orthogonal_has_the_asked_handedness():
    rng = np.random.default_rng(0)
    for reflect in (False, True):
        q = testing.random_orthogonal(rng, reflect)
        assert np.allclose(q @ q.T, np.eye(3), atol=1e-12)
        assert np.isclose(np.linalg.det(q), -1.0 if reflect else 1.0)
