"""The shared energy → forces/virial function, checked on a Morse pair potential."""

import numpy as np
import torch
from ase.build import bulk

from mlmd.potential import evaluate, graph_from_atoms


class Morse(torch.nn.Module):
    """A real, smooth pair potential (half the pair energy on each atom)."""

    cutoff_A = 5.0
    receptive_field_A = 5.0
    species = [14]

    def forward(self, graph, edge_vectors):
        r = edge_vectors.norm(dim=1)
        x = r / self.cutoff_A
        smooth = (1 - x**2) ** 2  # energy and force vanish at the cutoff
        pair = 0.5 * ((1 - torch.exp(-1.5 * (r - 2.4))) ** 2 - 1) * smooth
        out = torch.zeros(graph.n_atoms, dtype=edge_vectors.dtype)
        return out.index_add(0, graph.edge_index[0], pair)


def _atoms():
    atoms = bulk("Si", "diamond", a=5.2).repeat((2, 2, 1))
    atoms.rattle(0.1, seed=1)
    atoms.set_cell(
        atoms.cell.array @ np.array([[1, 0.05, 0], [0, 1, 0.02], [0, 0, 1]]), scale_atoms=True
    )
    return atoms


def _energy(atoms):
    return float(
        evaluate(Morse(), graph_from_atoms([atoms], 5.0), forces=False, virial=False).energy[0]
    )


def test_forces_are_minus_finite_difference_gradient():
    atoms = _atoms()
    res = evaluate(Morse(), graph_from_atoms([atoms], 5.0))
    h = 1e-5
    for a, k in [(0, 0), (3, 1), (5, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[a, k] += h
        minus.positions[a, k] -= h
        fd = -(_energy(plus) - _energy(minus)) / (2 * h)
        assert abs(res.forces[a, k].item() - fd) < 1e-7


def test_stress_is_strain_derivative():
    atoms = _atoms()
    graph = graph_from_atoms([atoms], 5.0)
    res = evaluate(Morse(), graph)
    stress = res.stress(graph.cell)[0].numpy()
    h = 1e-6
    volume = atoms.get_volume()
    for a, b in [(0, 0), (1, 2), (0, 1)]:
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = h / 2 if a != b else h
        e = []
        for sign in (1, -1):
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ (np.eye(3) + sign * eps), scale_atoms=True)
            e.append(_energy(strained))
        fd = (e[0] - e[1]) / (2 * h) / volume
        assert abs(stress[a, b] - fd) < 1e-8
    assert np.allclose(stress, stress.T, atol=1e-12)


def test_forces_sum_to_zero_and_batching_matches_single():
    a1, a2 = _atoms(), bulk("Si", "diamond", a=5.4, cubic=True)
    batch = evaluate(Morse(), graph_from_atoms([a1, a2], 5.0))
    single = evaluate(Morse(), graph_from_atoms([a2], 5.0))
    assert torch.allclose(batch.energy[1], single.energy[0], rtol=1e-12)
    assert torch.allclose(batch.forces[len(a1) :], single.forces, atol=1e-12)
    assert torch.allclose(batch.virial[1], single.virial[0], atol=1e-12)
    assert abs(batch.forces[: len(a1)].sum(0)).max() < 1e-10
