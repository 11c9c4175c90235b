"""Test kit for the MD engine: a smooth Morse pair potential and small start structures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase.build import bulk
from mpi4py import MPI

from mlmd.md import domain
from mlmd.md.engine import Engine
from mlmd.md.forces import ForceField
from mlmd.md.integrators import make_integrator
from mlmd.md.schedule import Schedule
from mlmd.md.state import atoms_from_structure

#: Python source that makes this process SIGKILL itself (no handler runs) when its MD reaches
#: step 25, after a checkpoint at step 20: a test runs it with ``python -c`` followed by the
#: call to kill, then checks that a rerun continues from step 20.
DIES_AT_STEP_25 = """
import os, signal
from mlmd.md.outputs import Outputs

record = Outputs.record


def dies_at_step_25(self, state, measure, force=False):
    if state.step == 25:
        os.kill(os.getpid(), signal.SIGKILL)
    return record(self, state, measure, force)


Outputs.record = dies_at_step_25
"""

#: The smallest valid `mlmd md run` config (the tests add the keys they check).
BASE_CONFIG = {"steps": 10, "structure": {"builder": "sio2_crystal", "crystal": "cristobalite"}}


class Morse(torch.nn.Module):
    """A real, smooth pair potential (half the pair energy on each atom), any species.

    V(r) = D[(1 − e^{−a(r − r0)})² − 1] · (1 − (r/rc)²)², so energy and force vanish at rc.
    """

    def __init__(
        self, cutoff_A: float = 5.0, depth_eV: float = 0.3, a: float = 1.3, r0: float = 2.6
    ):
        super().__init__()
        self.cutoff_A = cutoff_A
        self.receptive_field_A = cutoff_A
        self.species = [8, 14, 18]
        self.depth, self.a, self.r0 = depth_eV, a, r0

    def forward(self, graph, edge_vectors):
        r = edge_vectors.norm(dim=1)
        x = r / self.cutoff_A
        smooth = (1 - x**2) ** 2
        pair = 0.5 * self.depth * ((1 - torch.exp(-self.a * (r - self.r0))) ** 2 - 1) * smooth
        out = torch.zeros(graph.n_atoms, dtype=edge_vectors.dtype, device=edge_vectors.device)
        return out.index_add(0, graph.edge_index[0], pair)


def fcc_crystal(repeat=(4, 4, 4), a: float = 3.9, rattle: float = 0.05, seed: int = 0):
    """An fcc 'Morse argon' crystal (Ar numbers, orthorhombic cell), rattled."""
    atoms = bulk("Ar", "fcc", a=a, cubic=True).repeat(repeat)
    atoms.rattle(rattle, seed=seed)
    return atoms


def numbers_positions_cell(atoms):
    return atoms.numbers.copy(), atoms.positions.copy(), np.array(atoms.cell.array)


class TwoLayer(torch.nn.Module):
    """A two-layer message-passing toy: E_i = Σ_j g(r_ij) ρ_j with ρ_j = Σ_k f(r_jk).

    Atom i's energy reaches 2 × cutoff (receptive field), so MD must give ghosts within
    one cutoff of the brick their own edges.
    """

    def __init__(self, cutoff_A: float = 3.5):
        super().__init__()
        self.cutoff_A = cutoff_A
        self.receptive_field_A = 2 * cutoff_A
        self.species = [18]

    def forward(self, graph, edge_vectors):
        r = edge_vectors.norm(dim=1)
        smooth = (1 - (r / self.cutoff_A) ** 2) ** 2
        i, j = graph.edge_index
        zeros = torch.zeros(graph.n_atoms, dtype=r.dtype, device=r.device)
        rho = zeros.index_add(0, i, torch.exp(-r) * smooth)
        return zeros.index_add(0, i, -0.1 * smooth * torch.sqrt(1.0 + rho[j]))


def morse_nve_trajectory(out: Path, atoms, **output) -> Path:
    """A 20-step NVE run of ``atoms`` under :class:`Morse` into ``out``, writing frames with
    velocities and forces and thermo every 5 steps (``output`` adds [output] keys, e.g.
    ``pressure_tensor_every``); returns the trajectory's path."""
    from mlmd.md import run_md

    cfg = {
        "steps": 20,
        "timestep_fs": 2.0,
        "seed": 2,
        "torch_threads": 1,
        "initial_temperature_K": 600.0,
        "structure": {"builder": "random_sio2", "n_atoms": 1},
        "ensemble": {"kind": "nve"},
        "output": {
            "directory": str(out),
            "trajectory_every": 5,
            "thermo_every": 5,
            "velocities": True,
            "forces": True,
            **output,
        },
    }
    run_md(cfg, potential=Morse(), structure=atoms, echo=False)
    return out / "trajectory.h5"


def small_config(directory, **over) -> dict:
    """A 40-step NVE run of 2×2×2 cristobalite writing into ``directory``; ``over`` replaces
    top-level keys and updates sections (``output={"thermo_every": 1}``)."""
    cfg = {
        "steps": 40,
        "timestep_fs": 1.0,
        "seed": 5,
        "skin_A": 0.5,
        "torch_threads": 1,
        "initial_temperature_K": 300.0,
        "structure": {"builder": "sio2_crystal", "crystal": "cristobalite", "repeat": [2, 2, 2]},
        "ensemble": {"kind": "nve"},
        "output": {
            "directory": str(directory),
            "thermo_every": 10,
            "trajectory_every": 20,
            "checkpoint_every": 0,
            "velocities": True,
            "forces": True,
        },
    }
    for key, value in over.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def decomposed(atoms, potential, skin=0.5):
    """An NVE engine on COMM_WORLD and its first state for ASE ``atoms`` under ``potential``."""
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
