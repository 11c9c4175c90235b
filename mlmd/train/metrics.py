"""Errors of a trained (ensemble) potential on a dataset, and how well its spread ranks them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from mlmd.data import Dataset, dataset_species
from mlmd.errors import InputError
from mlmd.potential.contract import check_species
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
    check_species(potential, dataset_species(dataset, chosen), source=str(dataset.path))
    samples = load_samples(dataset, chosen, float(potential.cutoff_A))
    acc = ErrorAccumulator()
    with Progress(len(samples), label="evaluate", unit="frame", enabled=progress) as bar:
        for group in batches(samples, batch_size):
            acc.add(predict(potential, collate(group, device), training=False), collate(group))
            bar.advance(len(group))
    check_predictions(acc, str(dataset.path))
    out: dict[str, Any] = acc.summary()
    if acc.max_f_std:
        std, err = np.array(acc.max_f_std), np.array(acc.max_f_err)
        out["max_force_std_mean"] = float(std.mean())
        out["max_force_std_max"] = float(std.max())
        rho = spearmanr(std, err).statistic if len(std) > 2 else float("nan")
        out["spearman_max_std_vs_max_error"] = float(rho)
    return out, acc


#: Errors beyond these are a broken model (damaged weights), not an inaccurate one.
MAX_ENERGY_ERROR_EV_PER_ATOM = 1e3
MAX_FORCE_ERROR_EV_A = 1e4


def check_predictions(acc: ErrorAccumulator, source: str) -> None:
    """InputError when predictions are non-finite or their errors beyond physical bounds."""
    e = np.abs(np.array(acc.e_pred) - np.array(acc.e_ref))
    f = np.abs(_concat(acc.f_pred) - _concat(acc.f_ref))
    s = _concat(acc.s_pred)
    if not (np.isfinite(e).all() and np.isfinite(f).all() and np.isfinite(s).all()):
        problem = "non-finite (NaN/inf) predictions"
    elif e.size and e.max() > MAX_ENERGY_ERROR_EV_PER_ATOM:
        problem = f"energy errors up to {e.max():.3g} eV/atom"
    elif f.size and f.max() > MAX_FORCE_ERROR_EV_A:
        problem = f"force errors up to {f.max():.3g} eV/Å"
    else:
        return
    raise InputError(
        f"the model gives {problem} on these frames: its weights are damaged or it does not "
        "describe this data",
        file=source,
        fix="check the model (retrain it) and that the dataset is the one it was made for",
    )


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p.reshape(-1) for p in parts if p.size]
    return np.concatenate(parts) if parts else np.zeros(0)


def held_out_indices(data: str | Path, cfg: TrainConfig) -> list[int]:
    """The held-out test frames of ``data`` under ``cfg``'s split (shared by all members)."""
    dataset = Dataset(data)
    ok = dataset.select(status="ok")
    return dataset.split(tuple(cfg.split), seed=cfg.split_seed, indices=ok)[2].tolist()
