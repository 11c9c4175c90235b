"""mlmd's flagship model vs MACE trained on the same SiO2 data for the same CPU time.

    .venv/bin/python benchmarks/bench_mace_accuracy.py [--workdir runs/bench_mace_accuracy]
        [--budget-s 420] [--mace-sizes small tiny]

1. data: the teacher-labelled set of ``bench_model.py`` (built, or reused from the work
   directory) split as mlmd's trainer splits it; the train and test splits go to extxyz;
2. training, two jobs at a time, one thread each, ``--budget-s`` CPU seconds each: one mlmd
   member exactly as ``bench_model.py`` trains it, and one MACE model per size
   (``mace_train_worker.py`` in MACE's venv: see ``bench_mace.py`` for its set-up);
3. both evaluated on the same held-out test frames: energy/atom and force RMSE, and CPU
   seconds per atom of energy + forces in batches of 4 test frames (one thread).
Prints one JSON document (also WORKDIR/bench_mace_accuracy.json) with the ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import torch
from ase.io import write

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sio2_teacher_data  # noqa: E402
from bench_model import _train_one, train_config  # noqa: E402

from mlmd.data import Dataset  # noqa: E402
from mlmd.data.convert import frame_to_atoms  # noqa: E402
from mlmd.potential import evaluate, graph_from_frames  # noqa: E402
from mlmd.potential.export import load_model_dir  # noqa: E402

HERE = Path(__file__).resolve().parent


# positional: called through Pool.starmap with one tuple per job
def _mace_job(python: str, train: Path, test: Path, size: str, budget: float, out: Path):  # noqa: PLR0917
    cmd = [python, str(HERE / "mace_train_worker.py"), str(train), str(test),
           "--size", size, "--budget-s", str(budget), "--out", str(out)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"MACE {size} failed: {run.stderr.strip()[-2000:]}")


def _job(kind: str, *args) -> None:
    if kind == "mlmd":
        _train_one(*args)
    else:
        _mace_job(*args)


def mlmd_cpu_per_atom(model_dir: Path, frames: list) -> float:
    """CPU seconds per atom of energy + forces over ``frames`` in batches of 4, one thread."""
    torch.set_num_threads(1)
    model = load_model_dir(model_dir)
    graphs = [
        graph_from_frames(frames[k : k + 4], model.cutoff_A) for k in range(0, len(frames), 4)
    ]
    evaluate(model, graphs[0], virial=False)
    start = time.process_time()
    for graph in graphs:
        evaluate(model, graph, virial=False)
    return (time.process_time() - start) / sum(len(f.numbers) for f in frames)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("runs/bench_mace_accuracy"))
    ap.add_argument("--budget-s", type=float, default=420.0, help="training CPU s per model")
    ap.add_argument("--mace-sizes", nargs="+", default=["small", "tiny"])
    ap.add_argument("--mace-python", default=str(HERE / ".venv-mace" / "bin" / "python"))
    args = ap.parse_args(argv)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    data = sio2_teacher_data.build_dataset(work / "sio2_teacher.h5")
    cfg = train_config(args.budget_s)
    dataset = Dataset(data)
    train_idx, _, test_idx = dataset.split(
        tuple(cfg.split), seed=cfg.split_seed, indices=dataset.select(status="ok")
    )
    paths = {"train": work / "train.xyz", "test": work / "test.xyz"}
    for name, idx in (("train", train_idx), ("test", test_idx)):
        write(paths[name], [frame_to_atoms(dataset[int(i)]) for i in idx])

    model_dir = work / "mlmd_model"
    jobs = []
    if not (model_dir / "member_0" / "metrics.json").is_file():
        jobs.append(("mlmd", data, model_dir, cfg, 0))
    for size in args.mace_sizes:
        out = work / f"mace_{size}.json"
        if not out.is_file():
            jobs.append(("mace", args.mace_python, paths["train"], paths["test"], size,
                         args.budget_s, out))  # fmt: skip
    t0 = time.perf_counter()
    if jobs:
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            pool.starmap(_job, jobs)
    ours = json.loads((model_dir / "member_0" / "metrics.json").read_text())
    test_frames = [dataset[int(i)] for i in test_idx]
    ours_cpu = mlmd_cpu_per_atom(model_dir, test_frames)
    result = {
        "dataset": {"path": str(data), "n_train": len(train_idx), "n_test": len(test_idx)},
        "budget_cpu_s": args.budget_s,
        "mlmd": {
            "epochs": ours["epochs"],
            "train_cpu_s": ours["train_time_s"],
            "test": {k: ours["test"][k] for k in ("energy_per_atom_rmse", "forces_rmse")},
            "cpu_s_per_atom": ours_cpu,
        },
        "mace": {},
        "wall_s": time.perf_counter() - t0,
    }
    for size in args.mace_sizes:
        mace = json.loads((work / f"mace_{size}.json").read_text())
        result["mace"][size] = mace
        result[f"forces_rmse_mlmd_over_mace_{size}"] = (
            ours["test"]["forces_rmse"] / mace["test"]["forces_rmse"]
        )
        result[f"speed_mlmd_over_mace_{size}"] = mace["test"]["cpu_s_per_atom"] / ours_cpu
    text = json.dumps(result, indent=2)
    (work / "bench_mace_accuracy.json").write_text(text)
    print(text)
    return result


if __name__ == "__main__":
    main()
