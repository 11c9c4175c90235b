"""Dataset and builder speed; prints one JSON object.

    python benchmarks/bench_data.py [--frames 10000] [--atoms 200] [--dir DIR]

- ``build_random_sio2_3000_s``: ``random_sio2(3000, 2.2)`` wall time (best of 3 seeds);
- ``append``: seconds per ``Dataset.append`` call of ``--batch`` frames, at growing file
  sizes (copy-on-write: the cost grows with the file);
- ``read``: frames/s iterating the whole file, and for random ``ds[i]`` access;
- ``extxyz_export_frames_per_s``: full-precision extxyz writing.
``--dir`` puts the files on the filesystem you want to measure (default: a temp dir).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from mlmd.data import Dataset, Frame, random_sio2, write_extxyz


def _frames(start: int, count: int, n_atoms: int) -> list[Frame]:
    rng = np.random.default_rng(start)
    out = []
    for i in range(start, start + count):
        f = Frame(
            numbers=np.where(np.arange(n_atoms) % 3 == 0, 14, 8),
            positions=rng.random((n_atoms, 3)) * 14.0,
            cell=np.eye(3) * 14.0,
            pbc=True,
            source=f"bench:{i}",
        )
        out.append(
            f.with_labels(
                energy=-7.0 * n_atoms,
                forces=rng.normal(size=(n_atoms, 3)),
                stress=np.eye(3) * 1e-3,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--atoms", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()

    result: dict[str, object] = {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "frames": args.frames,
        "atoms_per_frame": args.atoms,
    }
    times = []
    for seed in range(3):
        t = time.perf_counter()
        random_sio2(3000, 2.2, seed=seed)
        times.append(time.perf_counter() - t)
    result["build_random_sio2_3000_s"] = round(min(times), 3)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "bench.h5"
        ds = Dataset.create(path, {"name": "bench"})
        checkpoints = sorted({max(1, args.frames // 10), args.frames // 3, args.frames})
        append_rows = []
        n = 0
        for target in checkpoints:
            while n < target - 3 * args.batch:  # grow in big batches (not timed)
                step = min(2000, target - 3 * args.batch - n)
                ds.append(_frames(n, step, args.atoms))
                n += step
            calls = []
            for _ in range(3):  # median of three appends at about this size
                batch = _frames(n, args.batch, args.atoms)
                t = time.perf_counter()
                ds.append(batch)
                calls.append(time.perf_counter() - t)
                n += args.batch
            append_rows.append(
                {
                    "frames_after": n,
                    "file_MB": round(path.stat().st_size / 1e6, 1),
                    "s_per_append_median": round(float(np.median(calls)), 4),
                    "batch": args.batch,
                }
            )
        result["append"] = append_rows

        ds = Dataset(path)
        t = time.perf_counter()
        count = sum(1 for _ in ds)
        result["read_iter_frames_per_s"] = round(count / (time.perf_counter() - t))
        idx = np.random.default_rng(0).integers(0, len(ds), 500)
        t = time.perf_counter()
        for i in idx:
            ds[int(i)]
        result["read_random_frames_per_s"] = round(len(idx) / (time.perf_counter() - t))
        t = time.perf_counter()
        m = min(1000, len(ds))
        write_extxyz((ds[i] for i in range(m)), Path(tmp) / "out.extxyz")
        result["extxyz_export_frames_per_s"] = round(m / (time.perf_counter() - t))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
