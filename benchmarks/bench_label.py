"""Labelling speed: teacher frames/s (3000-atom SiO2), lammps (SW Si, EAM Cu–Zr) and xtb
(GFN1, Si) frames/s at 64–512 atoms, CP2K seconds per structure per preset, and how busy the
cores are when W CP2K workers run. Prints one JSON object.

    python benchmarks/bench_label.py                       # everything (CP2K: many minutes)
    python benchmarks/bench_label.py --skip-cp2k           # teacher, lammps, xtb
    python benchmarks/bench_label.py --only lammps xtb     # the in-process references
    python benchmarks/bench_label.py --presets fast --sizes 24 --workers 2 --ranks 1

Structures: rattled beta-cristobalite (24 atoms per cubic cell, 2.175 g/cm³; 72 = 1×1×3,
3000 = 5×5×5 cells); rattled diamond Si (8 atoms per cubic cell: 64, 216, 512) and fcc
Cu64Zr36 (4 per cell: 108, 256, 500). The lammps and xtb rates are end to end
(``label_dataset``: read, label, bound-check, write). The machine may be shared: the JSON
records the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from ase.build import bulk

from mlmd.data import Dataset, Frame
from mlmd.data.build import sio2_crystal
from mlmd.reference import get_reference, label_dataset
from mlmd.reference.cp2k_settings import load_cp2k_config


def cristobalite(repeat: tuple[int, int, int], n: int, seed: int = 0) -> list[Frame]:
    """``n`` rattled (σ = 0.05 Å) beta-cristobalite supercells."""
    c = sio2_crystal("cristobalite", repeat)
    rng = np.random.default_rng(seed)
    return [
        Frame(c.numbers, c.positions + rng.normal(0, 0.05, c.positions.shape), c.cell, c.pbc)
        for _ in range(n)
    ]


def write_input(path: Path, frames: list[Frame]) -> None:
    Dataset.create(path, {"name": "none"}, overwrite=True).append(frames)


def bench_teacher(tmp: Path, n_frames: int) -> dict:
    """End-to-end ``label_dataset`` rate (read, evaluate, write) on 3000-atom frames, and
    frames per CPU second of this process (all torch threads): on a shared machine the
    wall-clock rate reflects the share of the cores this process got."""
    frames = cristobalite((5, 5, 5), n_frames)
    write_input(tmp / "teacher_in.h5", frames)
    ref = get_reference("teacher")
    ref.label(frames[:2], tmp)  # warm-up (torch, allocator)
    start, cpu0 = time.perf_counter(), time.process_time()
    summary = label_dataset(tmp / "teacher_in.h5", tmp / "teacher_out.h5", ref, progress=False)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    start = time.perf_counter()
    ref.label(frames[:10], tmp)
    compute = (time.perf_counter() - start) / 10
    return {
        "atoms_per_frame": frames[0].n_atoms,
        "frames": n_frames,
        "counts": summary.counts,
        "wall_s": round(wall, 3),
        "frames_per_s": round(n_frames / wall, 2),
        "compute_only_frames_per_s": round(1 / compute, 2),
        "frames_per_cpu_s": round(n_frames / cpu, 2),
        "device": str(ref.device),
        "torch_threads": torch.get_num_threads(),
    }


def crystal(kind: str, n_atoms: int, n: int, seed: int = 0) -> list[Frame]:
    """``n`` rattled (σ = 0.05 Å) cells of diamond Si (``si``) or fcc Cu64Zr36 (``cuzr``)."""
    unit = {"si": 8, "cuzr": 4}[kind]
    repeat = round((n_atoms / unit) ** (1 / 3))
    if kind == "si":
        atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)
    else:
        atoms = bulk("Cu", "fcc", a=3.95, cubic=True).repeat(repeat)
    rng = np.random.default_rng(seed)
    if kind == "cuzr":
        atoms.numbers[rng.permutation(len(atoms))[: round(0.36 * len(atoms))]] = 40
    return [
        Frame(
            atoms.numbers, atoms.positions + rng.normal(0, 0.05, (len(atoms), 3)), atoms.cell, True
        )
        for _ in range(n)
    ]


#: The references of the in-process rate benchmarks: (name, config, structure kind).
IN_PROCESS = {
    "lammps_sw": ("lammps", {"pair_style": "sw", "pair_coeff": ["* * Si.sw Si"]}, "si"),
    "lammps_eam": (
        "lammps",
        {"pair_style": "eam/fs", "pair_coeff": ["* * CuZr_mm.eam.fs Cu Zr"]},
        "cuzr",
    ),
    "xtb_gfn1": ("xtb", {"method": "GFN1-xTB"}, "si"),
}


def bench_rate(tmp: Path, case: str, n_atoms: int, n_frames: int) -> dict:
    """End-to-end ``label_dataset`` frames/s of ``case`` on ``n_atoms``-atom frames, with
    the reference built once (one live LAMMPS instance / tblite per run)."""
    name, config, kind = IN_PROCESS[case]
    frames = crystal(kind, n_atoms, n_frames + 1, seed=n_atoms)
    ref = get_reference(name, config=config)
    ref.label(frames[:1], tmp)  # warm-up (library load, first neighbour list)
    write_input(tmp / f"{case}_{n_atoms}_in.h5", frames[1:])
    start, cpu0 = time.perf_counter(), time.process_time()
    summary = label_dataset(
        tmp / f"{case}_{n_atoms}_in.h5", tmp / f"{case}_{n_atoms}_out.h5", ref, progress=False
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return {
        "case": case,
        "atoms": frames[0].n_atoms,
        "frames": n_frames,
        "counts": summary.counts,
        "wall_s": round(wall, 3),
        "frames_per_s": round(n_frames / wall, 3),
        "frames_per_cpu_s": round(n_frames / cpu, 3),
    }


def _children_cpu_s() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def bench_cp2k(tmp: Path, preset: str, n_atoms: int, n: int, *, workers: int, ranks: int) -> dict:
    """Seconds per structure of ``preset`` for ``n`` structures of ``n_atoms`` atoms, labelled
    ``workers`` at a time with ``ranks`` ranks each; cores busy = CPU time of the CP2K
    processes / (wall × cores). On a shared, oversubscribed machine the wall time is
    inflated; ``cpu_s_per_structure`` / (ranks × threads) estimates the wall time on idle
    cores."""
    repeat = {24: (1, 1, 1), 48: (1, 1, 2), 72: (1, 1, 3), 192: (2, 2, 2)}[n_atoms]
    frames = cristobalite(repeat, n, seed=n_atoms)
    tag = f"{preset}_{n_atoms}_{workers}x{ranks}"
    write_input(tmp / f"{tag}_in.h5", frames)
    cpu0, start = _children_cpu_s(), time.perf_counter()
    summary = label_dataset(
        tmp / f"{tag}_in.h5",
        tmp / f"{tag}_out.h5",
        "cp2k",
        preset=preset,
        ranks=ranks,
        workers=workers,
        progress=False,
    )
    wall = time.perf_counter() - start
    cpu = _children_cpu_s() - cpu0
    rows = [json.loads(x) for x in (tmp / f"{tag}_out.label" / "results.jsonl").open()]
    per = [r["wall_s"] for r in rows]
    cores = os.cpu_count() or 1
    omp = load_cp2k_config(preset=preset)[1].omp_threads
    return {
        "preset": preset,
        "atoms": n_atoms,
        "structures": n,
        "workers": workers,
        "ranks": ranks,
        "counts": summary.counts,
        "s_per_structure_each": [round(x, 1) for x in per],
        "s_per_structure_mean": round(float(np.mean(per)), 1),
        "throughput_s_per_structure": round(wall / n, 1),
        "wall_s": round(wall, 1),
        "cpu_s_per_structure": round(cpu / n, 1),
        "idle_estimate_s_per_structure": round(cpu / n / (ranks * omp), 1),
        "cores_busy_share": round(cpu / (wall * cores), 3),
    }


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=["teacher", "lammps", "xtb", "cp2k"])
    p.add_argument("--teacher-frames", type=int, default=60)
    p.add_argument("--skip-cp2k", action="store_true")
    p.add_argument("--skip-teacher", action="store_true")
    p.add_argument("--lammps-frames", type=int, default=50)
    p.add_argument("--xtb-frames", type=int, default=3)
    p.add_argument("--rate-sizes", nargs="+", type=int, default=[64, 216, 512])
    p.add_argument("--xtb-sizes", nargs="+", type=int, default=[64, 216])
    p.add_argument("--presets", nargs="+", default=["fast", "production"])
    p.add_argument("--sizes", nargs="+", type=int, default=[24, 72])
    p.add_argument("--structures", type=int, default=2, help="CP2K structures per case")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--ranks", type=int, default=2)
    args = p.parse_args()
    if args.only is None:
        args.only = [
            part
            for part, skip in (
                ("teacher", args.skip_teacher),
                ("lammps", False),
                ("xtb", False),
                ("cp2k", args.skip_cp2k),
            )
            if not skip
        ]
    return args


def _rates(tmp: Path, args: argparse.Namespace) -> list[dict]:
    rows = []
    for case in IN_PROCESS:
        if case.split("_")[0] not in args.only:
            continue
        xtb = case.startswith("xtb")
        frames = args.xtb_frames if xtb else args.lammps_frames
        for size in args.xtb_sizes if xtb else args.rate_sizes:
            size = {64: 108, 216: 256, 512: 500}.get(size, size) if "eam" in case else size
            rows.append(bench_rate(tmp, case, size, frames))
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def main() -> None:
    args = _args()
    out: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "load_average_start": os.getloadavg(),
            "platform": platform.platform(),
            "note": "shared machine: other jobs may run concurrently",
        }
    }
    with tempfile.TemporaryDirectory(prefix="bench_label_") as tmp:
        tmp = Path(tmp)
        if "teacher" in args.only:
            out["teacher"] = bench_teacher(tmp, args.teacher_frames)
            print(json.dumps(out["teacher"]), file=sys.stderr)
        if {"lammps", "xtb"} & set(args.only):
            out["rates"] = _rates(tmp, args)
        if "cp2k" in args.only:
            out["cp2k"] = []
            for preset in args.presets:
                for size in args.sizes:
                    row = bench_cp2k(
                        tmp, preset, size, args.structures, workers=args.workers, ranks=args.ranks
                    )
                    out["cp2k"].append(row)
                    print(json.dumps(row), file=sys.stderr)
    out["machine"]["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
