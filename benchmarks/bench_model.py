"""Accuracy, uncertainty and speed of the flagship model on teacher-labelled SiO2.

    nice .venv/bin/python benchmarks/bench_model.py [--workdir runs/bench_model]
        [--members 4] [--budget-s 600] [--epochs 200]

Stages (each resumable: files already in the work directory are reused):
1. dataset: ≥ 500 teacher-labelled frames (crystal rattles 300–4000 K with ±4 % strain,
   LAMMPS-Vashishta Langevin melts/glass-like 300–4000 K, 36–192 atoms), plus an
   out-of-distribution set (20 % volume-compressed glass, ~6000 K rattles);
2. trains K members in parallel processes (one thread each), each within ``--budget-s``
   CPU seconds of training (CPU time, not wall time: the machine is shared);
3. evaluates the ensemble on the held-out test split (energy, force, stress errors; Spearman
   correlation of per-frame max force std vs max force error) and on the OOD set;
4. times one member vs the K-member ensemble (evaluate with forces + virial; with the
   per-atom force spread, and mean forces only as MD steps between spread checks use).
Prints one JSON document (also written to WORKDIR/bench_model.json). ``--timing-only``
runs stage 4 alone on freshly initialised members (the cost does not depend on weights).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sio2_teacher_data  # noqa: E402

from mlmd.data.build import random_sio2  # noqa: E402
from mlmd.data.convert import frame_to_atoms  # noqa: E402
from mlmd.potential import evaluate, graph_from_atoms  # noqa: E402
from mlmd.potential.ensemble import member, stack_members  # noqa: E402
from mlmd.potential.export import load_model_dir  # noqa: E402
from mlmd.potential.model import BodyOrderPotential, ModelConfig  # noqa: E402
from mlmd.runtime import reuse_freed_memory  # noqa: E402
from mlmd.train.config import TrainConfig  # noqa: E402
from mlmd.train.loop import train_member  # noqa: E402
from mlmd.train.metrics import errors_on, held_out_indices  # noqa: E402

MODEL = ModelConfig(species=[8, 14], cutoff_A=5.0, n_basis=6, channels=12, hidden=[48, 48],
                    dtype="float32")  # fmt: skip


def train_config(budget_s: float, epochs: int = 200) -> TrainConfig:
    """How every member is trained here (and mlmd's side of bench_mace_accuracy.py)."""
    return TrainConfig(model=MODEL, epochs=epochs, batch_size=4, lr=5e-3,
                       time_budget_s=budget_s, budget_clock="cpu",
                       early_stopping_patience=20)  # fmt: skip


def timing(model: torch.nn.Module, n_atoms: int, repeats: int = 5, spread: bool = True) -> float:
    """Median CPU seconds (this process, all threads) of evaluate(forces, virial) on random
    SiO2 of ``n_atoms``; CPU time rather than wall time because the machine is shared."""
    atoms = frame_to_atoms(random_sio2(n_atoms, 2.2, seed=3))
    graph = graph_from_atoms([atoms], model.cutoff_A)
    for _ in range(2):
        evaluate(model, graph, spread=spread)
    times = []
    for _ in range(repeats):
        t = time.process_time()
        evaluate(model, graph, spread=spread)
        times.append(time.process_time() - t)
    return float(np.median(times))


def ensemble_ratio(models: list[BodyOrderPotential], n_atoms: int) -> dict[str, float]:
    """K-member / single-member evaluation time, interleaved to share machine noise."""
    ens = stack_members(models)
    single = member(ens, 0)
    t1, tk, tm = [], [], []
    for _ in range(2):
        t1.append(timing(single, n_atoms))
        tk.append(timing(ens, n_atoms))
        tm.append(timing(ens, n_atoms, spread=False))
    t1_s, tk_s, tm_s = min(t1), min(tk), min(tm)
    return {
        "n_atoms": n_atoms,
        "single_s": t1_s,
        "ensemble_s": tk_s,
        "ratio": tk_s / t1_s,
        "ensemble_mean_only_s": tm_s,
        "ratio_mean_only": tm_s / t1_s,
        "single_us_per_atom": 1e6 * t1_s / n_atoms,
    }


def _train_one(data: Path, model_dir: Path, cfg: TrainConfig, k: int) -> None:
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    train_member(data, model_dir, cfg, k)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("runs/bench_model"))
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--budget-s", type=float, default=600.0, help="training CPU seconds per member")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timing-only", action="store_true", help="stage 4 only (untrained members)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    reuse_freed_memory()  # what mlmd's MD and training loops do
    if args.timing_only:
        models = [BodyOrderPotential(MODEL, seed=k) for k in range(args.members)]
        result = {
            "timing_float32": [ensemble_ratio(models, n) for n in (192, 1536)],
            "threads": args.threads,
        }
        print(json.dumps(result, indent=2))
        return result
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = sio2_teacher_data.build_dataset(work / "sio2_teacher.h5")
    ood = sio2_teacher_data.build_ood(work / "sio2_ood.h5")
    t_data = time.perf_counter() - t0

    cfg = train_config(args.budget_s, args.epochs)
    model_dir = work / "model"
    todo = [
        k for k in range(args.members) if not (model_dir / f"member_{k}/metrics.json").is_file()
    ]
    t_train = time.perf_counter()
    if todo:  # members in parallel, one thread each (the budget counts CPU seconds)
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(len(todo)) as pool:
            pool.starmap(_train_one, [(data, model_dir, cfg, k) for k in todo])
    t_train = time.perf_counter() - t_train
    member_metrics = [
        json.loads((model_dir / f"member_{k}/metrics.json").read_text())
        for k in range(args.members)
    ]

    ens = load_model_dir(model_dir)
    test_idx = held_out_indices(data, cfg)
    test, _ = errors_on(ens, data, test_idx)
    ood_errors, ood_acc = errors_on(ens, ood)
    single_test, _ = errors_on(member(ens, 0), data, test_idx)
    models = [member(ens, k) for k in range(ens.n_members)]
    f64 = [BodyOrderPotential(replace(m.config, dtype="float64")) for m in models]
    for a, b in zip(f64, models, strict=True):
        a.load_state_dict({k: v.to(torch.float64) if v.is_floating_point() and k != "e0" else v
                           for k, v in b.state_dict().items()})  # fmt: skip
    result = {
        "dataset": {"path": str(data), "build_s": t_data},
        "model": MODEL.__dict__,
        "training_wall_s": t_train,
        "members": [
            {k: m[k] for k in ("member", "epochs", "stopped_by", "train_time_s", "n_train")}
            | {"test_forces_rmse": m["test"]["forces_rmse"]}
            for m in member_metrics
        ],
        "test_ensemble": test,
        "test_member0": single_test,
        "ood": ood_errors,
        "spread_ood_over_test": ood_errors["max_force_std_mean"] / test["max_force_std_mean"],
        "timing_float32": [ensemble_ratio(models, n) for n in (192, 1536)],
        "timing_float64": [ensemble_ratio(f64, 1536)],
        "threads": args.threads,
        "wall_s": time.perf_counter() - t0,
    }
    text = json.dumps(result, indent=2)
    (work / "bench_model.json").write_text(text)
    print(text)
    return result


if __name__ == "__main__":
    main()
