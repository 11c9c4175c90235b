"""Train one MACE model for a fixed CPU-time budget and report its test errors (JSON).

Runs in MACE's own venv (see bench_mace.py), never imports mlmd:

    benchmarks/.venv-mace/bin/python benchmarks/mace_train_worker.py TRAIN.xyz TEST.xyz \
        --size small --budget-s 420 --out result.json

The loop is the textbook one, chosen to match mlmd's trainer: per-element reference energies
by least squares, loss 10·(ΔE/N)² + mean|ΔF|² (mlmd's default weights), Adam (AMSGrad, as
MACE's own trainer) with reduce-on-plateau of the epoch loss, batches of 4 frames, float32,
one thread. The clock is this process's CPU time; the budget is checked after every batch.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

# e3nn 0.4.4 torch.load()s its constants.pt, which holds `slice` objects (no code runs)
torch.serialization.add_safe_globals([slice])

from ase.io import read  # noqa: E402
from e3nn import o3  # noqa: E402
from mace import data, modules, tools  # noqa: E402
from mace.tools import torch_geometric  # noqa: E402

SPECIES = [8, 14]
SIZES = {  # hidden irreps, max_ell, correlation; both with 2 interactions and r_max 5 Å
    "small": ("64x0e + 64x1o", 3, 3),  # MACE-small-like, as timed in bench_mace.py
    "tiny": ("16x0e + 16x1o", 2, 3),
}


def load(path: str, z_table) -> list[tuple]:
    """(AtomicData, energy eV, forces [n, 3] eV/Å) per structure of an extxyz file."""
    out = []
    for atoms in read(path, ":"):
        config = data.config_from_atoms(atoms)
        item = data.AtomicData.from_config(config, z_table=z_table, cutoff=5.0)
        energy = float(atoms.get_potential_energy())
        forces = torch.tensor(atoms.get_forces(), dtype=torch.float32)
        out.append((item, energy, forces, atoms.numbers.copy()))
    return out


def reference_energies(frames: list[tuple]) -> tuple[np.ndarray, float, float]:
    """Least-squares E0 per element, mean per-atom residual (shift), force RMS (scale)."""
    counts = np.array([[np.sum(z == s) for s in SPECIES] for _, _, _, z in frames], float)
    energies = np.array([e for _, e, _, _ in frames])
    e0, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    residual = (energies - counts @ e0) / counts.sum(1)
    force_rms = float(torch.cat([f.flatten() for _, _, f, _ in frames]).pow(2).mean().sqrt())
    return e0, float(residual.mean()), force_rms


def batch_of(frames: list[tuple]) -> tuple[dict, torch.Tensor, torch.Tensor, torch.Tensor]:
    items = [f[0] for f in frames]
    batch = torch_geometric.batch.Batch.from_data_list(items).to_dict()
    energy = torch.tensor([f[1] for f in frames], dtype=torch.float32)
    forces = torch.cat([f[2] for f in frames])
    n_atoms = torch.tensor([len(f[3]) for f in frames], dtype=torch.float32)
    return batch, energy, forces, n_atoms


def build_model(size: str, e0: np.ndarray, shift: float, scale: float, avg_nb: float):
    hidden, max_ell, correlation = SIZES[size]
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    return modules.ScaleShiftMACE(
        r_max=5.0, num_bessel=8, num_polynomial_cutoff=5, max_ell=max_ell,
        interaction_cls=block, interaction_cls_first=block, num_interactions=2,
        num_elements=len(SPECIES), hidden_irreps=o3.Irreps(hidden),
        MLP_irreps=o3.Irreps("16x0e"), gate=torch.nn.functional.silu, atomic_energies=e0,
        avg_num_neighbors=avg_nb, atomic_numbers=SPECIES, correlation=correlation,
        atomic_inter_scale=scale, atomic_inter_shift=shift,
    )  # fmt: skip


def errors(model, frames: list[tuple]) -> dict[str, float]:
    """Energy-per-atom and force-component RMSE (eV/atom, eV/Å) on ``frames``, and the CPU
    seconds per atom of energy + forces (batches of 4 frames)."""
    batches = [batch_of(frames[k : k + 4]) for k in range(0, len(frames), 4)]
    de, df, cpu = [], [], 0.0
    for batch, energy, forces, n_atoms in batches:
        start = time.process_time()
        out = model(batch, training=False, compute_force=True)
        cpu += time.process_time() - start
        de.append(((out["energy"].detach() - energy) / n_atoms).numpy())
        df.append((out["forces"].detach() - forces).numpy().ravel())
    de, df = np.concatenate(de), np.concatenate(df)
    return {
        "energy_per_atom_rmse": float(np.sqrt(np.mean(de**2))),
        "forces_rmse": float(np.sqrt(np.mean(df**2))),
        "n_frames": len(frames),
        "cpu_s_per_atom": cpu / sum(len(f[3]) for f in frames),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--budget-s", type=float, default=420.0)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(args.seed)
    z_table = tools.AtomicNumberTable(SPECIES)
    train, test = load(args.train, z_table), load(args.test, z_table)
    e0, shift, scale = reference_energies(train)
    avg_nb = float(np.mean([f[0].edge_index.shape[1] / len(f[3]) for f in train]))
    model = build_model(args.size, e0, shift, scale, avg_nb)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, amsgrad=True)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.8, patience=5)
    rng = np.random.default_rng(args.seed)
    start, epochs, steps, done = time.process_time(), 0, 0, False
    while not done:
        order, epoch_loss = rng.permutation(len(train)), 0.0
        for k in range(0, len(order), 4):
            batch, energy, forces, n_atoms = batch_of([train[i] for i in order[k : k + 4]])
            out = model(batch, training=True, compute_force=True)
            loss = (
                10.0 * (((out["energy"] - energy) / n_atoms) ** 2).mean()
                + ((out["forces"] - forces) ** 2).sum(-1).mean()
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            steps, epoch_loss = steps + 1, epoch_loss + float(loss.detach())
            if time.process_time() - start >= args.budget_s:
                done = True
                break
        else:
            epochs += 1
            sched.step(epoch_loss)
    train_s = time.process_time() - start
    result = {
        "size": args.size,
        "hidden_irreps": SIZES[args.size][0],
        "parameters": sum(p.numel() for p in model.parameters()),
        "budget_cpu_s": args.budget_s,
        "train_cpu_s": train_s,
        "epochs_completed": epochs,
        "optimizer_steps": steps,
        "n_train": len(train),
        "test": errors(model, test),
    }
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
