"""``run_md(config) -> summary``: one MD run from a config, on however many MPI ranks run it.

:func:`_setup` builds the grid, the potential (on CUDA when present, one GPU per rank by
local rank), the integrator and the engine; :func:`_start` (a structure) or :func:`_resume`
(a checkpoint) gives the first state; :func:`_loop` steps, writing H5MD frames and
observables and thermo lines (:class:`mlmd.md.outputs.Outputs`) and checkpoints at their
intervals; and on SIGTERM/SIGUSR1 (noticed at the next safety check, agreed across ranks)
writes a checkpoint and returns cleanly. A safety problem writes ``checkpoint_error.npz`` and raises
:class:`mlmd.md.engine.MDSafetyError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from mpi4py import MPI

from mlmd import units
from mlmd.config import to_mapping
from mlmd.errors import InputError, MlmdError
from mlmd.md import domain, rundir
from mlmd.md.checkpoint import mismatch, read_checkpoint, write_checkpoint
from mlmd.md.config import MDConfig, config_from_mapping, load_config
from mlmd.md.engine import Engine, MDSafetyError
from mlmd.md.forces import ForceField
from mlmd.md.integrators import make_integrator
from mlmd.md.observables import measure as measure_observables
from mlmd.md.observables import summary_values
from mlmd.md.outputs import Outputs, output_paths
from mlmd.md.process import Signals, pick_device, set_threads
from mlmd.md.schedule import Schedule
from mlmd.md.state import MDState, atoms_from_structure, kinetic_tensor, maxwell_boltzmann
from mlmd.md.structure import as_structure, check_start, load_structure
from mlmd.md.uncertainty import UncertaintyMonitor
from mlmd.potential.contract import check_species
from mlmd.progress import Progress
from mlmd.runtime import reuse_freed_memory

log = logging.getLogger(__name__)


def schedules(cfg: MDConfig) -> tuple[Schedule, Schedule]:
    """Temperature (K) and pressure (GPa) schedules: ``[schedule]`` or the ensemble's value."""
    s, e = cfg.schedule, cfg.ensemble
    temp = (
        Schedule.of(s.time_ps, s.temperature_K)
        if s.temperature_K
        else Schedule.constant(e.temperature_K)
    )
    pressure = getattr(e, "pressure_GPa", 0.0)
    pres = Schedule.of(s.time_ps, s.pressure_GPa) if s.pressure_GPa else Schedule.constant(pressure)
    return temp, pres


def initial_atoms(structure, temperature_K: float, seed: int, dof_fn) -> dict:
    """Whole-structure per-atom arrays (rank 0) with Maxwell–Boltzmann velocities at exactly
    ``temperature_K``, keyed by ``seed`` (centre-of-mass motion removed when the integrator
    conserves it: ``dof_fn(n) < 3 n``)."""
    atoms = atoms_from_structure(structure.numbers, structure.positions)
    n = len(atoms["ids"])
    if temperature_K <= 0 or n == 0:
        return atoms
    v = maxwell_boltzmann(atoms["ids"], atoms["masses"], temperature_K, seed)
    dof = dof_fn(n)
    if dof < 3 * n:
        v -= (atoms["masses"][:, None] * v).sum(0) / atoms["masses"].sum()
    t_now = units.kinetic_temperature_K(float(np.trace(kinetic_tensor(atoms["masses"], v))), dof)
    atoms["velocities"] = v * np.sqrt(temperature_K / t_now)
    return atoms


@dataclass(frozen=True)
class Run:
    """The parts of one run that stay fixed: config, grid, engine, provenance."""

    cfg: MDConfig
    grid: domain.Grid
    engine: Engine
    config_map: dict
    potential_id: dict
    paths: dict[str, Path]

    def checkpoint(self, state: MDState, outputs: Outputs, name: str = "checkpoint.npz") -> None:
        """Flush ``outputs``, then write a checkpoint of ``state`` into the output directory
        (collective): a crash after it loses no output row up to its step."""
        outputs.flush()
        write_checkpoint(
            self.paths["checkpoint"].with_name(name),
            self.grid,
            state,
            self.engine.rebuild_reference(),
            self.config_map,
            integrator=self.cfg.ensemble.kind,
            potential=self.potential_id,
        )


def run_md(  # noqa: PLR0913 — public API (CONTRACTS §1): keyword-only options, named at every call
    config: MDConfig | dict | str | Path,
    *,
    restart: str | Path | None = None,
    potential: torch.nn.Module | None = None,
    structure=None,
    comm: MPI.Comm | None = None,
    echo: bool = True,
    overwrite: bool = True,
    progress: bool = False,
    on_output: Callable[[int], None] | None = None,
) -> dict:
    """Run MD as configured; collective over ``comm`` (default ``MPI.COMM_WORLD``).

    Args:
        config: an :class:`MDConfig`, a mapping or a TOML path.
        restart: a checkpoint to continue from (bitwise on the same rank count); refused
            when it was written by another run (atoms, species, potential).
        potential: a potential Module to use instead of ``config.potential``.
        structure: a Frame / ASE Atoms start structure instead of ``config.structure``.
        echo: print thermo lines to stdout (rank 0; not while a progress bar draws).
        overwrite: replace the outputs already in ``output.directory`` (``mlmd md run``
            passes False unless ``--overwrite``); a directory another run is writing into
            is refused either way.
        progress: draw a progress bar with ETA on a terminal's stderr (rank 0).
        on_output: called on rank 0 with the step after every observables row (every
            ``output.thermo_every`` steps, and the last step of a run that stops early), so
            a caller's own progress bar over several runs can advance with it.

    Returns:
        a summary dict (status, steps, atoms, ranks, wall time, atom-steps/s, final
        observables, output paths) on every rank.
    """
    if isinstance(config, (str, Path)):
        cfg = load_config(config)
    else:
        cfg = config_from_mapping(config)
    comm = comm or MPI.COMM_WORLD
    restarting = restart is not None
    with rundir.claim(cfg.output.directory, comm, overwrite=overwrite, restart=restarting):
        run = _setup(cfg, potential, comm)
        state = _start(run, structure) if restart is None else _resume(run, restart, structure)
        return _run_loop(
            run, state, restarted=restarting, echo=echo, progress=progress, on_output=on_output
        )


def _setup(cfg: MDConfig, potential: torch.nn.Module | None, comm: MPI.Comm) -> Run:
    grid = domain.make_grid(comm, cfg.decomposition)
    set_threads(cfg.torch_threads, comm)
    reuse_freed_memory()
    device = pick_device(cfg.device, comm)
    if potential is None:
        from mlmd.potential import load_potential

        potential = load_potential(cfg.potential, device)
    else:
        potential = potential.to(device)
    temperature, pressure = schedules(cfg)
    ff = ForceField(potential, device)
    engine = Engine(
        grid,
        ff,
        make_integrator(cfg.ensemble),
        skin_A=cfg.skin_A,
        seed=cfg.seed,
        temperature=temperature,
        pressure=pressure,
        safety=cfg.safety,
    )
    paths = output_paths(cfg.output.directory)
    return Run(cfg, grid, engine, to_mapping(cfg), ff.identity(cfg.potential), paths)


def _start(run: Run, structure) -> MDState:
    """A new run from the configured (or given) structure, built on rank 0."""
    cfg, grid = run.cfg, run.grid
    whole, cell, error = None, None, None
    if grid.rank == 0:
        try:  # rank 0 builds; a failure must reach every rank, not leave them waiting
            st = as_structure(structure) if structure is not None else load_structure(cfg.structure)
            check_start(st, cfg.safety.min_distance_A, _source(cfg, structure))
            if hasattr(run.engine.ff.potential, "species"):  # test stand-ins may lack it
                check_species(run.engine.ff.potential, st.numbers, source=_source(cfg, structure))
            t0 = cfg.initial_temperature_K
            t0 = run.engine.temperature(0.0) if t0 is None else t0
            whole, cell = initial_atoms(st, t0, cfg.seed, run.engine.dof), st.cell
        except MlmdError as exc:
            error = exc
    error = grid.comm.bcast(error, root=0)
    if error is not None:
        raise error
    cell, n_atoms = grid.comm.bcast((cell, None if whole is None else len(whole["ids"])), root=0)
    return run.engine.start(whole, cell, n_atoms, cfg.timestep_fs)


def _source(cfg: MDConfig, structure) -> str:
    """Where the start structure comes from, for messages."""
    if structure is not None:
        return "the start structure given to run_md"
    return cfg.structure.dataset or cfg.structure.extxyz or f"builder {cfg.structure.builder}"


def _resume(run: Run, restart: str | Path, structure) -> MDState:
    """Continue from the checkpoint ``restart``, once it is shown to be this run's."""
    cfg = run.cfg
    restored = read_checkpoint(restart, run.grid)
    problems, error = [], None
    if run.grid.rank == 0:
        try:
            numbers = None
            if structure is not None or cfg.structure.builder is None:  # cheap to read
                st = (
                    as_structure(structure)
                    if structure is not None
                    else load_structure(cfg.structure)
                )
                numbers = st.numbers
            problems = mismatch(restored, run.potential_id, numbers, to_mapping(cfg.structure))
        except MlmdError as exc:
            error = exc
    problems, error = run.grid.comm.bcast((problems, error), root=0)
    if error is not None:
        raise error
    step = restored.state.step
    if problems:
        raise InputError(
            "checkpoint is from another run: " + "; ".join(problems),
            file=str(restart),
            field="--restart",
            fix="continue it with the config that wrote it, or start afresh without --restart",
        )
    if step > cfg.steps:
        raise InputError(
            f"checkpoint is at step {step}, past this config's steps = {cfg.steps}",
            file=str(restart),
            field="--restart",
            fix=f"set steps above {step} to continue the run",
        )
    if step == cfg.steps and run.grid.rank == 0:
        log.warning(
            "%s is at step %d = steps: nothing to run (raise steps to continue)", restart, step
        )
    return run.engine.resume(restored, cfg.timestep_fs)


@dataclass(frozen=True)
class _Watch:
    """What follows a run as it steps: the output files, the uncertainty monitor, the
    progress bar and the caller's ``on_output`` (rank 0 only), and the total mass (amu, all
    ranks) the observables need."""

    outputs: Outputs
    monitor: UncertaintyMonitor
    bar: Progress
    engine: Engine
    total_mass: float
    on_output: Callable[[int], None] | None = None

    def measure(self, s: MDState) -> Callable[[], dict]:
        """The observables of ``s``, computed only when an output is due."""
        return lambda: measure_observables(
            s, self.engine.conserved_energy(s), self.total_mass, self.monitor.latest()
        )

    def record(self, s: MDState, *, force: bool = False) -> None:
        """The outputs due at ``s.step``; then ``on_output(step)`` if a row was written."""
        if self.outputs.record(s, self.measure(s), force=force) and self.on_output is not None:
            self.on_output(s.step)


def _run_loop(
    run: Run,
    state: MDState,
    *,
    restarted: bool,
    echo: bool,
    progress: bool,
    on_output: Callable[[int], None] | None,
) -> dict:
    """Open the outputs, step to ``cfg.steps``, close; returns the summary."""
    cfg, grid = run.cfg, run.grid
    bar = Progress(
        max(cfg.steps - state.step, 0),
        label="md run",
        unit="step",
        enabled=progress and grid.rank == 0,
    )
    echo = echo and not bar.active  # a bar on the terminal replaces the echoed rows
    watch = _Watch(
        Outputs(cfg.output, grid, state, run.config_map, restarted=restarted, echo=echo),
        UncertaintyMonitor(cfg.uncertainty, grid, run.config_map),
        bar,
        run.engine,
        grid.comm.allreduce(float(state.masses.sum())),
        on_output if grid.rank == 0 else None,
    )
    t_start, first_step = time.perf_counter(), state.step
    try:
        if run.engine.alarm:  # non-finite forces at the start
            _check(run, state, watch.outputs)
        if not restarted:
            watch.monitor.observe(state, run.engine.core_edges)
            watch.record(state)
        state, status = _loop(run, state, watch)
    finally:
        watch.outputs.close()
        bar.close()
    wall_s = time.perf_counter() - t_start
    return _summary(
        run, state, watch, status=status, steps_run=state.step - first_step, wall_s=wall_s
    )


def _loop(run: Run, state: MDState, watch: _Watch) -> tuple[MDState, str]:
    """Step until ``cfg.steps``, a signal or an uncertainty stop; returns (state, status).

    The one place that decides which step checks safety (every ``safety.check_every``, the
    last, and any step whose forces are non-finite), computes the ensemble spread (every
    ``uncertainty.every``), writes outputs and checkpoints."""
    cfg, comm, outputs = run.cfg, run.grid.comm, watch.outputs
    status = "completed"
    with Signals() as signals:
        while state.step < cfg.steps and status == "completed":
            step = state.step + 1
            check = step % cfg.safety.check_every == 0 or step == cfg.steps
            spread = step % cfg.uncertainty.every == 0
            state = run.engine.step(state, check=check, spread=spread)
            watch.bar.advance()
            if check or run.engine.alarm:
                _check(run, state, outputs)
                if comm.allreduce(int(signals.caught is not None), op=MPI.MAX):
                    status = "interrupted"
            if spread and watch.monitor.observe(state, run.engine.core_edges) == "stop":
                status = "uncertainty_stop"
            watch.record(state, force=status != "completed")
            every = cfg.output.checkpoint_every
            if status == "completed" and every and step % every == 0 and step < cfg.steps:
                run.checkpoint(state, outputs)
        run.checkpoint(state, outputs)
    return state, status


def _check(run: Run, state: MDState, outputs: Outputs) -> None:
    """The safety check; on a problem, ``checkpoint_error.npz`` first, then the error."""
    try:
        run.engine.check(state)
    except MDSafetyError:
        run.checkpoint(state, outputs, "checkpoint_error.npz")
        raise


def _summary(
    run: Run, state: MDState, watch: _Watch, *, status: str, steps_run: int, wall_s: float
) -> dict:
    """The run's summary (see :func:`run_md`), the same on every rank."""
    grid = run.grid
    return {
        "status": status,
        "step": state.step,
        "steps_run": steps_run,
        "n_atoms": state.n_atoms,
        "ranks": grid.size,
        "dims": list(grid.dims),
        "wall_s": wall_s,
        "atom_steps_per_s": steps_run * state.n_atoms / wall_s if wall_s > 0 else None,
        **summary_values(watch.measure(state)()),
        "rebuilds": run.engine.rebuilds,
        "uncertainty": watch.monitor.summary(),
        **{k: str(v) for k, v in run.paths.items()},
    }
