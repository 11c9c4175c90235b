"""Errors of a trained (ensemble) potential on a dataset, and how well its spread ranks them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from mlmd.data import Dataset
from mlmd.progress import Progress
from mlmd.train.batch import batches, collate, load_samples
from mlmd.train.config import TrainConfig
from mlmd.train.loss import ErrorAccumulator, predict


def errors_on(
    potential: torch.nn.Module,
    data: str | Path,
    indices: Sequence[int] | None = None,
    *,
    batch_size: int = 4,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> tuple[dict[str, Any], ErrorAccumulator]:
    """MAE/RMSE of energy/atom (eV), forces (eV/Å), stress (GPa) on the ``ok`` frames
    ``indices`` (default: all ok frames) of ``data``; for ensembles also the spread:
    mean/max per-frame max force std (eV/Å) and the Spearman correlation between per-frame
    max force std and max force error. ``progress`` draws a bar on a terminal's stderr."""
    dataset = Dataset(data)
    ok = dataset.select(status="ok")
    chosen = ok if indices is None else [i for i in indices if i in set(ok)]
    samples = load_samples(dataset, chosen, float(potential.cutoff_A))
    acc = ErrorAccumulator()
    with Progress(len(samples), label="evaluate", unit="frame", enabled=progress) as bar:
        for group in batches(samples, batch_size):
            acc.add(predict(potential, collate(group, device), training=False), collate(group))
            bar.advance(len(group))
    out: dict[str, Any] = acc.summary()
    if acc.max_f_std:
        std, err = np.array(acc.max_f_std), np.array(acc.max_f_err)
        out["max_force_std_mean"] = float(std.mean())
        out["max_force_std_max"] = float(std.max())
        rho = spearmanr(std, err).statistic if len(std) > 2 else float("nan")
        out["spearman_max_std_vs_max_error"] = float(rho)
    return out, acc


def held_out_indices(data: str | Path, cfg: TrainConfig) -> list[int]:
    """The held-out test frames of ``data`` under ``cfg``'s split (shared by all members)."""
    dataset = Dataset(data)
    ok = dataset.select(status="ok")
    return dataset.split(tuple(cfg.split), seed=cfg.split_seed, indices=ok)[2].tolist()
