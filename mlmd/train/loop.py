"""Train one ensemble member: AdamW, reduce-on-plateau, EMA, early stopping, gradient
clipping, an atomic checkpoint every epoch and exact resume after a kill.

The phases of :func:`train_member`, each its own function: :func:`prepare_member` (the
split's samples, :func:`mlmd.train.setup.load_splits`; the model with its species from the
data and its reference energies fitted, :func:`mlmd.train.setup.init_model`; what stays
fixed travels as a :class:`MemberJob`), set up or restore the optimiser state
(:func:`start_or_resume`), run epochs (:func:`run_epoch`, :func:`end_epoch`) until a stop
reason (:func:`stop_reason`), then save the best weights and the metrics (:func:`finish`).

Determinism: the weights come from ``member_seed``; epoch e shuffles with the generator
seeded (member_seed, e); the bootstrap resample from member_seed. Everything a later epoch
depends on (weights, EMA, optimiser and scheduler state, :class:`TrainState`) is in the
checkpoint, so an interrupted run resumed from it ends with the same weights as an
uninterrupted one (on the same device and thread count).
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlmd.atomic import write_text
from mlmd.config import from_mapping, to_mapping
from mlmd.data import Dataset
from mlmd.errors import InputError
from mlmd.potential.export import save_member, torch_load, torch_save
from mlmd.potential.model import BodyOrderPotential
from mlmd.progress import Progress
from mlmd.runtime import reuse_freed_memory
from mlmd.train.batch import Sample, batches, collate, with_edge_terms
from mlmd.train.config import TrainConfig
from mlmd.train.loss import ErrorAccumulator, loss, predict
from mlmd.train.setup import Splits, init_model, load_splits, resolve_device, split_indices

__all__ = ["TrainState", "resolve_device", "split_indices", "train_config_from", "train_member"]

log = logging.getLogger(__name__)

#: Keys of the training config that may change between a run and its resumption.
RESUMABLE_CHANGES = (
    "epochs",
    "time_budget_s",
    "budget_clock",
    "device",
    "early_stopping_patience",
)


@dataclass
class TrainState:
    """The counters of a training run (stored in the checkpoint as JSON).

    Attributes:
        epoch: epochs finished. step: optimiser steps taken.
        best_val, best_epoch: lowest validation loss so far and its epoch.
        bad_epochs: epochs since the last improvement (early stopping).
        train_time_s: training seconds on the config's budget clock.
        history: one record per epoch (losses, validation errors, learning rate).
    """

    epoch: int = 0
    step: int = 0
    best_val: float = float("inf")
    best_epoch: int = -1
    bad_epochs: int = 0
    train_time_s: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class MemberJob:
    """What stays fixed while one member trains: its config, seed, device, samples and
    output directory (``model_dir/member_<member>``)."""

    cfg: TrainConfig
    member: int
    seed: int
    device: torch.device
    splits: Splits
    out: Path

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"


@dataclass
class Trainer:
    """What one member's training changes: the model, its EMA, optimiser and counters."""

    model: BodyOrderPotential
    ema: BodyOrderPotential
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.ReduceLROnPlateau
    best: dict[str, torch.Tensor]
    state: TrainState


def _load_checkpoint(path: Path, cfg: TrainConfig) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    ckpt = torch_load(path, "training checkpoint")
    try:
        saved = json.loads(ckpt["train_config"])
        ckpt["state"] = TrainState(**json.loads(ckpt["state"]))
        assert all(k in ckpt for k in ("model", "ema", "optimizer", "scheduler", "best"))
    except (KeyError, TypeError, ValueError, AssertionError):
        raise InputError(
            "not a training checkpoint of mlmd (keys missing or unreadable)",
            file=str(path),
            fix="delete it to train this member afresh",
        ) from None
    now = to_mapping(cfg)
    differs = sorted(k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k])
    if differs:
        raise InputError(
            f"checkpoint was written with a different training config ({', '.join(differs)})",
            file=str(path),
            fix="use the original config, or a new output directory to start afresh",
        )
    return ckpt


def start_or_resume(model: BodyOrderPotential, cfg: TrainConfig, ckpt_path: Path) -> Trainer:
    """The optimiser state of a fresh run, or of the checkpoint at ``ckpt_path``."""
    ema = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=cfg.lr_factor, patience=cfg.lr_patience, min_lr=cfg.min_lr
    )
    best = {k: v.clone() for k, v in ema.state_dict().items()}
    trainer = Trainer(model, ema, opt, sched, best, TrainState())
    ckpt = _load_checkpoint(ckpt_path, cfg)
    if ckpt is None:
        return trainer
    try:
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise InputError(
            f"checkpoint does not fit this model ({str(exc).splitlines()[0][:120]})",
            file=str(ckpt_path),
            fix="delete it to train this member afresh",
        ) from None
    trainer.best, trainer.state = ckpt["best"], ckpt["state"]
    return trainer


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


def run_epoch(t: Trainer, job: MemberJob, bar: Progress) -> float:
    """One pass over the train samples in the epoch's seeded order; the mean train loss."""
    cfg, train = job.cfg, job.splits.train
    order = np.random.default_rng([job.seed, t.state.epoch]).permutation(len(train))
    t.model.train()
    total = 0.0
    for group in batches(train, cfg.batch_size, order):
        b = collate(group, job.device)
        t.opt.zero_grad(set_to_none=True)
        value = loss(predict(t.model, b, training=True), b, cfg)
        value.backward()
        torch.nn.utils.clip_grad_norm_(t.model.parameters(), cfg.grad_clip)
        t.opt.step()
        t.state.step += 1
        if cfg.ema_decay > 0:
            _ema_update(t.ema, t.model, cfg.ema_decay, t.state.step)
        else:
            t.ema.load_state_dict(t.model.state_dict())
        total += float(value.detach()) * len(group)
        bar.advance()
    return total / len(train)


def end_epoch(t: Trainer, job: MemberJob, train_loss: float) -> dict[str, float]:
    """Validate the EMA weights, step the scheduler, keep the best; the epoch's record."""
    val_loss, acc = evaluate_samples(t.ema, job.splits.val_or_train, job.cfg, job.device)
    t.sched.step(val_loss)
    s = t.state
    if val_loss < s.best_val:
        s.best_val, s.best_epoch, s.bad_epochs = val_loss, s.epoch, 0
        t.best = {k: v.detach().clone() for k, v in t.ema.state_dict().items()}
    else:
        s.bad_epochs += 1
    summ = acc.summary()
    record = {
        "epoch": s.epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "val_forces_rmse": summ["forces_rmse"],
        "val_energy_per_atom_rmse": summ["energy_per_atom_rmse"],
        "lr": t.opt.param_groups[0]["lr"],
    }
    s.history.append(record)
    s.epoch += 1
    return record


def save_checkpoint(t: Trainer, cfg: TrainConfig, path: Path) -> None:
    """Everything a later epoch depends on, atomically."""
    checkpoint = {
        "model": t.model.state_dict(),
        "ema": t.ema.state_dict(),
        "optimizer": t.opt.state_dict(),
        "scheduler": t.sched.state_dict(),
        "best": t.best,
        "state": json.dumps(asdict(t.state)),
        "train_config": json.dumps(to_mapping(cfg)),
        "model_config": json.dumps(asdict(t.model.config)),
    }
    torch_save(path, checkpoint)


def stop_reason(state: TrainState, cfg: TrainConfig) -> str | None:
    """Why training stops before the next epoch (None: it goes on)."""
    if state.epoch >= cfg.epochs:
        return "epochs"
    if state.bad_epochs >= cfg.early_stopping_patience:
        return "early_stopping"
    if cfg.time_budget_s > 0 and state.train_time_s >= cfg.time_budget_s:
        return "time_budget"
    return None


def finish(t: Trainer, job: MemberJob, stopped: str) -> dict[str, Any]:
    """Save the best EMA weights, plots and ``metrics.json``; return the metrics."""
    from mlmd.train.plots import learning_curve_png, parity_png

    cfg, splits, out, device = job.cfg, job.splits, job.out, job.device
    ema = t.ema
    ema.load_state_dict(t.best)
    ema.eval()
    save_member(ema.cpu(), out)
    ema.to(device)
    metrics: dict[str, Any] = {
        "member": job.member,
        "epochs": t.state.epoch,
        "best_epoch": t.state.best_epoch,
        "stopped_by": stopped,
        "train_time_s": t.state.train_time_s,
        "budget_clock": cfg.budget_clock,
        "n_train": len(splits.train),
        "n_val": len(splits.val),
        "n_test": len(splits.test),
        "species": list(ema.species),
        "device": str(device),
    }
    for name, part in (("val", splits.val), ("test", splits.test)):
        if part:
            _, acc = evaluate_samples(ema, part, cfg, device)
            metrics[name] = acc.summary()
            if name == "test":
                parity_png(acc, out / "parity_test.png")
    learning_curve_png(t.state.history, out / "learning_curve.png")
    write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


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

    The model's species are the elements of the data (or ``cfg.model.species``, which must
    cover them). Resumes from ``checkpoint.pt`` there when present. ``on_epoch_end(epoch,
    record)`` is called after every checkpoint (tests use it to simulate a kill).
    ``progress`` draws a bar with ETA on a terminal's stderr (:mod:`mlmd.progress`).
    """
    job, model = prepare_member(data, model_dir, cfg, member)
    t = start_or_resume(model, cfg, job.checkpoint_path)
    if t.state.epoch:
        log.info("member %d: resumed at epoch %d", member, t.state.epoch)
    write_text(job.out / "train_config.json", json.dumps(to_mapping(cfg), indent=2))
    clock = time.process_time if cfg.budget_clock == "cpu" else time.perf_counter
    n_batches = len(batches(job.splits.train, cfg.batch_size))
    left = max(cfg.epochs - t.state.epoch, 0) * n_batches
    with Progress(left, f"train[member {member}]", unit="batch", enabled=progress) as bar:
        while (stopped := stop_reason(t.state, cfg)) is None:
            start = clock()
            record = end_epoch(t, job, run_epoch(t, job, bar))
            t.state.train_time_s += clock() - start
            save_checkpoint(t, cfg, job.checkpoint_path)
            _report_epoch(job, record, bar)
            if on_epoch_end is not None:
                on_epoch_end(record["epoch"], record)
    return finish(t, job, stopped)


def prepare_member(
    data: str | Path, model_dir: str | Path, cfg: TrainConfig, member: int
) -> tuple[MemberJob, BodyOrderPotential]:
    """The member's job (seeded, its samples with the model's edge terms, its directory
    made) and its fresh model (species from the data, reference energies fitted)."""
    device = resolve_device(cfg.device)
    reuse_freed_memory()
    seed = cfg.member_seed(member)
    torch.manual_seed(seed)
    splits = load_splits(Dataset(data), cfg, member)
    out = Path(model_dir) / f"member_{member}"
    out.mkdir(parents=True, exist_ok=True)
    model = init_model(cfg, splits, seed, device, member)
    splits.train, splits.val, splits.test = (
        with_edge_terms(part, model) for part in (splits.train, splits.val, splits.test)
    )
    return MemberJob(cfg, member, seed, device, splits, out), model


def _report_epoch(job: MemberJob, record: dict[str, float], bar: Progress) -> None:
    """The epoch's log line and the bar's note."""
    log.info(
        "member %d epoch %d: train %.4g val %.4g F_rmse %.4f eV/Å lr %.2g", job.member,
        record["epoch"], record["train_loss"], record["val_loss"], record["val_forces_rmse"],
        record["lr"],
    )  # fmt: skip
    bar.note = f"epoch {record['epoch'] + 1}/{job.cfg.epochs} val F_rmse "
    bar.note += f"{record['val_forces_rmse']:.4f} eV/Å"


def train_config_from(mapping: dict[str, Any], source: str) -> TrainConfig:
    """Strictly parse a ``[train]`` mapping (unknown keys are errors)."""
    return from_mapping(TrainConfig, mapping, source=source)
