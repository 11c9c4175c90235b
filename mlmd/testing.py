"""Reusable physics assertions for mlmd potentials (in the spirit of e3nn's ``assert_equivariant``).

Every check takes a potential (anything following the contract of
:mod:`mlmd.potential.contract`, ensembles included) and an ASE ``Atoms``, evaluates it through
the one shared :func:`mlmd.potential.evaluate`, and raises ``AssertionError`` with the numbers
when the physics is wrong. Tolerances are named and chosen per dtype (:data:`TOLERANCES`);
pass ``tol=`` to override. Errors are relative to the size of the quantity compared
(``max|a − b| / max(max|b|, floor)``), so the same tolerance serves small and large systems.

:mod:`mlmd.reference.lammps_direct` runs LAMMPS on the same structure for reference-code checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms

from mlmd.potential.contract import evaluate
from mlmd.potential.graph import graph_from_atoms


@dataclass(frozen=True)
class Tolerances:
    """Named tolerances of the checks below (relative unless the name says otherwise).

    Attributes:
        fd_step_A: finite-difference displacement (Å).
        fd_strain: finite-difference strain.
        fd_force: forces vs −∂E/∂r by central differences.
        fd_stress: stress vs (1/V) ∂E/∂ε by central differences.
        energy: energies that must be equal (invariance, supercell per-atom energy).
        vector: forces and stresses that must be equal or rotate together.
        cutoff_jump_eV: energy change (eV) and force change (eV/Å) allowed as a neighbour
            crosses the cutoff by ±``fd_step_A``/10.
    """

    fd_step_A: float
    fd_strain: float
    fd_force: float
    fd_stress: float
    energy: float
    vector: float
    cutoff_jump_eV: float


#: Tolerances by the dtype the potential computes in.
TOLERANCES: dict[torch.dtype, Tolerances] = {
    torch.float64: Tolerances(
        fd_step_A=1e-5,
        fd_strain=1e-6,
        fd_force=1e-6,
        fd_stress=1e-6,
        energy=1e-10,
        vector=1e-9,
        cutoff_jump_eV=1e-5,
    ),
    torch.float32: Tolerances(
        fd_step_A=1e-2,
        fd_strain=1e-3,
        fd_force=2e-2,
        fd_stress=2e-2,
        energy=1e-5,
        vector=1e-4,
        cutoff_jump_eV=1e-3,
    ),
}


def potential_dtype(potential: torch.nn.Module) -> torch.dtype:
    """The floating dtype of the potential's first parameter or buffer (float64 if none)."""
    for t in list(potential.parameters()) + list(potential.buffers()):
        if t.is_floating_point():
            return t.dtype
    return torch.float64


def tolerances_for(potential: torch.nn.Module) -> Tolerances:
    """:data:`TOLERANCES` entry for the potential's dtype (float32 ones for anything < 64 bit)."""
    return TOLERANCES.get(potential_dtype(potential), TOLERANCES[torch.float32])


def relative_error(actual: np.ndarray, expected: np.ndarray, floor: float = 1e-12) -> float:
    """max|actual − expected| / max(max|expected|, floor)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    scale = max(float(np.abs(expected).max(initial=0.0)), floor)
    return float(np.abs(actual - expected).max(initial=0.0)) / scale


@dataclass(frozen=True)
class Result:
    """One structure's results as numpy float64: energy eV, per-atom energies [n] eV,
    forces [n, 3] eV/Å, stress [3, 3] eV/Å³ (None when not fully periodic)."""

    energy: float
    energies: np.ndarray
    forces: np.ndarray
    stress: np.ndarray | None


def compute(potential: torch.nn.Module, atoms: Atoms, device: str = "cpu") -> Result:
    """Evaluate ``potential`` on ``atoms`` through :func:`mlmd.potential.evaluate`."""
    graph = graph_from_atoms([atoms], potential.cutoff_A, device=device)
    ev = evaluate(potential, graph, forces=True, virial=True)
    stress = None
    if bool(np.all(atoms.pbc)):
        stress = ev.stress(graph.cell)[0].detach().cpu().numpy()
    return Result(
        energy=float(ev.energy[0].detach()),
        energies=ev.per_atom_energy.detach().cpu().numpy(),
        forces=ev.forces.detach().cpu().numpy(),
        stress=stress,
    )


def _energy(potential: torch.nn.Module, atoms: Atoms, device: str) -> float:
    graph = graph_from_atoms([atoms], potential.cutoff_A, device=device)
    return float(evaluate(potential, graph, forces=False, virial=False).energy[0].detach())


def _check(name: str, err: float, tol: float, detail: str = "") -> None:
    if not err <= tol:  # also fails on NaN
        raise AssertionError(f"{name}: relative error {err:.3e} > tolerance {tol:.1e}. {detail}")


def assert_forces_match_finite_differences(
    potential: torch.nn.Module,
    atoms: Atoms,
    *,
    n_checks: int = 8,
    seed: int = 0,
    device: str = "cpu",
    tol: Tolerances | None = None,
) -> None:
    """Forces equal −∂E/∂r (central differences) on ``n_checks`` random (atom, axis) pairs.

    The error is relative to the largest force component of the structure.
    """
    tol = tol or tolerances_for(potential)
    res = compute(potential, atoms, device)
    rng = np.random.default_rng(seed)
    picks = rng.choice(3 * len(atoms), size=min(n_checks, 3 * len(atoms)), replace=False)
    h = tol.fd_step_A
    fd, analytic = [], []
    for flat in picks:
        a, k = divmod(int(flat), 3)
        e = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[a, k] += sign * h
            e.append(_energy(potential, moved, device))
        fd.append(-(e[0] - e[1]) / (2 * h))
        analytic.append(res.forces[a, k])
    scale = max(float(np.abs(res.forces).max()), 1e-3)
    err = float(np.abs(np.array(analytic) - np.array(fd)).max()) / scale
    _check("forces vs finite differences", err, tol.fd_force, f"analytic {analytic}, fd {fd}")


def assert_stress_matches_strain_derivative(
    potential: torch.nn.Module,
    atoms: Atoms,
    *,
    device: str = "cpu",
    tol: Tolerances | None = None,
) -> None:
    """Stress equals (1/V) ∂E/∂ε for all six symmetric strains (central differences), and is
    symmetric. The error is relative to the largest stress component (floor 1e-4 eV/Å³)."""
    if not bool(np.all(atoms.pbc)):
        raise ValueError("the strain derivative needs a fully periodic structure")
    tol = tol or tolerances_for(potential)
    res = compute(potential, atoms, device)
    h = tol.fd_strain
    volume = atoms.get_volume()
    fd = np.zeros((3, 3))
    for a, b in [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]:
        eps = np.zeros((3, 3))
        eps[a, b] += h / 2
        eps[b, a] += h / 2
        e = []
        for sign in (1, -1):
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ (np.eye(3) + sign * eps), scale_atoms=True)
            e.append(_energy(potential, strained, device))
        fd[a, b] = fd[b, a] = (e[0] - e[1]) / (2 * h) / volume
    err = relative_error(res.stress, fd, floor=1e-4)
    _check("stress vs strain derivative", err, tol.fd_stress, f"analytic {res.stress}, fd {fd}")
    err = relative_error(res.stress, res.stress.T, floor=1e-4)
    _check("stress symmetry", err, tol.vector)


def random_orthogonal(rng: np.random.Generator, reflect: bool) -> np.ndarray:
    """A random 3×3 rotation (det +1) or, with ``reflect``, rotation-reflection (det −1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if (np.linalg.det(q) < 0) != reflect:
        q[:, 0] = -q[:, 0]
    return q


def assert_rotation_equivariant(
    potential: torch.nn.Module,
    atoms: Atoms,
    *,
    seed: int = 0,
    device: str = "cpu",
    tol: Tolerances | None = None,
) -> None:
    """Under a random rotation and a random rotation-reflection Q (r → Q r): energy and
    per-atom energies are unchanged, forces become Q F and the stress Q σ Qᵀ."""
    tol = tol or tolerances_for(potential)
    ref = compute(potential, atoms, device)
    rng = np.random.default_rng(seed)
    for reflect in (False, True):
        q = random_orthogonal(rng, reflect)
        moved = atoms.copy()
        moved.set_cell(atoms.cell.array @ q.T, scale_atoms=False)
        moved.positions = atoms.positions @ q.T
        res = compute(potential, moved, device)
        what = "reflection" if reflect else "rotation"
        _check(f"energy under {what}", relative_error(res.energy, ref.energy, 1.0), tol.energy)
        _check(
            f"per-atom energies under {what}",
            relative_error(res.energies, ref.energies, 1.0),
            tol.energy,
        )
        _check(
            f"forces under {what}",
            relative_error(res.forces, ref.forces @ q.T, 1e-3),
            tol.vector,
        )
        if ref.stress is not None:
            _check(
                f"stress under {what}",
                relative_error(res.stress, q @ ref.stress @ q.T, 1e-4),
                tol.vector,
            )


def assert_translation_permutation_invariant(
    potential: torch.nn.Module,
    atoms: Atoms,
    *,
    seed: int = 0,
    device: str = "cpu",
    tol: Tolerances | None = None,
) -> None:
    """A random translation (with wrapping into the cell) and a random permutation of the
    atoms leave energy and stress unchanged and permute per-atom energies and forces."""
    tol = tol or tolerances_for(potential)
    ref = compute(potential, atoms, device)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(atoms))
    moved = atoms[perm]
    moved.positions = moved.positions + rng.normal(scale=3.0, size=3)
    if bool(np.all(atoms.pbc)):
        moved.wrap()
    res = compute(potential, moved, device)
    _check("energy under translation", relative_error(res.energy, ref.energy, 1.0), tol.energy)
    _check(
        "per-atom energies under permutation",
        relative_error(res.energies, ref.energies[perm], 1.0),
        tol.energy,
    )
    _check(
        "forces under translation+permutation",
        relative_error(res.forces, ref.forces[perm], 1e-3),
        tol.vector,
    )
    if ref.stress is not None:
        _check(
            "stress under translation",
            relative_error(res.stress, ref.stress, 1e-4),
            tol.vector,
        )


def assert_supercell_consistent(
    potential: torch.nn.Module,
    atoms: Atoms,
    *,
    device: str = "cpu",
    tol: Tolerances | None = None,
) -> None:
    """A periodic cell and its 2×2×2 supercell give the same energy per atom, the same
    per-atom energies and forces on every image, and the same stress."""
    if not bool(np.all(atoms.pbc)):
        raise ValueError("the supercell check needs a fully periodic structure")
    tol = tol or tolerances_for(potential)
    n = len(atoms)
    ref = compute(potential, atoms, device)
    sup = compute(potential, atoms.repeat((2, 2, 2)), device)
    _check(
        "energy per atom, 2x2x2 supercell",
        relative_error(sup.energy / (8 * n), ref.energy / n, 1e-3),
        tol.energy,
    )
    _check(
        "per-atom energies, 2x2x2 supercell",
        relative_error(sup.energies.reshape(8, n), np.tile(ref.energies, (8, 1)), 1e-3),
        tol.energy,
    )
    _check(
        "forces, 2x2x2 supercell",
        relative_error(sup.forces.reshape(8, n, 3), np.tile(ref.forces, (8, 1, 1)), 1e-3),
        tol.vector,
    )
    _check("stress, 2x2x2 supercell", relative_error(sup.stress, ref.stress, 1e-4), tol.vector)


def assert_smooth_at_cutoff(
    potential: torch.nn.Module,
    numbers: tuple[int, int],
    *,
    cutoff_A: float | None = None,
    device: str = "cpu",
    tol: Tolerances | None = None,
) -> None:
    """Energy and forces of an isolated pair change by at most ``tol.cutoff_jump_eV`` as
    their distance crosses ``cutoff_A`` (default: the potential's) by ±``fd_step_A``/10."""
    tol = tol or tolerances_for(potential)
    rc = potential.cutoff_A if cutoff_A is None else cutoff_A
    delta = tol.fd_step_A / 10
    out = []
    for r in (rc - delta, rc + delta):
        pair = Atoms(numbers=list(numbers), positions=[[0, 0, 0], [r, 0, 0]], pbc=False)
        out.append(compute(potential, pair, device))
    jump_e = abs(out[0].energy - out[1].energy)
    jump_f = float(np.abs(out[0].forces - out[1].forces).max())
    if not max(jump_e, jump_f) <= tol.cutoff_jump_eV:
        raise AssertionError(
            f"pair {numbers} crossing r = {rc} Å: energy jumps {jump_e:.3e} eV, forces "
            f"{jump_f:.3e} eV/Å > tolerance {tol.cutoff_jump_eV:.1e}"
        )
