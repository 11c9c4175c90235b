"""Speed of the Vashishta teacher on CPU, and of LAMMPS ``pair_style vashishta`` on one core.

Prints one JSON object:

- ``evaluate``: energy + forces + virial time per atom (µs) on a prebuilt graph, for 648 and
  3000 atoms (rattled beta-cristobalite supercells at 2.18 g/cm³);
- ``frames``: 3000-atom frames per second *including* the neighbour list and graph build
  (distinct frames, as a labelling run sees them), and the same as atom-steps/s;
- ``lammps``: LAMMPS ``run 100`` NVE (velocity Verlet, its own Verlet lists with 1 Å skin)
  on the same 3000 atoms, one MPI rank, one OpenMP thread: atom-steps/s from its loop time;
- ``ratio_mlmd_over_lammps``: mlmd atom-steps/s (frames incl. neighbour list) / LAMMPS's.

Times are the median wall time over repeats (best in ``*_min``/``*_max``; ``*_cpu_time``
from this process's CPU time, which a shared machine disturbs less; the load average is
recorded). LAMMPS reports its loop wall time and CPU share (``*_cpu_time`` = wall × share).

Usage: ``python benchmarks/bench_teacher.py [--threads 1] [--repeats 10]``.
"""

from __future__ import annotations

import os

# One core for numpy/BLAS/OpenMP, like the LAMMPS run (export these to override). Measured
# here: under load, BLAS/OpenMP threads in the neighbour-list path cost 3-4x its time.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.spacegroup import crystal  # noqa: E402

from mlmd.potential import Vashishta, evaluate, graph_from_atoms  # noqa: E402
from mlmd.reference import lammps_direct as lammps  # noqa: E402

LAMMPS_FILE = Path("/usr/share/lammps/potentials/SiO.1994.vashishta")


def cristobalite(repeat: int, rattle_A: float, seed: int) -> Atoms:
    """Ideal beta-cristobalite (24 atoms, notes/sio2.md) repeated ``repeat``³ and rattled."""
    cell = crystal(
        ["Si", "O"],
        basis=[(0, 0, 0), (1 / 8, 1 / 8, 1 / 8)],
        spacegroup=227,
        setting=1,
        cellpar=[7.16] * 3 + [90] * 3,
    )
    atoms = cell.repeat((repeat,) * 3)
    atoms.rattle(rattle_A, seed=seed)
    return atoms


def timings(fn, repeats: int, clock=time.perf_counter) -> list[float]:
    """Seconds per call of ``fn`` (``clock``: wall time, or ``time.process_time`` for the CPU
    time of this process, which a shared machine disturbs less)."""
    fn()  # warm up
    out = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def bench_evaluate(potential: Vashishta, atoms: Atoms, repeats: int) -> dict:
    graph = graph_from_atoms([atoms], potential.cutoff_A)
    ts = timings(lambda: evaluate(potential, graph, forces=True, virial=True), repeats)
    cpu = timings(lambda: evaluate(potential, graph), repeats, time.process_time)
    n = len(atoms)
    return {
        "us_per_atom_cpu_time": statistics.median(cpu) / n * 1e6,
        "n_atoms": n,
        "n_edges": int(graph.edge_index.shape[1]),
        "us_per_atom": statistics.median(ts) / n * 1e6,
        "us_per_atom_min": min(ts) / n * 1e6,
    }


def bench_frames(potential: Vashishta, frames: list[Atoms], repeats: int) -> dict:
    def label_all():
        for atoms in frames:
            graph = graph_from_atoms([atoms], potential.cutoff_A)
            ev = evaluate(potential, graph, forces=True, virial=True)
            ev.forces.numpy()

    ts = [t / len(frames) for t in timings(label_all, repeats)]
    cpu = [t / len(frames) for t in timings(label_all, repeats, time.process_time)]
    graph_ts = timings(lambda: graph_from_atoms([frames[0]], potential.cutoff_A), repeats)
    n = len(frames[0])
    return {
        "n_atoms": n,
        "frames_per_s": 1.0 / statistics.median(ts),
        "frames_per_s_max": 1.0 / min(ts),
        "frames_per_s_cpu_time": 1.0 / statistics.median(cpu),
        "atom_steps_per_s": n / statistics.median(ts),
        "neighbour_list_and_graph_ms": statistics.median(graph_ts) * 1e3,
    }


def bench_lammps(atoms: Atoms, steps: int = 100) -> dict | None:
    binary = lammps.lammps_binary()
    if binary is None or not LAMMPS_FILE.is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="mlmd-bench-lammps-") as tmp:
        work = Path(tmp)
        lammps.write_lammps_data(atoms, work / "data.lmp", ["O", "Si"])
        (work / "in.lmp").write_text(
            "\n".join(
                [
                    "units metal",
                    "atom_style atomic",
                    "boundary p p p",
                    "read_data data.lmp",
                    "pair_style vashishta",
                    f"pair_coeff * * {LAMMPS_FILE} O Si",
                    "neighbor 1.0 bin",
                    "neigh_modify every 1 delay 0 check yes",
                    "velocity all create 1000.0 12345 mom yes rot yes",
                    "timestep 0.001",
                    "fix nve all nve",
                    "thermo 50",
                    f"run {steps}",
                    "",
                ]
            )
        )
        subprocess.run(
            [binary, "-in", "in.lmp", "-log", "log.lammps", "-screen", "none", "-nocite"],
            cwd=work,
            capture_output=True,
            text=True,
            env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
            check=True,
        )
        log = (work / "log.lammps").read_text()
    match = re.search(r"Loop time of ([0-9.eE+-]+) on 1 procs for (\d+) steps with (\d+)", log)
    if match is None:
        raise RuntimeError(f"no loop time in the LAMMPS log:\n{log[-2000:]}")
    seconds, n_steps, n_atoms = float(match[1]), int(match[2]), int(match[3])
    share = re.search(r"([0-9.]+)% CPU use", log)
    cpu_seconds = seconds * float(share[1]) / 100 if share else seconds
    return {
        "atom_steps_per_s_cpu_time": n_atoms * n_steps / cpu_seconds,
        "n_atoms": n_atoms,
        "steps": n_steps,
        "loop_time_s": seconds,
        "atom_steps_per_s": n_atoms * n_steps / seconds,
        "version": re.search(r"LAMMPS \((.*?)\)", log)[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--frames", type=int, default=5, help="distinct 3000-atom frames")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    potential = Vashishta()
    out: dict = {
        "benchmark": "teacher (Vashishta NKV1994) on CPU",
        "torch": torch.__version__,
        "threads": args.threads,
        "omp_openblas_threads": [os.environ["OMP_NUM_THREADS"], os.environ["OPENBLAS_NUM_THREADS"]],
        "cpu": platform.processor() or platform.machine(),
        "load_average_before": os.getloadavg()[0],
    }
    out["evaluate"] = [
        bench_evaluate(potential, cristobalite(3, 0.1, seed=1), args.repeats),
        bench_evaluate(potential, cristobalite(5, 0.1, seed=2), args.repeats),
    ]
    frames = [cristobalite(5, 0.1, seed=10 + k) for k in range(args.frames)]
    out["frames"] = bench_frames(potential, frames, max(2, args.repeats // 3))
    lammps = bench_lammps(frames[0])
    out["lammps"] = lammps
    if lammps is not None:
        out["ratio_mlmd_over_lammps"] = (
            out["frames"]["atom_steps_per_s"] / lammps["atom_steps_per_s"]
        )
    out["load_average_after"] = os.getloadavg()[0]
    out["frames"]["meets_10_frames_per_s"] = out["frames"]["frames_per_s"] >= 10.0
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
