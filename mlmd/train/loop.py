"""Train one ensemble member: AdamW, reduce-on-plateau, EMA, early stopping, gradient
clipping, an atomic checkpoint every epoch and exact resume after a kill.

Determinism: the weights come from ``member_seed``; epoch e shuffles with the generator
seeded (member_seed, e); the bootstrap resample from member_seed. Everything a later epoch
depends on (weights, EMA, optimiser and scheduler state, counters, history) is in the
checkpoint, so an interrupted run resumed from it ends with the same weights as an
uninterrupted one (on the same device and thread count).
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlmd.config import from_mapping, to_mapping
from mlmd.data import Dataset
from mlmd.errors import InputError
from mlmd.potential.export import atomic_save, atomic_write_text, save_member
from mlmd.potential.model import BodyOrderPotential
from mlmd.progress import Progress
from mlmd.runtime import reuse_freed_memory
from mlmd.train.batch import Sample, batches, collate, load_samples, with_edge_terms
from mlmd.train.config import TrainConfig
from mlmd.train.loss import ErrorAccumulator, loss, predict

log = logging.getLogger(__name__)

#: Keys of the training config that may change between a run and its resumption.
RESUMABLE_CHANGES = (
    "epochs",
    "time_budget_s",
    "budget_clock",
    "device",
    "early_stopping_patience",
)


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def split_indices(
    dataset: Dataset, cfg: TrainConfig, member: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) frame indices of ``ok`` frames; train is bootstrap-resampled for
    members > 0 when ``cfg.bootstrap``."""
    ok = dataset.select(status="ok")
    if len(ok) < 3:
        raise InputError(
            f"{len(ok)} frames with status ok; training needs at least 3",
            file=str(dataset.path),
            fix="label more frames (mlmd label) before training",
        )
    train, val, test = dataset.split(tuple(cfg.split), seed=cfg.split_seed, indices=ok)
    if cfg.bootstrap and member > 0:
        rng = np.random.default_rng(cfg.member_seed(member))
        train = np.sort(rng.choice(train, size=len(train), replace=True))
    return train, val, test


def _fit_reference(samples: list[Sample], species: list[int]) -> tuple[np.ndarray, float, float]:
    """Per-element reference energies by least squares (E ≈ Σ_z n_z e0_z), the RMS force
    (the output scale) and the mean neighbour count."""
    counts = np.array(
        [[int((s.graph.numbers == z).sum()) for z in species] for s in samples], dtype=float
    )
    energy = np.array([float(s.energy) for s in samples])
    e0 = np.linalg.lstsq(counts, energy, rcond=None)[0]
    forces = torch.cat([s.forces for s in samples])
    rms = float(forces.pow(2).mean().sqrt()) or 1.0
    edges = sum(s.graph.edge_index.shape[1] for s in samples)
    atoms = sum(s.n_atoms for s in samples)
    return e0, rms, max(edges / atoms, 1.0)


def _load_checkpoint(path: Path, cfg: TrainConfig) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    saved = json.loads(ckpt["train_config"])
    now = to_mapping(cfg)
    differs = sorted(k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k])
    if differs:
        raise InputError(
            f"checkpoint was written with a different training config ({', '.join(differs)})",
            file=str(path),
            fix="use the original config, or a new output directory to start afresh",
        )
    return ckpt


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float, step: int) -> None:
    d = min(decay, (1.0 + step) / (10.0 + step))
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), model.parameters(), strict=True):
            pe.lerp_(p, 1.0 - d)


def evaluate_samples(
    model: torch.nn.Module, samples: list[Sample], cfg: TrainConfig, device: torch.device
) -> tuple[float, ErrorAccumulator]:
    """Mean loss and errors of ``model`` over ``samples`` (no parameter gradients)."""
    acc = ErrorAccumulator()
    total, n = 0.0, 0
    for group in batches(samples, cfg.batch_size):
        b = collate(group, device)
        pred = predict(model, b, training=False)
        total += float(loss(pred, b, cfg).detach()) * len(group)
        n += len(group)
        acc.add(pred, b)
    return total / max(n, 1), acc


def train_member(
    data: str | Path,
    model_dir: str | Path,
    cfg: TrainConfig,
    member: int = 0,
    *,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train member ``member`` on the ``ok`` frames of dataset ``data`` into
    ``model_dir/member_<member>`` and return its metrics (also in ``metrics.json``).

    Resumes from ``checkpoint.pt`` there when present. ``on_epoch_end(epoch, record)`` is
    called after every checkpoint (tests use it to simulate a kill). ``progress`` draws a
    bar with ETA on a terminal's stderr (:mod:`mlmd.progress`).
    """
    from mlmd.train.plots import learning_curve_png, parity_png

    out = Path(model_dir) / f"member_{member}"
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    reuse_freed_memory()
    seed = cfg.member_seed(member)
    torch.manual_seed(seed)
    dataset = Dataset(data)
    train_idx, val_idx, test_idx = split_indices(dataset, cfg, member)
    cutoff = cfg.model.cutoff_A
    base_train = split_indices(dataset, cfg, 0)[0]  # the train split before any bootstrap
    unique = np.union1d(train_idx, base_train)
    cache = dict(zip(unique.tolist(), load_samples(dataset, unique, cutoff), strict=True))
    train = [cache[int(i)] for i in train_idx]
    val = load_samples(dataset, val_idx, cutoff)
    test = load_samples(dataset, test_idx, cutoff)
    val_set = val or train[: max(1, len(train) // 10)]

    e0, rms, _ = _fit_reference(train, cfg.model.species)
    # The neighbour normalisation is architecture, shared by all members so they stack:
    # take it from the train split itself, not this member's bootstrap resample.
    _, _, avg_nb = _fit_reference([cache[int(i)] for i in base_train], cfg.model.species)
    model_cfg = replace(cfg.model, n_members=1, avg_neighbors=round(avg_nb, 3))
    model = BodyOrderPotential(model_cfg, seed=seed).to(device)
    with torch.no_grad():
        model.e0.copy_(torch.as_tensor(e0)[None])
        model.scale.fill_(rms)
    train, val, test = (with_edge_terms(part, model) for part in (train, val, test))
    val_set = val or train[: max(1, len(train) // 10)]
    ema = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=cfg.lr_factor, patience=cfg.lr_patience, min_lr=cfg.min_lr
    )
    state: dict[str, Any] = {
        "epoch": 0, "step": 0, "best_val": float("inf"), "best_epoch": -1,
        "bad_epochs": 0, "train_time_s": 0.0, "history": [],
    }  # fmt: skip
    best_state = {k: v.clone() for k, v in ema.state_dict().items()}
    ckpt_path = out / "checkpoint.pt"
    ckpt = _load_checkpoint(ckpt_path, cfg)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        best_state = ckpt["best"]
        state = json.loads(ckpt["state"])
        log.info("member %d: resumed at epoch %d", member, state["epoch"])
    atomic_write_text(json.dumps(to_mapping(cfg), indent=2), out / "train_config.json")

    stopped = "epochs"
    n_batches = len(batches(train, cfg.batch_size))
    bar = Progress(
        max(cfg.epochs - state["epoch"], 0) * n_batches,
        label=f"train[member {member}]",
        unit="batch",
        enabled=progress,
    )
    while state["epoch"] < cfg.epochs:
        if state["bad_epochs"] >= cfg.early_stopping_patience:
            stopped = "early_stopping"
            break
        if cfg.time_budget_s > 0 and state["train_time_s"] >= cfg.time_budget_s:
            stopped = "time_budget"
            break
        clock = time.process_time if cfg.budget_clock == "cpu" else time.perf_counter
        start = clock()
        epoch = state["epoch"]
        order = np.random.default_rng([seed, epoch]).permutation(len(train))
        model.train()
        train_loss = 0.0
        for group in batches(train, cfg.batch_size, order):
            b = collate(group, device)
            opt.zero_grad(set_to_none=True)
            value = loss(predict(model, b, training=True), b, cfg)
            value.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            state["step"] += 1
            if cfg.ema_decay > 0:
                _ema_update(ema, model, cfg.ema_decay, state["step"])
            else:
                ema.load_state_dict(model.state_dict())
            train_loss += float(value.detach()) * len(group)
            bar.advance()
        val_loss, acc = evaluate_samples(ema, val_set, cfg, device)
        sched.step(val_loss)
        if val_loss < state["best_val"]:
            state.update(best_val=val_loss, best_epoch=epoch, bad_epochs=0)
            best_state = {k: v.detach().clone() for k, v in ema.state_dict().items()}
        else:
            state["bad_epochs"] += 1
        summ = acc.summary()
        record = {
            "epoch": epoch,
            "train_loss": train_loss / len(train),
            "val_loss": val_loss,
            "val_forces_rmse": summ["forces_rmse"],
            "val_energy_per_atom_rmse": summ["energy_per_atom_rmse"],
            "lr": opt.param_groups[0]["lr"],
        }
        state["history"].append(record)
        state["epoch"] = epoch + 1
        state["train_time_s"] += clock() - start
        checkpoint = {
            "model": model.state_dict(),
            "ema": ema.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "best": best_state,
            "state": json.dumps(state),
            "train_config": json.dumps(to_mapping(cfg)),
            "model_config": json.dumps(asdict(model_cfg)),
        }
        atomic_save(checkpoint, ckpt_path)
        log.info(
            "member %d epoch %d: train %.4g val %.4g F_rmse %.4f eV/Å lr %.2g",
            member, epoch, record["train_loss"], val_loss, summ["forces_rmse"], record["lr"],
        )  # fmt: skip
        bar.note = f"epoch {epoch + 1}/{cfg.epochs} val F_rmse {summ['forces_rmse']:.4f} eV/Å"
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    bar.close()

    ema.load_state_dict(best_state)
    ema.eval()
    save_member(ema.cpu(), out)
    ema.to(device)
    metrics: dict[str, Any] = {
        "member": member,
        "epochs": state["epoch"],
        "best_epoch": state["best_epoch"],
        "stopped_by": stopped,
        "train_time_s": state["train_time_s"],
        "budget_clock": cfg.budget_clock,
        "n_train": len(train),
        "n_val": len(val),
        "n_test": len(test),
        "device": str(device),
    }
    for name, part in (("val", val), ("test", test)):
        if part:
            _, acc = evaluate_samples(ema, part, cfg, device)
            metrics[name] = acc.summary()
            if name == "test":
                parity_png(acc, out / "parity_test.png")
    learning_curve_png(state["history"], out / "learning_curve.png")
    atomic_write_text(json.dumps(metrics, indent=2), out / "metrics.json")
    return metrics


def train_config_from(mapping: dict[str, Any], source: str) -> TrainConfig:
    """Strictly parse a ``[train]`` mapping (unknown keys are errors)."""
    return from_mapping(TrainConfig, mapping, source=source)
