"""The model's fixed core repulsion: right derivative, zero beyond its outer radius, the same
in the autograd and the analytic (ensemble) paths, and a wall that keeps atoms apart."""

import re

import numpy as np
import pytest
import torch
from ase import Atoms

from mlmd.potential import evaluate, graph_from_atoms
from mlmd.potential.model import BodyOrderPotential, ModelConfig
from mlmd.potential.repulsion import CoreTable, switch, zbl_pair
from mlmd.testing import assert_forces_match_finite_differences


def _close_pair_cell() -> Atoms:
    """A small SiO2-like cell with one O pushed to 0.9 Å of a Si (inside the switch)."""
    rng = np.random.default_rng(3)
    atoms = Atoms("SiO2SiO2", positions=rng.uniform(0, 6, (6, 3)), cell=[6.5] * 3, pbc=True)
    atoms.positions[1] = atoms.positions[0] + [0.9, 0.0, 0.0]
    return atoms


def test_pair_derivative_matches_finite_difference_and_switch_is_smooth():
    r = torch.linspace(0.4, 1.3, 181, dtype=torch.float64) + 1e-3  # off the switch ends
    z1, z2 = torch.full_like(r, 14), torch.full_like(r, 8)
    v, dv = zbl_pair(r, z1, z2, 0.6, 1.1)
    h = 1e-6
    fd = (zbl_pair(r + h, z1, z2, 0.6, 1.1)[0] - zbl_pair(r - h, z1, z2, 0.6, 1.1)[0]) / (2 * h)
    assert torch.allclose(dv, fd, rtol=1e-6, atol=1e-6)
    assert torch.all(v[r >= 1.1] == 0) and torch.all(dv[r >= 1.1] == 0)
    assert v[0] > 100.0  # a real wall: > 100 eV at 0.4 Å for Si–O
    assert torch.all(torch.diff(v) <= 0)  # purely repulsive, monotonic


def test_model_forces_include_the_wall_in_both_paths():
    atoms = _close_pair_cell()
    cfg = ModelConfig(species=[8, 14], channels=4, hidden=[8], n_basis=4)
    single = BodyOrderPotential(cfg, seed=1)
    assert_forces_match_finite_differences(single, atoms)  # analytic single-model path
    graph = graph_from_atoms([atoms], single.cutoff_A)
    vectors = graph.edge_vectors().requires_grad_(True)
    energy = single(graph, vectors).sum()  # autograd path through forward()
    (g,) = torch.autograd.grad(energy, vectors)
    f_autograd = torch.zeros_like(graph.positions).index_add(0, graph.edge_index[0], g)
    f_autograd = f_autograd.index_add(0, graph.edge_index[1], -g)
    ev = evaluate(single, graph)
    assert torch.allclose(ev.forces, f_autograd, atol=1e-8)
    without = BodyOrderPotential(ModelConfig(**{**cfg.__dict__, "core_repulsion": False}), seed=1)
    push = ev.forces[1, 0] - evaluate(without, graph).forces[1, 0]
    assert push > 1.0  # the O is pushed away from the Si along +x


def test_ensemble_members_share_the_pair_term():
    atoms = _close_pair_cell()
    ensemble = BodyOrderPotential(
        ModelConfig(species=[8, 14], channels=4, hidden=[8], n_basis=4, n_members=3)
    )
    graph = graph_from_atoms([atoms], ensemble.cutoff_A)
    ev = evaluate(ensemble, graph)
    members = ensemble(graph, graph.edge_vectors())  # [K, n]
    assert torch.allclose(ev.energy, members.sum(1).mean().reshape(1), rtol=1e-12)
    assert_forces_match_finite_differences(ensemble, atoms)


def _dimer_energy(model, r: float) -> float:
    atoms = Atoms("Si2", positions=[[5, 5, 5], [5 + r, 5, 5]], cell=[12.0] * 3, pbc=True)
    return float(evaluate(model, graph_from_atoms([atoms], model.cutoff_A)).energy)


def test_below_a_pairs_inner_radius_the_model_is_the_core_alone():
    cfg = ModelConfig(
        species=[8, 14], channels=4, hidden=[8], n_basis=4, repulsion_pairs_A={"14-14": [1.9, 2.4]}
    )
    model = BodyOrderPotential(cfg, seed=2)
    with torch.no_grad():
        model.scale.fill_(5.0)  # a learned part that would matter
    si = torch.tensor([14.0], dtype=torch.float64)
    for r1, r2 in ((1.2, 1.6), (1.5, 1.85)):  # inside 1.9 Å: the learned part is constant
        zbl = [
            float(zbl_pair(torch.tensor([r], dtype=torch.float64), si, si, 1.9, 2.4)[0])
            for r in (r1, r2)
        ]
        assert _dimer_energy(model, r1) - _dimer_energy(model, r2) == pytest.approx(
            zbl[0] - zbl[1], rel=1e-9
        )
    free = BodyOrderPotential(ModelConfig(**{**cfg.__dict__, "repulsion_pairs_A": {}}), seed=2)
    with torch.no_grad():
        free.scale.fill_(5.0)
    learned = _dimer_energy(free, 1.5) - _dimer_energy(free, 1.85)  # the old global switch
    assert abs(learned) > 1e-3  # (there the learned part still acted at 1.5 Å)
    assert _dimer_energy(model, 3.0) == pytest.approx(_dimer_energy(free, 3.0), rel=1e-12)


def test_a_pair_switch_keeps_forces_exact_in_both_paths():
    atoms = _close_pair_cell()
    atoms.positions[3] = atoms.positions[0] + [0.0, 2.1, 0.0]  # a Si–Si pair in its switch
    cfg = ModelConfig(
        species=[8, 14], channels=4, hidden=[8], n_basis=4, repulsion_pairs_A={"14-14": [1.9, 2.4]}
    )
    model = BodyOrderPotential(cfg, seed=1)
    assert_forces_match_finite_differences(model, atoms)
    graph = graph_from_atoms([atoms], model.cutoff_A)
    vectors = graph.edge_vectors().requires_grad_(True)
    (g,) = torch.autograd.grad(model(graph, vectors).sum(), vectors)
    f_autograd = torch.zeros_like(graph.positions).index_add(0, graph.edge_index[0], g)
    f_autograd = f_autograd.index_add(0, graph.edge_index[1], -g)
    assert torch.allclose(evaluate(model, graph).forces, f_autograd, atol=1e-8)


def test_bad_pair_radii_are_refused():
    with pytest.raises(ValueError, match="repulsion_pairs_A"):
        BodyOrderPotential(
            ModelConfig(species=[8, 14], repulsion_pairs_A={"14-14": [2.4, 1.9]}), seed=0
        )


def test_core_table_acts_on_the_edges_inside_their_outer_radius_only():
    atoms = _close_pair_cell()
    atoms.positions[3] = atoms.positions[0] + [0.0, 2.1, 0.0]  # a Si–Si pair in its switch
    pairs = {"14-14": [1.9, 2.4], "8-8": [0.2, 0.5], "1-8": [1.0, 2.0]}  # H: not a species
    table = CoreTable([8, 14], 0.6, 1.1, pairs)
    graph = graph_from_atoms([atoms], 5.0)
    i, j = graph.edge_index
    zi, zj = graph.numbers[i], graph.numbers[j]
    r = graph.edge_vectors().norm(dim=1)
    core = table.edges(r, zi, zj)
    si_si, o_o = (zi == 14) & (zj == 14), (zi == 8) & (zj == 8)

    def per_edge(si_si_A: float, o_o_A: float, other_A: float) -> torch.Tensor:
        return torch.full_like(r, other_A).masked_fill(si_si, si_si_A).masked_fill(o_o, o_o_A)

    outer = per_edge(2.4, 0.5, 1.1)
    assert torch.equal(core.index, torch.nonzero(r < outer).squeeze(1))
    assert bool(si_si[core.index].any()) and bool((~si_si[core.index]).any())
    inner = per_edge(1.9, 0.2, 0.6)
    v, dv = zbl_pair(r, zi, zj, inner, outer)
    assert torch.all(v[r >= outer] == 0) and torch.all(dv[r >= outer] == 0)
    s, ds = switch(r, inner, outer)
    for got, want in ((core.energy, v), (core.d_energy, dv), (core.switch, s), (core.d_switch, ds)):
        torch.testing.assert_close(got, want[core.index], rtol=1e-14, atol=0)  # SIMD: ulps


@pytest.mark.parametrize(
    ("pairs", "fix"),
    [
        ({"Si-O": [1.0, 1.5]}, 'e.g. "8-14"'),
        ({"14-8": [1.0, 1.5]}, 'write it "8-14"'),
        ({"8-14": [1.5, 1.0]}, "0 < inner < outer"),
        ({"8-14": [1.5]}, "two radii"),
    ],
)
def test_bad_pair_radii_in_a_config_file_name_the_field_and_the_fix(tmp_path, pairs, fix):
    from mlmd.errors import ConfigError
    from mlmd.train.cli import load_train_config

    with pytest.raises(ValueError, match=r"model\.repulsion_pairs_A.*fix: .*" + re.escape(fix)):
        ModelConfig(species=[8, 14], repulsion_pairs_A=pairs)
    (key, radii), path = next(iter(pairs.items())), tmp_path / "train.toml"
    path.write_text(f'[train.model]\nrepulsion_pairs_A = {{"{key}" = {radii}}}\n')
    with pytest.raises(ConfigError, match=r"model\.repulsion_pairs_A") as info:
        load_train_config(path)  # at parse time, not when training builds the model
    assert info.value.file == str(path) and fix in info.value.fix + info.value.message
