"""MD segments for the properties: configs for :func:`mlmd.md.runner.run_md` and start
structures, collective over the MPI communicator like ``run_md`` itself.

A segment is one ``run_md`` call with an MD config built from the shared ``[md]`` settings
(:class:`~mlmd.properties.config.MDSettings`), an ensemble (only that integrator's keys), an
optional schedule and the outputs a property needs. Segments chain through checkpoints
(``restart=``): an NVE production continues its Langevin equilibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from mpi4py import MPI

from mlmd.errors import InputError
from mlmd.properties.config import MDSettings, StartConfig


@dataclass(frozen=True)
class Segment:
    """What a finished segment left: its output directory, trajectory and checkpoint."""

    directory: Path
    trajectory: Path
    checkpoint: Path
    summary: dict


def ensemble_table(
    settings: MDSettings,
    kind: str,
    temperature_K: float,
    pressure_GPa: float | None = None,
    damping_fs: float | None = None,
) -> dict:
    """The ``[ensemble]`` table of ``kind`` with only the keys that integrator takes
    (thermostat time ``damping_fs``, default the shared ``md.damping_fs``)."""
    table: dict = {"kind": kind, "temperature_K": float(temperature_K)}
    if kind in ("langevin", "nose_hoover_chain", "npt"):
        table["damping_fs"] = damping_fs or settings.damping_fs
    if kind == "npt":
        table["pressure_GPa"] = float(pressure_GPa or 0.0)
        table["barostat_damping_fs"] = settings.barostat_damping_fs
        table["compressibility_per_GPa"] = settings.compressibility_per_GPa
    return table


def steps_for(settings: MDSettings, time_ps: float) -> int:
    """MD steps in ``time_ps`` (at least one)."""
    return max(1, int(round(time_ps * 1e3 / settings.timestep_fs)))


@dataclass(frozen=True)
class SegmentSpec:
    """One MD segment: its output ``directory``, ``[ensemble]`` table, total ``steps`` (a
    restarted segment counts from step 0 of the run it continues), seed offset from
    ``md.seed``, optional schedule, pressure-tensor interval, frame interval (default: first
    and last step) and start temperature."""

    directory: Path
    ensemble: dict
    steps: int
    seed_offset: int = 0
    schedule: dict | None = None
    pressure_tensor_every: int = 0
    trajectory_every: int | None = None
    initial_temperature_K: float | None = None


def md_config(settings: MDSettings, spec: SegmentSpec) -> dict:
    """An MD config mapping for one segment (``structure`` is passed to run_md directly)."""
    output = {
        "directory": str(spec.directory),
        "thermo_every": settings.thermo_every,
        "trajectory_every": spec.steps if spec.trajectory_every is None else spec.trajectory_every,
        "checkpoint_every": 0,
    }
    if spec.pressure_tensor_every:
        output["pressure_tensor_every"] = spec.pressure_tensor_every
    cfg = {
        "steps": spec.steps,
        "potential": settings.potential,
        "device": settings.device,
        "timestep_fs": settings.timestep_fs,
        "seed": settings.seed + spec.seed_offset,
        "skin_A": settings.skin_A,
        "torch_threads": settings.torch_threads,
        "structure": {"builder": "sio2_crystal"},  # replaced by the structure argument
        "ensemble": spec.ensemble,
        "output": output,
    }
    if settings.decomposition is not None:
        cfg["decomposition"] = list(settings.decomposition)
    if spec.schedule:
        cfg["schedule"] = spec.schedule
    if spec.initial_temperature_K is not None:
        cfg["initial_temperature_K"] = spec.initial_temperature_K
    return cfg


def run_segment(
    cfg: dict,
    *,
    structure: Atoms | None = None,
    restart: Path | None = None,
    comm: MPI.Comm | None = None,
    potential=None,
) -> Segment:
    """Run one segment (collective). A segment finished before with the same config, start
    structure and restart file (``done.json`` in its directory) is reused, so a rerun of
    ``mlmd properties`` resumes."""
    import hashlib
    import json

    from mlmd.md.runner import run_md

    comm = comm or MPI.COMM_WORLD
    out = Path(cfg["output"]["directory"])
    done = out / "done.json"
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode())
    if structure is not None:
        digest.update(np.ascontiguousarray(structure.positions).tobytes())
        digest.update(np.ascontiguousarray(structure.cell.array).tobytes())
    if restart is not None:
        digest.update(str(restart).encode())
    key = digest.hexdigest()
    summary = None
    if comm.Get_rank() == 0 and done.is_file():
        saved = json.loads(done.read_text())
        summary = saved["summary"] if saved.get("key") == key else None
    summary = comm.bcast(summary, root=0)  # rank 0 alone holds the structure: it decides
    if summary is None:
        summary = run_md(  # a bar with ETA per segment on a terminal (quiet piped / --json)
            cfg,
            structure=structure,
            restart=restart,
            comm=comm,
            echo=False,
            potential=potential,
            progress=True,
        )
        if comm.Get_rank() == 0:
            done.write_text(json.dumps({"key": key, "summary": summary}, default=str))
        comm.Barrier()
    return Segment(out, out / "trajectory.h5", out / "checkpoint.npz", summary)


def start_structure(start: StartConfig) -> Atoms:
    """The start structure of ``start`` as ASE Atoms (the last frame of a trajectory)."""
    if start.trajectory is not None:
        return last_frame(start.trajectory)
    from mlmd.md.structure import load_structure

    s = load_structure(start)  # a StartConfig is a StructureConfig
    return Atoms(numbers=s.numbers, positions=s.positions, cell=s.cell, pbc=True)


def last_frame(path: str | Path) -> Atoms:
    """The last frame of an H5MD trajectory (positions unwrapped into the cell)."""
    from mlmd.analysis.reader import open_trajectory

    with open_trajectory(path) as reader:
        frames = list(reader.frames(slice(-1, None)))
        numbers = reader.numbers
    snap = frames[-1] if frames else None
    if snap is None:
        raise InputError("trajectory has no frames", file=str(path), field="particles")
    if (numbers <= 0).any():
        raise InputError(
            "the trajectory's species are not atomic numbers", file=str(path), field="species"
        )
    atoms = Atoms(numbers=numbers, positions=snap.positions, cell=snap.cell, pbc=True)
    atoms.wrap()
    return atoms


def scaled(atoms: Atoms, linear_strain: float) -> Atoms:
    """A copy scaled isotropically by 1 + ``linear_strain``."""
    out = atoms.copy()
    out.set_cell(atoms.cell.array * (1.0 + linear_strain), scale_atoms=True)
    return out


def stepped_schedule(
    temperatures_K, hold_ps: float, ramp_ps: float
) -> tuple[dict, list[tuple[float, float, float]]]:
    """A schedule holding each temperature ``hold_ps`` after a ``ramp_ps`` ramp, and the
    (T, start_ps, end_ps) of each hold."""
    times, temps, holds, t = [0.0], [float(temperatures_K[0])], [], 0.0
    for k, temp in enumerate(temperatures_K):
        if k:
            t += ramp_ps
            times.append(t)
            temps.append(float(temp))
        holds.append((float(temp), t, t + hold_ps))
        t += hold_ps
        times.append(t)
        temps.append(float(temp))
    return {"time_ps": times, "temperature_K": temps}, holds


def on_root(func, *args, comm: MPI.Comm | None = None, **kwargs):
    """Call ``func`` on rank 0 only; every rank gets its result (or its MlmdError)."""
    from mlmd.errors import MlmdError

    comm = comm or MPI.COMM_WORLD
    result, error = None, None
    if comm.Get_rank() == 0:
        try:
            result = func(*args, **kwargs)
        except MlmdError as exc:
            error = exc
    result, error = comm.bcast((result, error), root=0)
    if error is not None:
        raise error
    return result


def finite(x) -> float | None:
    """``x`` as a float, None when it is not finite (JSON has no NaN)."""
    x = float(x)
    return x if np.isfinite(x) else None
