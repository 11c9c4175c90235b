"""MD engine benchmarks (JSON on stdout): step/evaluation overhead, ASE comparison (one core
each, and each on the whole machine), 1 → 2 rank efficiency, teacher vs LAMMPS ``pair_style
vashishta``, NVE energy drift, and the cost of the every-step pressure-tensor observable.

    .venv/bin/python benchmarks/bench_md.py --parts overhead,ase,ase_machine,parallel,lammps,drift \
        --sizes 5184 21600 --nve-ps 20 > bench_md.json
    .venv/bin/python benchmarks/bench_md.py --parts pressure_tensor --sizes 648 --steps 500

Structures are beta-cristobalite SiO2 supercells (24 atoms per cell) with the teacher
(NKV 1994 Vashishta), float64, one torch thread per rank unless --threads says otherwise.
On a GPU machine, ``--parts overhead,ase --device cuda`` puts the potential (engine, raw
evaluation and ASE calculator alike) on the GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from mpi4py import MPI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlmd.data import build  # noqa: E402
from mlmd.md import domain  # noqa: E402
from mlmd.md.config import SafetyConfig, UncertaintyConfig  # noqa: E402
from mlmd.md.engine import Engine  # noqa: E402
from mlmd.md.forces import ForceField  # noqa: E402
from mlmd.md.integrators import make_integrator  # noqa: E402
from mlmd.md.runner import initial_atoms  # noqa: E402
from mlmd.md.schedule import Schedule  # noqa: E402
from mlmd.md.structure import as_structure  # noqa: E402
from mlmd.potential import evaluate, graph_from_frames, load_potential  # noqa: E402
from mlmd.runtime import reuse_freed_memory  # noqa: E402

#: cristobalite repeats for the sizes used here (24 atoms per cell)
REPEATS = {
    648: (3, 3, 3),
    5184: (6, 6, 6),
    10800: (5, 10, 9),  # one rank's brick of 21600 on two ranks
    21600: (10, 10, 9),
    20736: (12, 12, 6),
}


def crystal(n_atoms: int):
    if n_atoms not in REPEATS:
        raise SystemExit(f"size {n_atoms} not in {sorted(REPEATS)}")
    return build.sio2_crystal("cristobalite", REPEATS[n_atoms])


def device_of(potential: torch.nn.Module) -> torch.device:
    """The device the potential's tensors live on."""
    return next(iter([*potential.parameters(), *potential.buffers()])).device


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work (timings of asynchronous devices)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def engine_state(frame, potential, *, temperature_K=300.0, kind="nve", skin=1.0, comm=None):
    """An Engine and its first state for ``frame`` on ``comm`` (default COMM_WORLD)."""
    grid = domain.make_grid(comm or MPI.COMM_WORLD)
    integ = make_integrator(kind) if kind != "langevin" else make_integrator(kind, damping_fs=100.0)
    eng = Engine(
        grid,
        ForceField(potential, device_of(potential)),
        integ,
        skin_A=skin,
        seed=1,
        temperature=Schedule.constant(temperature_K),
        pressure=Schedule.constant(0.0),
    )
    st = as_structure(frame)
    whole = initial_atoms(st, temperature_K, 1, integ.dof) if grid.rank == 0 else None
    return eng, eng.start(whole, st.cell, len(st.numbers), dt_fs=1.0)


def md_step(eng, state):
    """One engine step with `mlmd md run`'s default cadence of safety checks and spreads."""
    step = state.step + 1
    check = step % SafetyConfig.check_every == 0
    return eng.step(state, check=check, spread=step % UncertaintyConfig.every == 0)


def time_steps(eng, state, steps: int) -> tuple[float, object]:
    eng.grid.comm.Barrier()
    t = time.perf_counter()
    for _ in range(steps):
        state = md_step(eng, state)
    eng.grid.comm.Barrier()
    return (time.perf_counter() - t) / steps, state


def overhead(sizes, steps, potential) -> list[dict]:
    """(a) MD step time / raw potential evaluation (forward + backward) on one rank."""
    out = []
    device = device_of(potential)
    for n in sizes:
        frame = crystal(n)
        graph = graph_from_frames([frame], potential.cutoff_A, device=device)
        evaluate(potential, graph)
        synchronize(device)
        t = time.perf_counter()
        for _ in range(steps):
            evaluate(potential, graph)
        synchronize(device)
        raw = (time.perf_counter() - t) / steps
        eng, state = engine_state(frame, potential)
        md_step(eng, state)
        md, state = time_steps(eng, state, steps)
        out.append(
            {
                "n_atoms": n,
                "raw_eval_s": raw,
                "md_step_s": md,
                "ratio": md / raw,
                "rebuilds": eng.rebuilds,
                "steps": steps,
                "md_atom_steps_per_s": n / md,
            }
        )
    return out


def ase_step_time(n, steps, potential) -> float:
    """Seconds per ASE ``VelocityVerlet`` step through :class:`MlmdCalculator`."""
    from ase import units as ase_units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    from mlmd.data.convert import frame_to_atoms
    from mlmd.potential.calculator import MlmdCalculator

    atoms = frame_to_atoms(crystal(n))
    atoms.calc = MlmdCalculator(potential, device=device_of(potential))
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(1))
    dyn = VelocityVerlet(atoms, timestep=1.0 * ase_units.fs)
    dyn.run(1)
    t = time.perf_counter()
    dyn.run(steps)
    return (time.perf_counter() - t) / steps


def ase_compare(n, steps, potential) -> dict:
    """(b) ASE VelocityVerlet through MlmdCalculator vs the mlmd engine, same potential."""
    ase_step = ase_step_time(n, steps, potential)
    eng, state = engine_state(crystal(n), potential)
    md_step(eng, state)
    md, _ = time_steps(eng, state, steps)
    return {
        "n_atoms": n,
        "ase_step_s": ase_step,
        "mlmd_step_s": md,
        "speedup": ase_step / md,
        "steps": steps,
    }


def parallel_worker(n: int, steps: int) -> None:
    potential = load_potential("teacher")
    eng, state = engine_state(crystal(n), potential)
    md_step(eng, state)
    dt, _ = time_steps(eng, state, steps)
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(
            json.dumps(
                {"ranks": MPI.COMM_WORLD.Get_size(), "step_s": dt, "atom_steps_per_s": n / dt}
            )
        )


def worker_command(n: int, steps: int) -> list[str]:
    """This script as a one-rank (or, under mpiexec, one-per-rank) timing worker."""
    return [sys.executable, __file__, "--worker", str(n), str(steps)]


def worker_result(stdout: str) -> dict:
    """The JSON line a worker prints last."""
    return json.loads(stdout.strip().splitlines()[-1])


WORKER_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def mpi_rate(n: int, steps: int, ranks: int) -> dict:
    """The teacher engine on ``ranks`` MPI ranks (one thread each), run with mpiexec."""
    mpiexec = Path(sys.executable).parent / "mpiexec"
    cmd = [str(mpiexec), "-n", str(ranks), *worker_command(n, steps)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=WORKER_ENV, check=True)
    return worker_result(p.stdout)


def concurrent_rate(n: int, steps: int, copies: int) -> float:
    """Atom-steps/s of ``copies`` independent one-rank runs of ``n`` atoms at once: what the
    machine gives with no communication at all (shared caches and memory bandwidth)."""
    cmd = worker_command(n, steps)
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=WORKER_ENV)
        for _ in range(copies)
    ]
    return sum(worker_result(p.communicate()[0])["atom_steps_per_s"] for p in procs)


def parallel(n, steps, repeats=3) -> dict:
    """(c) 1 → 2 rank parallel efficiency (strong scaling) with mpiexec, from the fastest of
    ``repeats`` alternating runs of each (machine noise only ever adds time). The ceiling is
    the same ratio for two independent runs of one brick's atoms at once (no communication)."""
    if n // 2 not in REPEATS:
        raise SystemExit(f"parallel: size {n} has no half-size crystal in {sorted(REPEATS)}")
    runs = {1: [], 2: []}
    ceiling = []
    for _ in range(repeats):
        for ranks in runs:
            runs[ranks].append(mpi_rate(n, steps, ranks))
        ceiling.append(concurrent_rate(n // 2, steps, 2))
    best = {ranks: min(r, key=lambda x: x["step_s"]) for ranks, r in runs.items()}
    one = 2 * best[1]["atom_steps_per_s"]
    return {
        "n_atoms": n,
        "one_rank": best[1],
        "two_ranks": best[2],
        "efficiency": best[2]["atom_steps_per_s"] / one,
        "machine_ceiling": max(ceiling) / one,
        "step_s_all_runs": {ranks: [x["step_s"] for x in r] for ranks, r in runs.items()},
        "cores": os.cpu_count(),
    }


def ase_whole_machine(n, steps, cores) -> dict:
    """(b') ASE with torch on all ``cores`` threads vs the mlmd engine on ``cores`` ranks: what
    a user gets from the same machine (teacher potential)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(cores)
    try:
        ase_step = ase_step_time(n, steps, load_potential("teacher"))
    finally:
        torch.set_num_threads(threads)
    mlmd = mpi_rate(n, steps, cores)
    return {
        "n_atoms": n,
        "cores": cores,
        "ase_step_s": ase_step,
        "mlmd_step_s": mlmd["step_s"],
        "speedup": ase_step / mlmd["step_s"],
        "steps": steps,
    }


def lammps(n, steps, potential) -> dict:
    """(d) the teacher in the mlmd engine vs LAMMPS pair_style vashishta, one core each."""
    from ase.io import write

    from mlmd.data.convert import frame_to_atoms

    frame = crystal(n)
    atoms = frame_to_atoms(frame)
    with tempfile.TemporaryDirectory() as tmp:
        write(f"{tmp}/data.lmp", atoms, format="lammps-data", specorder=["Si", "O"], masses=True)
        Path(f"{tmp}/in.lmp").write_text(
            "units metal\natom_style atomic\nread_data data.lmp\n"
            "pair_style vashishta\n"
            "pair_coeff * * /usr/share/lammps/potentials/SiO.1994.vashishta Si O\n"
            "neighbor 1.0 bin\nneigh_modify every 1 delay 0 check yes\n"
            "velocity all create 300.0 1 mom yes\ntimestep 0.001\nfix 1 all nve\n"
            f"thermo {steps}\nrun {steps}\n"
        )
        p = subprocess.run(
            ["lmp", "-in", "in.lmp", "-log", "none"],
            cwd=tmp,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    m = re.search(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps", p.stdout)
    if not m:
        return {"error": (p.stdout + p.stderr)[-1000:]}
    lmp_rate = n * int(m.group(3)) / float(m.group(1))
    eng, state = engine_state(frame, potential)
    md_step(eng, state)
    md, _ = time_steps(eng, state, steps)
    return {
        "n_atoms": n,
        "lammps_atom_steps_per_s": lmp_rate,
        "mlmd_atom_steps_per_s": n / md,
        "mlmd_over_lammps": (n / md) / lmp_rate,
        "steps": steps,
    }


def drift(temperature_K, nve_ps, equil_ps, potential) -> dict:
    """NVE total-energy drift (meV/atom/ps) of 648-atom SiO2 after Langevin equilibration."""
    n = 648
    eng, state = engine_state(
        crystal(n), potential, temperature_K=2 * temperature_K, kind="langevin"
    )
    eng.temperature = Schedule.constant(temperature_K)
    for _ in range(int(equil_ps * 1000)):
        state = md_step(eng, state)
    nve = make_integrator("nve")
    eng.integrator = nve
    from dataclasses import replace

    state = replace(state, dof=nve.dof(n), bath=None)
    times, energies, temps = [], [], []
    t0 = time.perf_counter()
    for k in range(int(nve_ps * 1000) + 1):
        if k % 10 == 0:
            times.append(k * 1e-3)
            energies.append(state.potential_energy + state.kinetic_energy)
            temps.append(state.temperature_K)
        if k < int(nve_ps * 1000):
            state = md_step(eng, state)
    e = np.array(energies)
    slope = np.polyfit(times, e, 1)[0] / n * 1e3
    return {
        "temperature_K_target": temperature_K,
        "mean_T_K": float(np.mean(temps)),
        "nve_ps": nve_ps,
        "equil_ps": equil_ps,
        "dt_fs": 1.0,
        "n_atoms": n,
        "drift_meV_per_atom_per_ps": float(slope),
        "fluctuation_meV_per_atom": float(np.std(e) / n * 1e3),
        "wall_s": time.perf_counter() - t0,
    }


def pressure_tensor_cost(n: int, steps: int, repeats: int = 3) -> dict:
    """(f) `run_md` steps/s with the pressure-tensor observable off and written every step
    (teacher, Langevin, thermo every 100 steps, no frames), alternating, best of ``repeats``."""
    from mlmd.md.runner import run_md

    rates: dict[str, list[float]] = {"off": [], "every_step": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            for label, every in (("off", 0), ("every_step", 1)):
                cfg = {
                    "steps": steps,
                    "seed": 1,
                    "torch_threads": 1,
                    "initial_temperature_K": 300.0,
                    "structure": {"builder": "sio2_crystal", "repeat": list(REPEATS[n])},
                    "ensemble": {"kind": "langevin", "temperature_K": 300.0},
                    "output": {
                        "directory": f"{tmp}/{label}{k}",
                        "trajectory_every": 0,
                        "thermo_every": 100,
                        "checkpoint_every": 0,
                        "pressure_tensor_every": every,
                    },
                }
                summary = run_md(cfg, echo=False, overwrite=True)
                rates[label].append(steps / summary["wall_s"])
    best = {label: max(r) for label, r in rates.items()}
    return {
        "n_atoms": n,
        "steps": steps,
        "steps_per_s_off": best["off"],
        "steps_per_s_every_step": best["every_step"],
        "slowdown": best["off"] / best["every_step"] - 1.0,
        "all_steps_per_s": rates,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="overhead,ase,ase_machine,parallel,lammps,drift")
    ap.add_argument("--sizes", type=int, nargs="+", default=[5184, 21600])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--nve-ps", type=float, default=20.0)
    ap.add_argument("--equil-ps", type=float, default=2.0)
    ap.add_argument("--drift-temperatures", type=float, nargs="+", default=[300.0, 3000.0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--potential",
        default="teacher",
        help="for overhead/ase: 'teacher' or a model directory (an ensemble: the engine "
        "computes the spread every 10 steps, the ASE calculator every step)",
    )
    ap.add_argument(
        "--device",
        default="cpu",
        help="for overhead/ase: where the potential runs ('cuda' on a GPU machine)",
    )
    ap.add_argument("--worker", type=int, nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reuse_freed_memory()  # what mlmd's MD and training loops do
    if args.worker:
        parallel_worker(*args.worker)
        return
    potential = load_potential(args.potential, device=args.device)
    parts = args.parts.split(",")
    result = {
        "machine": {"cores": os.cpu_count(), "torch": torch.__version__, "threads": args.threads}
    }
    if "overhead" in parts:
        result["overhead"] = overhead(args.sizes, args.steps, potential)
    if "ase" in parts:
        result["ase"] = ase_compare(args.sizes[0], args.steps, potential)
    if "ase_machine" in parts:
        result["ase_machine"] = ase_whole_machine(args.sizes[0], args.steps, os.cpu_count())
    if "parallel" in parts:
        result["parallel"] = parallel(args.sizes[-1], args.steps)
    if "lammps" in parts:
        result["lammps"] = lammps(args.sizes[0], args.steps, potential)
    if "pressure_tensor" in parts:
        result["pressure_tensor"] = pressure_tensor_cost(args.sizes[0], args.steps)
    if "drift" in parts:
        result["drift"] = [
            drift(t, args.nve_ps, args.equil_ps, potential) for t in args.drift_temperatures
        ]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
