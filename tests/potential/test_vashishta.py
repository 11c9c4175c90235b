"""The Vashishta teacher: against LAMMPS pair_style vashishta, and the physics checks."""

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.geometry import get_distances
from ase.spacegroup import crystal

from mlmd import testing
from mlmd.errors import InputError
from mlmd.potential import Vashishta, evaluate, graph_from_atoms, load_potential
from mlmd.potential.vashishta import triplet_pairs
from mlmd.potential.vashishta_file import NKV1994, PARAMETER_NAMES
from mlmd.reference import lammps_direct as lammps

LAMMPS_FILE = Path("/usr/share/lammps/potentials/SiO.1994.vashishta")
needs_lammps = pytest.mark.skipif(
    lammps.lammps_binary() is None or not LAMMPS_FILE.is_file(),
    reason="LAMMPS 'lmp' or its SiO.1994.vashishta is missing (apt-get install lammps "
    "lammps-data): the teacher-vs-LAMMPS check did NOT run",
)
RELATIVE = 1e-6  # the bar for teacher vs LAMMPS


def quartz() -> Atoms:
    """alpha-quartz, 9 atoms, 2.646 g/cm³ (Levien et al. 1980; notes/sio2.md)."""
    return crystal(
        ["Si", "O"],
        basis=[(0.4697, 0, 2 / 3), (0.4135, 0.2669, 0.7858)],
        spacegroup=154,
        cellpar=[4.916, 4.916, 5.4054, 90, 90, 120],
    )


def density(atoms: Atoms) -> float:
    return atoms.get_masses().sum() / atoms.get_volume() * 1.66053906660


def random_sio2(n_si: int, density_g_cm3: float, seed: int) -> Atoms:
    """Random insertion into a sheared (triclinic) cell with minimum separations
    Si–O 1.5, O–O 2.2, Si–Si 2.8 Å."""
    rng = np.random.default_rng(seed)
    numbers = [14] * n_si + [8] * (2 * n_si)
    mass = n_si * (28.0855 + 2 * 15.999)
    volume = mass * 1.66053906660 / density_g_cm3
    shape = np.array([[1.0, 0.0, 0.0], [0.21, 0.95, 0.0], [-0.12, 0.17, 1.08]])
    cell = shape * (volume / abs(np.linalg.det(shape))) ** (1 / 3)
    minimum = {(14, 14): 2.8, (8, 8): 2.2, (8, 14): 1.5, (14, 8): 1.5}
    positions: list[np.ndarray] = []
    for z in numbers:
        for _ in range(10000):
            p = rng.random(3) @ cell
            if positions:
                _, d = get_distances(p[None], np.array(positions), cell=cell, pbc=True)
                limits = np.array([minimum[(z, numbers[k])] for k in range(len(positions))])
                if np.any(d[0] < limits):
                    continue
            positions.append(p)
            break
        else:
            raise RuntimeError("random insertion failed")
    return Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)


def structures() -> dict[str, Atoms]:
    """Copies of the test structures (built once)."""
    return {name: atoms.copy() for name, atoms in _structures().items()}


@functools.lru_cache(maxsize=1)
def _structures() -> dict[str, Atoms]:
    rattled = quartz().repeat((2, 2, 2))
    rattled.rattle(0.05, seed=1)
    compressed = quartz().repeat((2, 2, 2))
    compressed.set_cell(compressed.cell * (density(compressed) / 2.8) ** (1 / 3), True)
    compressed.rattle(0.08, seed=2)
    hot = quartz().repeat((2, 2, 2))
    hot.rattle(0.22, seed=3)
    triclinic = quartz().repeat((2, 2, 1))
    strain = np.array([[1.03, 0.06, -0.04], [0.0, 0.97, 0.08], [0.05, -0.03, 1.02]])
    triclinic.set_cell(triclinic.cell.array @ strain, scale_atoms=True)
    triclinic.rattle(0.1, seed=4)
    unit_cell = quartz()  # 4.9 Å cell: many periodic images of each atom within 5.5 Å
    unit_cell.rattle(0.1, seed=9)
    return {
        "quartz_unit_cell": unit_cell,
        "quartz": rattled,
        "compressed_2.8": compressed,
        "hot": hot,
        "triclinic": triclinic,
        "random_2.2": random_sio2(16, 2.2, seed=5),
    }


def lammps_vs_teacher(atoms: Atoms, potential: Vashishta, coeff_file: Path) -> dict[str, float]:
    ref = lammps.run_lammps(atoms, "vashishta", f"* * {coeff_file} O Si", ["O", "Si"])
    ours = testing.compute(potential, atoms)
    virial = -ours.stress * atoms.get_volume()
    return {
        "energy": abs(ours.energy - ref["energy"]) / abs(ref["energy"]),
        "forces": testing.relative_error(ours.forces, ref["forces"]),
        "virial": testing.relative_error(virial, ref["virial"]),
    }


@needs_lammps
@pytest.mark.parametrize("name", list(structures()))
def test_teacher_matches_lammps(name):
    atoms = structures()[name]
    if name == "compressed_2.8":
        assert abs(density(atoms) - 2.8) < 1e-6
    err = lammps_vs_teacher(atoms, Vashishta(), LAMMPS_FILE)
    assert max(err.values()) <= RELATIVE, err


@needs_lammps
def test_general_parameter_file_matches_lammps(tmp_path):
    """Every term of the functional form (W/r⁶, λ1 = 0, a different rc per pair, three-body
    with C ≠ 0 and γ ≠ 1) against LAMMPS on the same parameter file."""
    entries = {k: list(v) for k, v in NKV1994.items()}
    entries[("Si", "Si", "Si")][7:9] = [20.0, 4.6]  # W, rc
    entries[("O", "O", "O")][4] = 0.0  # lambda1 = 0: unscreened Coulomb up to rc
    entries[("O", "O", "O")][8] = 5.1
    entries[("O", "Si", "Si")][7] = entries[("Si", "O", "O")][7] = 35.0
    entries[("Si", "O", "O")][12:14] = [0.6, -0.3]  # C, cos(theta0)
    entries[("O", "Si", "Si")][10:13] = [1.3, 2.45, 1.5]  # gamma, r0, C
    path = tmp_path / "mixed.vashishta"
    path.write_text(
        "# test file\n"
        + "\n".join(
            " ".join(k) + " " + " ".join(repr(float(x)) for x in v[:7]) + "\n    "
            "" + " ".join(repr(float(x)) for x in v[7:]) + "  # two lines"
            for k, v in entries.items()
        )
    )
    potential = load_potential(path)
    assert potential.cutoff_A == 5.5
    for atoms in (structures()["hot"], structures()["triclinic"]):
        err = lammps_vs_teacher(atoms, potential, path)
        assert max(err.values()) <= RELATIVE, err


def test_three_body_is_active_in_the_test_structures():
    """The LAMMPS comparison exercises the three-body term (it is not vanishingly small)."""
    no_angle = {k: (*v[:9], 0.0, *v[10:]) for k, v in NKV1994.items()}
    for atoms in structures().values():
        delta = testing.compute(Vashishta(), atoms).energy
        delta -= testing.compute(Vashishta(no_angle), atoms).energy
        assert delta > 1e-3 * len(atoms)  # ≫ the 1e-6 relative tolerance on E


def test_embedded_parameters_equal_lammps_file():
    if not LAMMPS_FILE.is_file():
        pytest.skip("LAMMPS potentials folder missing (apt-get install lammps-data)")
    from mlmd.potential.vashishta_file import parse_lammps_vashishta

    assert parse_lammps_vashishta(LAMMPS_FILE.read_text()) == {
        k: tuple(map(float, v)) for k, v in NKV1994.items()
    }
    a, b = Vashishta(), Vashishta.from_lammps_file(LAMMPS_FILE)
    for name in ("pair_table", "leg_table", "triple_table"):
        assert torch.equal(getattr(a, name), getattr(b, name))


def test_contract_attributes_and_registry():
    teacher = load_potential("teacher")
    assert isinstance(teacher, Vashishta)
    assert teacher.species == [8, 14]
    assert teacher.cutoff_A == teacher.receptive_field_A == 5.5
    assert all(t.dtype in (torch.float64, torch.int64) for t in teacher.buffers())
    with pytest.raises(InputError, match="teacher"):
        load_potential("no-such-potential")


def test_sio2_quartz_is_bound_and_nearly_at_rest():
    """The experimental crystal sits near the potential's minimum: forces < 1 eV/Å (0.70; a
    rattle of 0.05 Å gives 11 eV/Å) and a bound energy (-7.63 eV/atom with the shifted pair
    terms)."""
    res = testing.compute(Vashishta(), quartz())
    assert -8.0 < res.energy / 9 < -7.0
    assert np.abs(res.forces).max() < 1.0
    assert np.abs(res.forces.sum(0)).max() < 1e-10


def test_triplet_pairs_match_brute_force():
    rng = np.random.default_rng(0)
    centres = torch.from_numpy(rng.integers(0, 7, size=40))
    first, second = triplet_pairs(centres, 9)
    got = sorted(tuple(sorted(p)) for p in zip(first.tolist(), second.tolist(), strict=True))
    want = sorted((a, b) for a in range(40) for b in range(a + 1, 40) if centres[a] == centres[b])
    assert got == want


def test_batched_systems_equal_single():
    atoms = structures()
    pair = [atoms["hot"], atoms["random_2.2"]]
    batch = evaluate(Vashishta(), graph_from_atoms(pair, 5.5))
    for s, a in enumerate(pair):
        single = evaluate(Vashishta(), graph_from_atoms([a], 5.5))
        assert torch.allclose(batch.energy[s], single.energy[0], rtol=1e-13)
        assert torch.allclose(batch.virial[s], single.virial[0], rtol=1e-12, atol=1e-10)


def test_physics_checks():
    teacher = Vashishta()
    hot = structures()["hot"]
    small = structures()["triclinic"]
    testing.assert_forces_match_finite_differences(teacher, hot, n_checks=10)
    testing.assert_stress_matches_strain_derivative(teacher, small)
    testing.assert_rotation_equivariant(teacher, hot)
    testing.assert_translation_permutation_invariant(teacher, hot)
    rattled = quartz()
    rattled.rattle(0.1, seed=7)
    testing.assert_supercell_consistent(teacher, rattled)
    for pair in [(8, 8), (8, 14), (14, 14)]:
        testing.assert_smooth_at_cutoff(teacher, pair)


def test_unknown_species_is_an_input_error():
    atoms = quartz()
    atoms.numbers[0] = 6
    with pytest.raises(InputError, match=r"\[6\]"):
        testing.compute(Vashishta(), atoms)


GOOD_ENTRY = "Si Si Si 0.8 11 1.76 1.76 4.43 0 2.5 0 5.5 0 0 0 0 0\n"


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD_ENTRY.replace("11", "eleven"), "eta = 'eleven' is not a number"),
        (GOOD_ENTRY.replace("Si Si Si", "Si Xx Si"), "'Xx' is not a chemical element"),
        (GOOD_ENTRY + "Si Si Si 1 2 3\n", "has 6 words"),
        (GOOD_ENTRY + GOOD_ENTRY, "duplicate entry Si Si Si"),
        (GOOD_ENTRY.replace("5.5", "-5.5"), "rc = -5.5 must be finite and non-negative"),
        (GOOD_ENTRY + GOOD_ENTRY.replace("Si Si Si", "O O O"), "missing entries"),
        ("# only a comment\n", "no entries"),
        (
            "".join(
                " ".join(k) + " " + " ".join(map(str, v)) + "\n"
                for k, v in {
                    **NKV1994,
                    ("O", "Si", "Si"): (1.0, *NKV1994["O", "Si", "Si"][1:]),
                }.items()
            ),
            r"two-body parameters \['H'\] of O Si Si and Si O O differ",
        ),
    ],
)
def test_parameter_file_is_parsed_strictly(tmp_path, text, message):
    path = tmp_path / "bad.vashishta"
    path.write_text("# header\n" + text)
    with pytest.raises(InputError, match=message) as info:
        Vashishta.from_lammps_file(path)
    assert str(path) in str(info.value)


def test_parse_error_names_the_line(tmp_path):
    path = tmp_path / "bad.vashishta"
    path.write_text("# header\n\n" + GOOD_ENTRY.replace("4.43", "4,43"))
    with pytest.raises(InputError, match="line 3"):
        Vashishta.from_lammps_file(path)
    with pytest.raises(InputError, match="cannot read"):
        Vashishta.from_lammps_file(tmp_path / "missing.vashishta")


def test_parameter_names_cover_the_lammps_columns():
    assert len(PARAMETER_NAMES) == 14
    assert all(len(v) == 14 for v in NKV1994.values())


def test_force_derivatives_through_create_graph_match_finite_differences():
    """The analytic pair derivative keeps higher derivatives exact: d(F·v)/dr (a Hessian-vector
    product through ``create_graph=True``) equals the finite difference of F·v."""
    atoms = structures()["hot"][:24]
    graph = graph_from_atoms([atoms], 5.5)
    positions = graph.positions.clone().requires_grad_(True)
    moved = type(graph)(**{**graph.__dict__, "positions": positions})
    v = torch.from_numpy(np.random.default_rng(0).normal(size=(len(atoms), 3)))
    energy = Vashishta()(moved, moved.edge_vectors()).sum()
    (forces,) = torch.autograd.grad(-energy, positions, create_graph=True)
    assert np.allclose(forces.detach().numpy(), testing.compute(Vashishta(), atoms).forces)
    (hv,) = torch.autograd.grad((forces * v).sum(), positions)
    h, a, k = 1e-5, 5, 1
    fv = []
    for sign in (1, -1):
        shifted = atoms.copy()
        shifted.positions[a, k] += sign * h
        fv.append(float((testing.compute(Vashishta(), shifted).forces * v.numpy()).sum()))
    assert abs(hv[a, k].item() - (fv[0] - fv[1]) / (2 * h)) < 1e-6 * abs(hv).max().item()


def test_owned_plus_ghost_graph_equals_periodic_cell():
    """The MD decomposition contract with a three-body potential: a non-periodic graph of the
    cell's atoms (owned) plus 3×3×3 images (ghosts), edges only from owned centres, gives the
    periodic energy and virial, and the periodic forces once ghost forces go to their owners."""
    from mlmd.potential import Graph, neighbour_list

    atoms = structures()["hot"]
    n = len(atoms)
    shifts = np.array([(a, b, c) for a in (0, -1, 1) for b in (0, -1, 1) for c in (0, -1, 1)])
    positions = np.concatenate([atoms.positions + s @ atoms.cell.array for s in shifts])
    owner = np.tile(np.arange(n), len(shifts))
    i, j, _ = neighbour_list(positions, np.zeros((3, 3)), False, 5.5)
    keep = i < n  # the first block (zero shift) is owned
    graph = Graph(
        positions=torch.from_numpy(positions),
        numbers=torch.from_numpy(np.tile(atoms.numbers, len(shifts))).long(),
        edge_index=torch.from_numpy(np.stack([i[keep], j[keep]])),
        shifts=torch.zeros(int(keep.sum()), 3, dtype=torch.float64),
        owned=torch.from_numpy(owner == np.arange(len(owner))),
        system=torch.zeros(len(positions), dtype=torch.int64),
        cell=torch.zeros(1, 3, 3, dtype=torch.float64),
    )
    ev = evaluate(Vashishta(), graph)
    forces = np.zeros((n, 3))
    np.add.at(forces, owner, ev.forces.numpy())
    ref = evaluate(Vashishta(), graph_from_atoms([atoms], 5.5))
    assert ev.energy.item() == pytest.approx(ref.energy.item(), rel=1e-12)
    assert testing.relative_error(forces, ref.forces.numpy()) < 1e-12
    assert testing.relative_error(ev.virial[0].numpy(), ref.virial[0].numpy()) < 1e-12
