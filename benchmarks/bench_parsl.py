"""Workflow overheads on a site: Parsl task latency/throughput and cores busy while labelling.

    .venv/bin/python benchmarks/bench_parsl.py [--site sites/local.toml] [--frames 4]
        [--reference cp2k] [--run-dir runs/bench_parsl]

Prints JSON: the round-trip latency of a trivial task submitted one at a time, the time per
task when 500 are in flight, and the share of the machine's cores busy (from /proc/stat via
psutil, sampled every 0.5 s) while the ``label`` app labels ``--frames`` 24-atom SiO2 cells.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

import parsl
import psutil
from parsl import python_app

from apps import bindings, tasks
from apps.parsl_config import parsl_config
from mlmd.sites import load_site

ROOT = Path(__file__).resolve().parents[1]


def trivial(x: int) -> int:
    return x


class CpuSampler:
    """Mean whole-machine CPU utilisation (0–1) between start() and stop()."""

    def __init__(self, period_s: float = 0.5):
        self.period_s, self.samples, self._stop = period_s, [], threading.Event()

    def _run(self) -> None:
        psutil.cpu_percent(None)
        while not self._stop.wait(self.period_s):
            self.samples.append(psutil.cpu_percent(None) / 100.0)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "sites/local.toml")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs/bench_parsl")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--reference", default="cp2k", choices=("cp2k", "teacher"))
    args = parser.parse_args()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    site = load_site(args.site)
    result: dict = {"site": str(args.site), "cores": psutil.cpu_count()}
    with parsl.load(parsl_config([site], args.run_dir)):
        app = python_app(trivial, executors=["analysis"])
        app(0).result()  # workers started
        latencies = []
        for i in range(100):
            t0 = time.perf_counter()
            app(i).result()
            latencies.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        [f.result() for f in [app(i) for i in range(500)]]
        result["task_latency_ms_median"] = 1e3 * statistics.median(latencies)
        result["task_throughput_ms_per_task"] = 1e3 * (time.perf_counter() - t0) / 500

        start = args.run_dir / "start.h5"
        tasks.build_start_frames(str(start), "small", args.frames, seed=7)
        out = args.run_dir / f"labelled-{time.time_ns()}.h5"
        dft = site.workload("dft")
        with CpuSampler() as cpu:
            t0 = time.perf_counter()
            summary = bindings.label(
                str(start),
                str(out),
                args.reference,
                "fast",
                dft.launcher or "auto",
                dft.ranks_per_task,
                1,
            ).result()
            wall = time.perf_counter() - t0
        result["label"] = {
            "reference": args.reference,
            "frames": args.frames,
            "wall_s": round(wall, 1),
            "cores_busy_share": round(statistics.mean(cpu.samples), 3) if cpu.samples else None,
            "counts": summary["counts"],
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
