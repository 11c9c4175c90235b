"""``run_md(config) -> summary``: one MD run from a config, on however many MPI ranks run it.

Builds the grid, the potential (on CUDA when present, one GPU per rank by local rank), the
integrator and the engine; starts from the configured structure or a checkpoint; steps;
writes H5MD frames and observables, thermo lines and checkpoints at their intervals; and on
SIGTERM/SIGUSR1 (noticed at the next safety check, agreed across ranks) writes a checkpoint
and returns cleanly. A safety problem writes ``checkpoint_error.npz`` and raises
:class:`mlmd.md.engine.MDSafetyError`.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from mpi4py import MPI

from mlmd import units
from mlmd.config import to_mapping
from mlmd.errors import InputError, MlmdError
from mlmd.md import domain
from mlmd.md.checkpoint import read_checkpoint, write_checkpoint
from mlmd.md.config import MDConfig, config_from_mapping, load_config
from mlmd.md.engine import Engine, MDSafetyError, Safety
from mlmd.md.forces import ForceField
from mlmd.md.h5md import H5MDWriter
from mlmd.md.integrators import make_integrator
from mlmd.md.schedule import Schedule
from mlmd.md.state import MDState, atoms_from_structure, kinetic_tensor, maxwell_boltzmann
from mlmd.md.structure import as_structure, load_structure
from mlmd.md.thermo import ThermoLog
from mlmd.md.uncertainty import UncertaintyMonitor
from mlmd.runtime import reuse_freed_memory

log = logging.getLogger(__name__)


def pick_device(name: str, comm: MPI.Comm) -> torch.device:
    """``cpu``, or ``cuda:<local rank mod GPUs>`` for ``cuda`` (and ``auto`` when present)."""
    has_cuda = torch.cuda.is_available()
    if name == "cuda" and not has_cuda:
        raise InputError("no CUDA device is visible", field="device", fix="use 'auto' or 'cpu'")
    if name == "cpu" or not has_cuda:
        return torch.device("cpu")
    local = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
    return torch.device(f"cuda:{local % torch.cuda.device_count()}")


def set_threads(requested: int, comm: MPI.Comm) -> None:
    """Torch CPU threads per rank: ``requested``; else ``OMP_NUM_THREADS`` when the launcher
    or site set it (a Parsl worker that shares the node with others); else the node's cores
    shared among its ranks. More threads than cores makes OpenMP spin: measured 25× slower
    training in a worker whose earlier MD task had raised its thread count."""
    if requested <= 0:
        from_env = os.environ.get("OMP_NUM_THREADS", "")
        if from_env.isdigit() and int(from_env) > 0:
            requested = int(from_env)
        else:
            local = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_size()
            requested = max(1, (os.cpu_count() or 1) // local)
    torch.set_num_threads(requested)


def make_integrator_from(cfg: MDConfig):
    e = cfg.ensemble
    params = {
        "nve": {},
        "langevin": {"damping_fs": e.damping_fs},
        "nose_hoover_chain": {"damping_fs": e.damping_fs, "chain_length": e.chain_length},
        "npt": {
            "damping_fs": e.damping_fs,
            "barostat_damping_fs": e.barostat_damping_fs,
            "compressibility_per_GPa": e.compressibility_per_GPa,
            "coupling": e.coupling,
        },
        "berendsen": {
            "damping_fs": e.damping_fs,
            "barostat_damping_fs": e.barostat_damping_fs if e.barostat else None,
            "compressibility_per_GPa": e.compressibility_per_GPa,
        },
    }[e.kind]
    return make_integrator(e.kind, **params)


def schedules(cfg: MDConfig) -> tuple[Schedule, Schedule]:
    s, e = cfg.schedule, cfg.ensemble
    temp = (
        Schedule.of(s.time_ps, s.temperature_K)
        if s.temperature_K
        else Schedule.constant(e.temperature_K)
    )
    pres = (
        Schedule.of(s.time_ps, s.pressure_GPa)
        if s.pressure_GPa
        else Schedule.constant(e.pressure_GPa)
    )
    return temp, pres


def initial_atoms(structure, cfg: MDConfig, temperature_K: float, dof_fn) -> dict:
    """Whole-structure per-atom arrays (rank 0) with Maxwell–Boltzmann velocities at exactly
    ``temperature_K`` (centre-of-mass motion removed when the integrator conserves it)."""
    atoms = atoms_from_structure(structure.numbers, structure.positions)
    n = len(atoms["ids"])
    if temperature_K <= 0 or n == 0:
        return atoms
    v = maxwell_boltzmann(atoms["ids"], atoms["masses"], temperature_K, cfg.seed)
    dof = dof_fn(n)
    if dof < 3 * n:
        v -= (atoms["masses"][:, None] * v).sum(0) / atoms["masses"].sum()
    t_now = units.kinetic_temperature_K(float(np.trace(kinetic_tensor(atoms["masses"], v))), dof)
    atoms["velocities"] = v * np.sqrt(temperature_K / t_now)
    return atoms


class _Signals:
    """Remembers SIGTERM/SIGUSR1; restores the old handlers on exit."""

    def __init__(self):
        self.caught: int | None = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame) -> None:
        self.caught = signum

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def run_md(
    config: MDConfig | dict | str | Path,
    *,
    restart: str | Path | None = None,
    potential: torch.nn.Module | None = None,
    structure=None,
    comm: MPI.Comm | None = None,
    echo: bool = True,
) -> dict:
    """Run MD as configured; collective over ``comm`` (default ``MPI.COMM_WORLD``).

    Args:
        config: an :class:`MDConfig`, a mapping or a TOML path.
        restart: a checkpoint to continue from (bitwise on the same rank count).
        potential: a potential Module to use instead of ``config.potential``.
        structure: a Frame / ASE Atoms start structure instead of ``config.structure``.
        echo: print thermo lines to stdout (rank 0).

    Returns:
        a summary dict (status, steps, atoms, ranks, wall time, atom-steps/s, final
        observables, output paths) on every rank.
    """
    if isinstance(config, (str, Path)):
        cfg = load_config(config)
    elif isinstance(config, dict):
        cfg = config_from_mapping(config)
    else:
        cfg = config
    comm = comm or MPI.COMM_WORLD
    grid = domain.make_grid(comm, cfg.decomposition)
    set_threads(cfg.torch_threads, comm)
    reuse_freed_memory()
    device = pick_device(cfg.device, comm)
    if potential is None:
        from mlmd.potential import load_potential

        potential = load_potential(cfg.potential, device)
    else:
        potential = potential.to(device)
    integrator = make_integrator_from(cfg)
    temperature, pressure = schedules(cfg)
    s = cfg.safety
    engine = Engine(
        grid,
        ForceField(potential, device),
        integrator,
        skin_A=cfg.skin_A,
        seed=cfg.seed,
        temperature=temperature,
        pressure=pressure,
        safety=Safety(s.check_every, s.min_distance_A, s.max_temperature_K),
        spread_every=cfg.uncertainty.every,
    )
    config_map = to_mapping(cfg)
    out = Path(cfg.output.directory)
    paths = {
        "trajectory": out / "trajectory.h5",
        "thermo": out / "thermo.log",
        "checkpoint": out / "checkpoint.npz",
    }

    if restart is not None:
        state, ref, ref_cell, saved = read_checkpoint(restart, grid)
        if saved.get("ensemble", {}).get("kind") != cfg.ensemble.kind:  # e.g. NVT → NVE
            state = replace(state, dof=integrator.dof(state.n_atoms))
            state = integrator.init(state, engine.context(state.step, cfg.timestep_fs))
        if ref is not None:
            engine.restore_plan(state.atoms(), ref, ref_cell)
        else:
            state = engine.setup(state.with_atoms(engine.rebuild(state.atoms(), state.cell)))
        if abs(state.dt_fs - cfg.timestep_fs) > 0:
            state = replace(state, dt_fs=cfg.timestep_fs)
    else:
        whole, cell, error = None, None, None
        if grid.rank == 0:
            try:  # rank 0 builds; a failure must reach every rank, not leave them waiting
                st = (
                    as_structure(structure)
                    if structure is not None
                    else load_structure(cfg.structure)
                )
                t0 = cfg.initial_temperature_K
                t0 = temperature(0.0) if t0 is None else t0
                whole, cell = initial_atoms(st, cfg, t0, integrator.dof), st.cell
            except MlmdError as exc:
                error = exc
        error = comm.bcast(error, root=0)
        if error is not None:
            raise error
        cell, n_atoms = comm.bcast((cell, None if whole is None else len(whole["ids"])), root=0)
        mine = engine.rebuild(domain.distribute(grid, whole, cell), cell)
        state = MDState(
            **mine,
            cell=cell,
            dt_fs=cfg.timestep_fs,
            n_atoms=n_atoms,
            dof=integrator.dof(n_atoms),
        )
        state = engine.setup(state)
        state = integrator.init(state, engine.context(0, cfg.timestep_fs))
    return _loop(cfg, config_map, grid, engine, integrator, state, paths, restart is not None, echo)


def _loop(cfg, config_map, grid, engine, integrator, state, paths, restarted, echo) -> dict:
    comm, o = grid.comm, cfg.output
    rank0 = grid.rank == 0
    writer = thermo = None
    first = domain.gather(grid, state.atoms(), ("ids", "numbers", "masses"))
    if rank0:
        if o.trajectory_every:
            writer = H5MDWriter(
                paths["trajectory"],
                first["numbers"],
                first["masses"],
                first["ids"],
                config_map,
                velocities=o.velocities,
                forces=o.forces,
                restart_step=state.step if restarted else None,
            )
        thermo = ThermoLog(paths["thermo"], append=restarted, echo=sys.stdout if echo else None)
    total_mass = comm.allreduce(float(state.masses.sum()))
    monitor = UncertaintyMonitor(cfg.uncertainty, grid, config_map)
    status, t_start, steps_done = "completed", time.perf_counter(), 0
    clock = [time.perf_counter(), state.step]

    def output(state: MDState, force: bool = False) -> None:
        step = state.step
        if o.trajectory_every and step % o.trajectory_every == 0:
            _write_frame(grid, writer, state)
        if o.thermo_every and (step % o.thermo_every == 0 or force):
            now = time.perf_counter()
            rate = (step - clock[1]) * state.n_atoms / (now - clock[0]) if step > clock[1] else None
            clock[:] = [now, step]
            ctx = engine.context(step, state.dt_fs)
            obs = {
                "potential_energy": state.potential_energy,
                "kinetic_energy": state.kinetic_energy,
                "total_energy": state.potential_energy + state.kinetic_energy,
                "conserved_energy": integrator.conserved(state, ctx),
                "temperature": state.temperature_K,
                "pressure": state.pressure_GPa,
                "volume": state.volume,
                "density": units.density_g_cm3(total_mass, state.volume),
                **monitor.latest(),
            }
            if rank0:
                if writer is not None:
                    writer.write_observables(step, state.time_fs, obs)
                thermo.row(
                    step=step,
                    time_ps=state.time_fs * 1e-3,
                    T_K=obs["temperature"],
                    P_GPa=obs["pressure"],
                    Epot_eV=obs["potential_energy"],
                    Etot_eV=obs["total_energy"],
                    Econs_eV=obs["conserved_energy"],
                    volume_A3=obs["volume"],
                    density_g_cm3=obs["density"],
                    fstd_max_eV_A=obs.get("force_std_max"),
                    atom_steps_per_s=rate,
                )

    try:
        with _Signals() as signals:
            if not restarted:
                monitor.observe(state)
                output(state)
            while state.step < cfg.steps:
                state = engine.step(state)
                steps_done += 1
                step = state.step
                if step % cfg.safety.check_every == 0 or step == cfg.steps:
                    try:
                        engine.check(state)
                    except MDSafetyError:
                        write_checkpoint(
                            paths["checkpoint"].with_name("checkpoint_error.npz"),
                            grid,
                            state,
                            engine.plan,
                            config_map,
                        )
                        raise
                    if comm.allreduce(int(signals.caught is not None), op=MPI.MAX):
                        status = "interrupted"
                if step % cfg.uncertainty.every == 0:
                    if monitor.observe(state) == "stop":
                        status = "uncertainty_stop"
                output(state, force=status != "completed")
                if status != "completed":
                    break
                if o.checkpoint_every and step % o.checkpoint_every == 0:
                    write_checkpoint(paths["checkpoint"], grid, state, engine.plan, config_map)
            write_checkpoint(paths["checkpoint"], grid, state, engine.plan, config_map)
    finally:
        if writer is not None:
            writer.close()
        if thermo is not None:
            thermo.close()
    wall = time.perf_counter() - t_start
    return {
        "status": status,
        "step": state.step,
        "steps_run": steps_done,
        "n_atoms": state.n_atoms,
        "ranks": grid.size,
        "dims": list(grid.dims),
        "wall_s": wall,
        "atom_steps_per_s": steps_done * state.n_atoms / wall if wall > 0 else None,
        "temperature_K": state.temperature_K,
        "pressure_GPa": state.pressure_GPa,
        "potential_energy_eV": state.potential_energy,
        "total_energy_eV": state.potential_energy + state.kinetic_energy,
        "volume_A3": state.volume,
        "density_g_cm3": units.density_g_cm3(total_mass, state.volume),
        "rebuilds": engine.rebuilds,
        "uncertainty": monitor.summary(),
        **{k: str(v) for k, v in paths.items()},
    }


def wrapped(state: MDState) -> tuple[np.ndarray, np.ndarray]:
    """Positions wrapped into the cell [n, 3] and matching images [n, 3]."""
    frac = domain.fractional(state.positions, state.cell)
    shift = np.floor(frac)
    return state.positions - shift @ state.cell, state.images + shift.astype(np.int64)


def _write_frame(grid, writer, state: MDState) -> None:
    pos, img = wrapped(state)
    g = domain.gather(
        grid,
        {
            "ids": state.ids,
            "positions": pos,
            "images": img,
            "velocities": state.velocities,
            "forces": state.forces,
        },
        ("ids", "positions", "images", "velocities", "forces"),
    )
    if g is not None:
        writer.write_frame(
            state.step,
            state.time_fs,
            state.cell,
            g["positions"],
            g["images"],
            g["velocities"],
            g["forces"],
        )
