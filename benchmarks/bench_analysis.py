"""Benchmark ``mlmd analyze``: a 3000-atom, 100-frame SiO2 trajectory and a 100k-atom frame.

Prints one JSON object. Each case is timed as the wall time of the ``mlmd analyze`` command
(a fresh Python process, imports included) plus the per-pass times from its summary.json.

    .venv/bin/python benchmarks/bench_analysis.py [--threads N ...] [--keep DIR]

The trajectories are synthetic (mlmd H5MD format): a randomly inserted SiO2 glass at
2.20 g/cm³ that vibrates and diffuses (tests/analysis/trajectories.py), and alpha-quartz
22×22×23 (100,188 atoms) with 0.1 Å thermal displacements. ``--threads`` runs each case once
per value of the direct S(Q)'s torch thread count ("default" = no flag, i.e. 1 thread).
The load average before and after each case is recorded: the machine here is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.analysis.trajectories import quartz, synthetic_sio2_trajectory, write_h5md  # noqa: E402


def run_analyze(traj: Path, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "mlmd.cli", "analyze", str(traj), "-o", str(out), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    summary = json.loads((out / "summary.json").read_text())
    return {
        "command": "mlmd analyze " + " ".join([traj.name, "-o", out.name, *extra]),
        "wall_s": round(wall, 2),
        "timings_s": {k: round(v, 2) for k, v in summary["timings_s"].items()},
        "load_average_before_after": None,
        "direct_sq_stride": summary.get("structure_factor", {})
        .get("direct (reciprocal vectors)", {})
        .get("sublattice_stride"),
        "plots": len(summary["plots"]),
    }


def timed(traj: Path, out: Path, extra: list[str]) -> dict:
    before = os.getloadavg()[0]
    result = run_analyze(traj, out, extra)
    result["load_average_before_after"] = [round(before, 2), round(os.getloadavg()[0], 2)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", nargs="+", default=["default"])
    parser.add_argument("--keep", help="write trajectories and outputs here (default: temp)")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-analysis-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "benchmark": "mlmd analyze",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "cases": {},
    }

    t0 = time.perf_counter()
    traj = synthetic_sio2_trajectory(work / "sio2_3000x100.h5", 1000, 100, seed=0)
    gen = time.perf_counter() - t0
    for threads in args.threads:
        extra = [] if threads == "default" else ["--threads", threads]
        name = f"sio2_3000_atoms_100_frames_threads_{threads}"
        case = timed(traj, work / f"out_3000_{threads}", extra)
        case["trajectory_generation_s"] = round(gen, 2)
        case["target_s"] = 60
        report["cases"][name] = case

    t0 = time.perf_counter()
    atoms = quartz((22, 22, 23))
    rng = np.random.default_rng(0)
    pos = atoms.positions + rng.normal(0.0, 0.1, atoms.positions.shape)
    big = write_h5md(work / "quartz_100k.h5", pos[None], atoms.cell.array, atoms.numbers)
    gen = time.perf_counter() - t0
    for threads in args.threads:
        extra = ["--what", "rdf", "coordination", "angles", "sq"]
        extra += [] if threads == "default" else ["--threads", threads]
        case = timed(big, work / f"out_100k_{threads}", extra)
        case["n_atoms"] = len(atoms)
        case["trajectory_generation_s"] = round(gen, 2)
        report["cases"][f"quartz_{len(atoms)}_atoms_1_frame_threads_{threads}"] = case
        # the O(N) per-frame part alone (no direct S(Q))
        case = timed(big, work / f"out_100k_nodirect_{threads}", extra + ["--direct-frames", "0"])
        report["cases"][f"quartz_{len(atoms)}_atoms_1_frame_no_direct_sq_threads_{threads}"] = case
    report["work_dir"] = str(work)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
