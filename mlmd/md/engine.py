"""The MD engine of one rank: its grid, the ghost plan, the skin list and the step.

:class:`Engine` is the single owner of the decomposition state (``plan``, ``topology``):
:meth:`Engine.start` (a new run) and :meth:`Engine.resume` (a checkpoint) are the two ways
in, :meth:`Engine.step` is one step in LAMMPS ``Verlet::run`` order, read top to bottom.
Safety problems are flags accumulated in the loop; :meth:`Engine.check` reduces them (on
the steps the caller chooses) and raises :class:`MDSafetyError` naming the step and atoms.
Non-finite forces also raise :attr:`Engine.alarm` in the step they appear (one more number
in the step's allreduce), so the caller checks before a NaN reaches the positions.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from mpi4py import MPI

from mlmd.errors import MlmdError
from mlmd.md import domain
from mlmd.md.config import SafetyConfig
from mlmd.md.domain import Grid, Plan
from mlmd.md.forces import ForceField, LocalForces, Topology, force_spread
from mlmd.md.integrators import NVE, StepContext, half_kick
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


class Engine:
    """Drives one rank's part of the run (see module docstring).

    Args:
        grid: the rank grid.
        forcefield: the potential bound to a device.
        integrator: from :func:`mlmd.md.integrators.make_integrator`.
        skin_A: Verlet skin in Å.
        seed: noise seed.
        temperature / pressure: schedules (K, GPa).
        safety: thresholds of :meth:`check`.
    """

    def __init__(
        self,
        grid: Grid,
        forcefield: ForceField,
        integrator: NVE,
        *,
        skin_A: float,
        seed: int,
        temperature: Schedule,
        pressure: Schedule,
        safety: SafetyConfig | None = None,
    ):
        self.grid, self.ff, self.integrator = grid, forcefield, integrator
        self.skin_A, self.seed = float(skin_A), int(seed)
        self.temperature, self.pressure = temperature, pressure
        self.safety = safety or SafetyConfig()
        self.depth_A = forcefield.receptive_field_A + self.skin_A
        self.plan: Plan | None = None
        self.topology: Topology | None = None
        self.rebuilds = 0
        self._nonfinite = self._nonfinite_now = 0.0
        self._first_bad: tuple[int, list[int]] | None = None  # (step, ids) of the first
        self._closest = (np.inf, -1, -1)
        #: edges from this rank's owned atoms inside the core switch at the last spread step
        self.core_edges = 0
        #: set by a step whose forces are non-finite on any rank: the caller checks at once
        self.alarm = False

    # -- the two ways in ----------------------------------------------------------------
    def start(self, whole: dict | None, cell: np.ndarray, n_atoms: int, dt_fs: float) -> MDState:
        """A new run from the whole structure's per-atom arrays ``whole`` (rank 0; None
        elsewhere): scatter to owners (one exchange), borders, forces, integrator variables."""
        mine = domain.distribute(self.grid, whole, cell)
        dof = self.integrator.dof(n_atoms)
        state = MDState(**mine, cell=cell, dt_fs=dt_fs, n_atoms=n_atoms, dof=dof)
        state = self._first_forces(state)
        return self.integrator.init(state, self.context(0, dt_fs))

    def resume(self, restored, dt_fs: float) -> MDState:
        """Continue from :func:`mlmd.md.checkpoint.read_checkpoint`'s ``restored``: on the
        same grid the plan is rebuilt from the saved rebuild reference (bitwise); otherwise
        the atoms were redistributed and forces are recomputed. A checkpoint of another
        integrator gets this one's degrees of freedom and fresh variables."""
        state = restored.state
        if restored.ref_positions is not None:
            self._borders({**state.atoms(), "positions": restored.ref_positions}, restored.ref_cell)
        else:
            state = self._first_forces(state)
        if restored.integrator != self.integrator.cfg.kind:  # e.g. NVT → NVE
            state = replace(state, dof=self.integrator.dof(state.n_atoms))
            state = self.integrator.init(state, self.context(state.step, dt_fs))
        return replace(state, dt_fs=dt_fs)

    def _first_forces(self, state: MDState) -> MDState:
        self._borders(state.atoms(), state.cell)
        lf = self.ff.compute(self.topology, self.plan.positions, state.cell)
        self.core_edges = lf.core_edges
        state, _ = self._sums(self._reverse(state, lf), lf, 0.0)
        return state

    # -- the step ---------------------------------------------------------------------
    def step(self, state: MDState, *, check: bool, spread: bool) -> MDState:
        """One MD step. ``check``: find the closest pair for :meth:`check` (a host sync);
        ``spread``: compute an ensemble's force spread."""
        integ, ctx = self.integrator, self.context(state.step + 1, state.dt_fs)
        state = half_kick(integ.pre_kick(state, ctx))  # (thermostat ½-step) + B
        state, heat = integ.drift(state, ctx)  # A (+ O, barostat)
        if self._needs_rebuild(state):  # exchange + borders + skin list
            state = state.with_atoms(domain.exchange(self.grid, state.atoms(), state.cell))
            local = self._borders(state.atoms(), state.cell)
        else:  # forward
            local = domain.forward(self.grid, self.plan, state.positions, state.cell)
        lf = self.ff.compute(self.topology, local, state.cell, check, spread)  # forces
        if spread:
            self.core_edges = lf.core_edges
        state = self._reverse(replace(state, step=state.step + 1), lf)  # reverse
        state = half_kick(state)  # B
        state, heat = self._sums(state, lf, heat)  # one allreduce of E, W, K, heat
        return integ.post_kick(state, ctx, heat)  # thermostat / barostat

    def rebuild_reference(self) -> tuple[np.ndarray, np.ndarray]:
        """(owned positions [n_owned, 3] Å, cell [3, 3] Å) of the last rebuild: what a
        checkpoint keeps so that :meth:`resume` rebuilds the same plan bit for bit."""
        return self.plan.positions[: self.plan.n_owned], self.plan.cell

    def conserved_energy(self, state: MDState) -> float:
        """eV: the integrator's conserved quantity at ``state`` (E, E + bath, …)."""
        return self.integrator.conserved(state, self.context(state.step, state.dt_fs))

    def dof(self, n_atoms: int) -> int:
        """Degrees of freedom the integrator uses for the temperature."""
        return self.integrator.dof(n_atoms)

    def context(self, step: int, dt_fs: float) -> StepContext:
        t = step * dt_fs
        return StepContext(self.temperature(t), self.pressure(t), self.seed, self.reduce)

    def reduce(self, values: np.ndarray) -> np.ndarray:
        """Allreduce-sum of a float64 array."""
        out = np.empty_like(values, dtype=np.float64)
        self.grid.comm.Allreduce(np.ascontiguousarray(values, dtype=np.float64), out, op=MPI.SUM)
        return out

    def _borders(self, atoms: dict, cell: np.ndarray) -> np.ndarray:
        """Build ghosts, the skin list and the topology; returns the local positions."""
        plan = domain.borders(self.grid, atoms, cell, self.depth_A)
        ff = self.ff
        centres = centre_mask(self.grid, plan, ff.cutoff_A, ff.receptive_field_A, self.skin_A)
        self.topology = ff.topology(plan, build(plan, centres, ff.cutoff_A, self.skin_A))
        self.plan = plan
        self.rebuilds += 1
        return plan.positions

    def _needs_rebuild(self, state: MDState) -> bool:
        """Allreduced: has any atom moved more than skin/2 (or the cell strained the margin)?"""
        plan = self.plan
        back = domain.fractional(state.positions, state.cell) @ plan.cell
        moved = max_displacement(back, plan.positions[: plan.n_owned])
        margin = strain_margin(state.cell, plan.cell, self.depth_A)
        local = 2.0 * moved + margin > self.skin_A
        return bool(self.grid.comm.allreduce(int(local), op=MPI.MAX))

    def _reverse(self, state: MDState, lf: LocalForces) -> MDState:
        """Ghost forces (and members' forces) summed onto their owners; flags noted."""
        forces = domain.reverse(self.grid, self.plan, lf.forces)
        std = None
        if lf.member_forces is not None:
            std = force_spread(domain.reverse(self.grid, self.plan, lf.member_forces))
        bad = ~np.isfinite(forces).all(axis=1)
        self._nonfinite_now = float(bad.sum())
        self._nonfinite += self._nonfinite_now
        if self._nonfinite_now and self._first_bad is None:
            self._first_bad = (state.step, state.ids[bad].tolist())
        if lf.min_distance < self._closest[0]:
            self._closest = (lf.min_distance, *lf.closest_pair)
        return replace(state, forces=forces, force_std=std)

    def _sums(self, state: MDState, lf: LocalForces, heat: float):
        """One allreduce of (E, W, K, heat, non-finite count); returns the state with global
        sums and the heat, and sets :attr:`alarm` (the same on every rank)."""
        k_local = kinetic_tensor(state.masses, state.velocities)
        extra = [heat, self._nonfinite_now]
        local = np.concatenate([[lf.energy], lf.virial.ravel(), k_local.ravel(), extra])
        red = self.reduce(local)
        self.alarm = bool(red[20] > 0)  # non-finite forces somewhere: check this step
        state = replace(
            state,
            potential_energy=float(red[0]),
            virial=red[1:10].reshape(3, 3),
            kinetic=red[10:19].reshape(3, 3),
        )
        return state, float(red[19])

    # -- safety -----------------------------------------------------------------------
    def check(self, state: MDState) -> None:
        """Reduce the safety flags; raise :class:`MDSafetyError` on a problem (collective)."""
        comm, s = self.grid.comm, self.safety
        flags = np.array([self._nonfinite, state.n_owned], dtype=np.float64)
        nonfinite, n_total = self.reduce(flags)
        closest = comm.allreduce(self._closest[0], op=MPI.MIN)
        self._nonfinite, closest_local = 0.0, self._closest
        self._closest = (np.inf, -1, -1)
        if nonfinite > 0:  # named where they first appeared (NaN spreads from there)
            firsts = [f for f in comm.allgather(self._first_bad) if f is not None]
            step = min(f[0] for f in firsts)
            bad = sorted(i for f in firsts if f[0] == step for i in f[1])
            raise MDSafetyError("non-finite forces", step, bad)
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
