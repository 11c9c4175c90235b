"""Stacked ensembles: mean and spread equal member-by-member evaluation."""

import dataclasses

import pytest
import torch

from mlmd import testing
from mlmd.data.build import sio2_crystal
from mlmd.data.convert import frame_to_atoms
from mlmd.potential import evaluate, graph_from_atoms
from mlmd.potential.ensemble import member, stack_members
from mlmd.potential.model import BodyOrderPotential, ModelConfig

TINY = ModelConfig(species=[8, 14], cutoff_A=4.0, n_basis=4, channels=4, hidden=[8])


def _members(k: int = 3) -> list[BodyOrderPotential]:
    models = []
    for seed in range(k):
        m = BodyOrderPotential(TINY, seed=seed)
        with torch.no_grad():
            m.e0.copy_(torch.tensor([[-4.0 - seed, -7.5]]))
        models.append(m)
    return models


def _graph():
    atoms = frame_to_atoms(sio2_crystal("quartz", (1, 1, 2)))
    atoms.rattle(0.15, seed=1)
    other = frame_to_atoms(sio2_crystal("cristobalite"))
    other.rattle(0.1, seed=2)
    return graph_from_atoms([atoms, other], TINY.cutoff_A)


@pytest.mark.parametrize("create_graph", [False, True])  # fast path / generic batched path
def test_ensemble_mean_and_spread_match_members(create_graph):
    models = _members()
    ens = stack_members(models)
    assert ens.n_members == 3
    graph = _graph()
    ev = evaluate(ens, graph, create_graph=create_graph)
    singles = [evaluate(m, graph) for m in models]
    e = torch.stack([s.energy for s in singles])
    f = torch.stack([s.forces for s in singles])
    w = torch.stack([s.virial for s in singles])
    torch.testing.assert_close(ev.energy.detach(), e.mean(0), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ev.energy_std.detach(), e.std(0, correction=0))
    torch.testing.assert_close(ev.forces.detach(), f.mean(0), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ev.virial.detach(), w.mean(0), rtol=1e-10, atol=1e-12)
    f_std = ((f - f.mean(0)) ** 2).sum(-1).mean(0).sqrt()
    torch.testing.assert_close(ev.force_std.detach(), f_std, rtol=1e-9, atol=1e-12)
    assert float(ev.force_std.detach().max()) > 0


@pytest.mark.parametrize("create_graph", [False, True])
def test_mean_only_evaluation_equals_the_mean_of_members(create_graph):
    """spread=False (MD steps between spread checks): the same mean, no per-member forces."""
    ens = stack_members(_members())
    graph = _graph()
    full = evaluate(ens, graph, create_graph=create_graph)
    mean = evaluate(ens, graph, create_graph=create_graph, spread=False)
    assert mean.force_std is None
    torch.testing.assert_close(mean.energy_std.detach(), full.energy_std.detach())
    torch.testing.assert_close(mean.forces.detach(), full.forces.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(mean.virial.detach(), full.virial.detach(), rtol=1e-10, atol=1e-12)


def test_ghost_atoms_change_nothing_but_cost():
    """Energies are computed for owned atoms only; ghost rows neither add energy nor force."""
    ens = stack_members(_members())
    graph = _graph()
    ref = evaluate(ens, graph)
    n = graph.n_atoms
    ghost = dataclasses.replace(
        graph,
        positions=torch.cat([graph.positions, graph.positions[:5] + 0.3]),
        numbers=torch.cat([graph.numbers, graph.numbers[:5]]),
        owned=torch.cat([graph.owned, torch.zeros(5, dtype=torch.bool)]),
        system=torch.cat([graph.system, graph.system[:5]]),
    )
    ev = evaluate(ens, ghost)
    torch.testing.assert_close(ev.energy, ref.energy, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ev.forces[:n], ref.forces, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ev.force_std[:n], ref.force_std, rtol=1e-9, atol=1e-12)
    assert float(ev.per_atom_energy[n:].abs().max()) == 0.0


def test_single_model_has_no_spread():
    ev = evaluate(_members(1)[0], _graph())
    assert ev.energy_std is None and ev.force_std is None


def test_energy_only_ensemble_evaluation():
    ens = stack_members(_members())
    ev = evaluate(ens, _graph(), forces=False, virial=False)
    assert ev.forces is None and ev.energy_std.shape == (2,)


def test_member_extraction_round_trips():
    models = _members()
    ens = stack_members(models)
    graph = _graph()
    for k, m in enumerate(models):
        a = evaluate(member(ens, k), graph, forces=False).energy
        b = evaluate(m, graph, forces=False).energy
        torch.testing.assert_close(a.detach(), b.detach())


def test_ensemble_is_equivariant():
    atoms = frame_to_atoms(sio2_crystal("quartz"))
    atoms.rattle(0.1, seed=5)
    testing.assert_rotation_equivariant(stack_members(_members()), atoms, seed=1)


def test_stacking_different_architectures_fails():
    other = BodyOrderPotential(ModelConfig(**{**TINY.__dict__, "channels": 5}))
    with pytest.raises(ValueError, match="architecture"):
        stack_members([_members(1)[0], other])


def test_one_species_ensemble_matches_its_members():
    """One species (a-Si): the density slot axis has size 1, where a reshape of the
    permuted cotangent is not contiguous (it once raised 'view size is not compatible')."""
    from ase.build import bulk

    cfg = dataclasses.replace(TINY, species=[14])
    models = [BodyOrderPotential(cfg, seed=seed) for seed in range(2)]
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.rattle(0.1, seed=3)
    graph = graph_from_atoms([atoms], cfg.cutoff_A)
    ev = evaluate(stack_members(models), graph)
    f = torch.stack([evaluate(m, graph).forces for m in models])
    torch.testing.assert_close(ev.forces.detach(), f.mean(0), rtol=1e-10, atol=1e-12)
