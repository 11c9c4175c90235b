"""The ASE calculator adapter on the teacher and on a two-member ensemble of teachers."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress
from ase.spacegroup import crystal

from mlmd import testing
from mlmd.errors import InputError
from mlmd.potential import Vashishta
from mlmd.potential.calculator import MlmdCalculator
from mlmd.potential.vashishta_file import NKV1994


def quartz() -> Atoms:
    atoms = crystal(
        ["Si", "O"],
        basis=[(0.4697, 0, 2 / 3), (0.4135, 0.2669, 0.7858)],
        spacegroup=154,
        cellpar=[4.916, 4.916, 5.4054, 90, 90, 120],
    )
    atoms.rattle(0.05, seed=3)
    return atoms


class TwoTeachers(torch.nn.Module):
    """An ensemble in the sense of contract 3: the 1994 teacher and one with a 10 % stiffer
    Si–O–Si angle term; forward returns per-atom energies [K, n]."""

    def __init__(self):
        super().__init__()
        stiff = dict(NKV1994)
        stiff["O", "Si", "Si"] = (*NKV1994["O", "Si", "Si"][:9], 1.1 * 19.972,
                                  *NKV1994["O", "Si", "Si"][10:])  # fmt: skip
        self.members = torch.nn.ModuleList([Vashishta(), Vashishta(stiff)])
        self.n_members = 2
        self.cutoff_A = self.receptive_field_A = 5.5
        self.species = [8, 14]

    def forward(self, graph, edge_vectors):
        return torch.stack([m(graph, edge_vectors) for m in self.members])


def test_results_match_the_shared_evaluate_and_ase_numerics():
    atoms = quartz()
    atoms.calc = MlmdCalculator("teacher")
    ref = testing.compute(Vashishta(), atoms)
    assert atoms.get_potential_energy() == pytest.approx(ref.energy, rel=1e-14)
    assert atoms.get_potential_energy(force_consistent=True) == pytest.approx(ref.energy)
    assert np.allclose(atoms.get_forces(), ref.forces, rtol=0, atol=1e-12)
    assert np.allclose(atoms.get_potential_energies(), ref.energies, atol=1e-12)
    stress = atoms.get_stress()  # Voigt xx yy zz yz xz xy
    full = atoms.get_stress(voigt=False)
    assert np.allclose(full, ref.stress, atol=1e-14)
    assert np.allclose(stress, full[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]], atol=0)
    numerical = calculate_numerical_stress(atoms, eps=1e-6)
    assert np.abs(stress - numerical).max() < 1e-6 * np.abs(stress).max()
    numerical = calculate_numerical_forces(atoms, eps=1e-5)
    assert np.abs(atoms.get_forces() - numerical).max() < 1e-6 * np.abs(numerical).max()
    assert "energy_std" not in atoms.calc.results


def test_new_positions_are_recomputed():
    atoms = quartz()
    atoms.calc = MlmdCalculator(Vashishta())
    e0 = atoms.get_potential_energy()
    atoms.positions[0, 0] += 0.05
    assert atoms.get_potential_energy() != e0


def test_isolated_cluster_has_energy_and_forces_but_no_stress():
    cluster = Atoms("SiO2", positions=[[0, 0, 0], [1.6, 0, 0], [-0.8, 1.4, 0]], pbc=False)
    cluster.calc = MlmdCalculator(Vashishta())
    assert np.abs(cluster.get_forces().sum(0)).max() < 1e-12
    with pytest.raises(PropertyNotImplementedError):
        cluster.get_stress()


def test_ensemble_mean_and_spread_in_results():
    atoms = quartz()
    members = TwoTeachers()
    atoms.calc = MlmdCalculator(members)
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    stress = atoms.get_stress()
    singles = [testing.compute(m, atoms) for m in members.members]
    f = np.stack([s.forces for s in singles])
    assert energy == pytest.approx(np.mean([s.energy for s in singles]), rel=1e-13)
    assert np.allclose(forces, f.mean(0), atol=1e-12)
    mean_stress = np.mean([s.stress for s in singles], axis=0)
    assert np.allclose(stress[:3], np.diag(mean_stress), atol=1e-13)
    results = atoms.calc.results
    assert results["energy_std"] == pytest.approx(abs(singles[0].energy - singles[1].energy) / 2)
    spread = np.sqrt(((f - f.mean(0)) ** 2).sum(-1).mean(0))
    assert np.allclose(results["force_std"], spread, atol=1e-12)
    assert results["max_force_std"] == pytest.approx(spread.max())
    assert results["max_force_std"] > 1e-3  # the members really differ


def test_ensemble_spread_is_an_ase_property():
    """Before: get_property("energy_std") raised PropertyNotImplementedError."""
    atoms = quartz()
    calc = MlmdCalculator(TwoTeachers())
    for name in MlmdCalculator.ensemble_properties:
        assert name in calc.implemented_properties
    std = calc.get_property("energy_std", atoms)
    assert std > 0 and std == calc.results["energy_std"]
    assert calc.get_property("force_std", atoms).shape == (len(atoms),)
    assert calc.get_property("max_force_std", atoms) == calc.results["force_std"].max()
    single = MlmdCalculator("teacher")
    assert "energy_std" not in single.implemented_properties
    with pytest.raises(PropertyNotImplementedError):
        single.get_property("energy_std", atoms)


def test_an_element_the_potential_does_not_know_is_named():
    atoms = quartz()
    atoms.numbers[0] = 29
    atoms.calc = MlmdCalculator("teacher")
    with pytest.raises(InputError, match=r"\[29\] \(Cu \(29\)\) are not among"):
        atoms.get_potential_energy()
