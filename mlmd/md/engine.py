"""The step loop's engine: one rank's grid, ghost plan, skin list and force field.

:meth:`Engine.step` is the LAMMPS step order: ``integrator.begin`` (kick, drift, …) → if
any atom moved more than skin/2 (allreduced flag): :func:`exchange` + :func:`borders` +
list rebuild, else :func:`forward` → forces on owned + ghosts → :func:`reverse` → half kick
→ one allreduce of (E, W, K, heat, non-finite count) → ``integrator.end`` (thermostat).
Safety problems are flags accumulated in the loop; :meth:`Engine.check` reduces them every
few steps and raises :class:`MDSafetyError` naming the step and the atoms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from mpi4py import MPI

from mlmd.errors import MlmdError
from mlmd.md import domain
from mlmd.md.domain import Grid, Plan
from mlmd.md.forces import ForceField
from mlmd.md.integrators import StepContext, half_kick
from mlmd.md.neighbours import build, centre_mask, max_displacement, strain_margin
from mlmd.md.schedule import Schedule
from mlmd.md.state import MDState, kinetic_tensor


class MDSafetyError(MlmdError):
    """The simulation became unphysical; ``kind`` names the problem, ``step`` and ``atoms``
    (global ids) say where."""

    def __init__(self, kind: str, step: int, atoms: list[int], detail: str = ""):
        self.kind, self.step, self.atoms = kind, step, atoms
        shown = ", ".join(map(str, atoms[:20])) + (" …" if len(atoms) > 20 else "")
        super().__init__(f"{kind} at step {step} (atoms {shown}){': ' + detail if detail else ''}")


@dataclass(frozen=True)
class Safety:
    """Thresholds of the safety checks (reduced every ``check_every`` steps)."""

    check_every: int = 10
    min_distance_A: float = 0.5
    max_temperature_K: float = 1.0e5


class Engine:
    """Drives one rank's part of the run (see module docstring).

    Args:
        grid: the rank grid.
        forcefield: the potential bound to a device.
        integrator: from :func:`mlmd.md.integrators.make_integrator`.
        skin_A: Verlet skin in Å.
        seed: noise seed.
        temperature / pressure: schedules (K, GPa).
        safety: thresholds.
        spread_every: an ensemble's force spread is computed on steps that are multiples
            of this (and at setup); other steps get the mean forces only, at about one
            member's cost.
    """

    def __init__(
        self,
        grid: Grid,
        forcefield: ForceField,
        integrator,
        *,
        skin_A: float,
        seed: int,
        temperature: Schedule,
        pressure: Schedule,
        safety: Safety = Safety(),
        spread_every: int = 1,
    ):
        self.grid, self.ff, self.integrator = grid, forcefield, integrator
        self.skin_A, self.seed = float(skin_A), int(seed)
        self.temperature, self.pressure, self.safety = temperature, pressure, safety
        self.spread_every = int(spread_every)
        self.depth_A = forcefield.receptive_field_A + self.skin_A
        self.plan: Plan | None = None
        self.rebuilds = 0
        self._nonfinite = 0.0
        self._closest = (np.inf, -1, -1)

    # -- communication helpers -------------------------------------------------------
    def reduce(self, values: np.ndarray) -> np.ndarray:
        """Allreduce-sum of a float64 array."""
        out = np.empty_like(values, dtype=np.float64)
        self.grid.comm.Allreduce(np.ascontiguousarray(values, dtype=np.float64), out, op=MPI.SUM)
        return out

    def context(self, step: int, dt_fs: float) -> StepContext:
        t = step * dt_fs
        return StepContext(self.temperature(t), self.pressure(t), self.seed, self.reduce)

    # -- decomposition ----------------------------------------------------------------
    def rebuild(self, atoms: dict, cell: np.ndarray) -> dict:
        """exchange + borders + neighbour list; returns this rank's owned atoms."""
        atoms = domain.exchange(self.grid, atoms, cell)
        self._adopt(atoms, cell)
        return atoms

    def _adopt(self, atoms: dict, cell: np.ndarray) -> None:
        plan = domain.borders(self.grid, atoms, cell, self.depth_A)
        centres = centre_mask(
            self.grid, plan, self.ff.cutoff_A, self.ff.receptive_field_A, self.skin_A
        )
        self.ff.bind(plan, build(plan, centres, self.ff.cutoff_A, self.skin_A))
        self.plan = plan
        self.rebuilds += 1

    def restore_plan(self, atoms: dict, reference_positions: np.ndarray, reference_cell) -> None:
        """Rebuild the plan exactly as it was at the last rebuild (bitwise restarts)."""
        self._adopt({**atoms, "positions": reference_positions}, reference_cell)

    def needs_rebuild(self, state: MDState) -> bool:
        """Allreduced: has any atom moved more than skin/2 (or the cell strained the margin)?"""
        plan = self.plan
        back = domain.fractional(state.positions, state.cell) @ plan.cell
        moved = max_displacement(back, plan.positions[: plan.n_owned])
        margin = strain_margin(state.cell, plan.cell, self.depth_A)
        local = 2.0 * moved + margin > self.skin_A
        return bool(self.grid.comm.allreduce(int(local), op=MPI.MAX))

    # -- forces and the step ----------------------------------------------------------
    def forces(self, state: MDState, closest: bool = True, spread: bool = True):
        """(state with forces at its positions, this rank's :class:`LocalForces`)."""
        lf = self.ff.compute(self.grid, state.positions, state.cell, closest, spread)
        state = replace(state, forces=lf.forces, force_std=lf.force_std)
        self._note(lf)
        return state, lf

    def _note(self, lf) -> None:
        self._nonfinite += float((~np.isfinite(lf.forces)).any(axis=1).sum())
        if lf.min_distance < self._closest[0]:
            self._closest = (lf.min_distance, *lf.closest_pair)

    def sums(self, state: MDState, energy: float, virial: np.ndarray, heat: float):
        """One allreduce of (E, W, K, heat); returns the state with global sums and heat."""
        k_local = kinetic_tensor(state.masses, state.velocities)
        local = np.concatenate([[energy], virial.ravel(), k_local.ravel(), [heat]])
        red = self.reduce(local)
        state = replace(
            state,
            potential_energy=float(red[0]),
            virial=red[1:10].reshape(3, 3),
            kinetic=red[10:19].reshape(3, 3),
        )
        return state, float(red[19])

    def setup(self, state: MDState) -> MDState:
        """Forces and global sums for a freshly built state (plan already adopted)."""
        state, lf = self.forces(state)
        state, _ = self.sums(state, lf.energy, lf.virial, 0.0)
        return state

    def step(self, state: MDState) -> MDState:
        """One MD step (see module docstring)."""
        ctx = self.context(state.step + 1, state.dt_fs)
        state, heat = self.integrator.begin(state, ctx)
        if self.needs_rebuild(state):
            state = state.with_atoms(self.rebuild(state.atoms(), state.cell))
        step = state.step + 1
        state, lf = self.forces(
            state, step % self.safety.check_every == 0, step % self.spread_every == 0
        )
        state = half_kick(replace(state, step=step))
        state, heat = self.sums(state, lf.energy, lf.virial, heat)
        return self.integrator.end(state, ctx, heat)

    # -- safety -----------------------------------------------------------------------
    def check(self, state: MDState) -> None:
        """Reduce the safety flags; raise :class:`MDSafetyError` on a problem."""
        comm, s = self.grid.comm, self.safety
        flags = np.array([self._nonfinite, state.n_owned], dtype=np.float64)
        nonfinite, n_total = self.reduce(flags)
        closest = comm.allreduce(self._closest[0], op=MPI.MIN)
        self._nonfinite, closest_local = 0.0, self._closest
        self._closest = (np.inf, -1, -1)
        if nonfinite > 0:
            bad = state.ids[~np.isfinite(state.forces).all(axis=1)].tolist()
            bad = sorted(sum(comm.allgather(bad), []))
            raise MDSafetyError("non-finite forces", state.step, bad)
        if int(n_total) != state.n_atoms:
            raise MDSafetyError(
                "atoms lost in migration", state.step, [], f"{int(n_total)} of {state.n_atoms} left"
            )
        if closest < s.min_distance_A:
            mine = [int(closest_local[1]), int(closest_local[2])]
            pair = [p for p in comm.allgather(mine if closest_local[0] == closest else None) if p]
            raise MDSafetyError(
                "atoms closer than the minimum distance",
                state.step,
                pair[0] if pair else [],
                f"{closest:.3f} Å < {s.min_distance_A} Å (safety.min_distance_A)",
            )
        if state.temperature_K > s.max_temperature_K:
            hot = np.argsort(-(state.masses * (state.velocities**2).sum(1)))[:5]
            ids = sorted(sum(comm.allgather(state.ids[hot].tolist()), []))
            raise MDSafetyError(
                "temperature runaway",
                state.step,
                ids,
                f"T = {state.temperature_K:.0f} K > {s.max_temperature_K} K "
                "(safety.max_temperature_K)",
            )
