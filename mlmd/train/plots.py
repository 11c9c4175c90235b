"""Learning curves and parity plots as PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlmd.train.loss import ErrorAccumulator


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curve_png(history: list[dict[str, Any]], path: Path) -> None:
    """Train/validation loss and validation force RMSE (eV/Å) against epoch."""
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    if history:
        ep = [h["epoch"] for h in history]
        ax1.semilogy(ep, [h["train_loss"] for h in history], label="train")
        ax1.semilogy(ep, [h["val_loss"] for h in history], label="validation (EMA)")
        ax2.plot(ep, [h["val_forces_rmse"] for h in history])
    ax1.set(xlabel="epoch", ylabel="loss")
    ax1.legend()
    ax2.set(xlabel="epoch", ylabel="validation force RMSE (eV/Å)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parity_png(acc: ErrorAccumulator, path: Path) -> None:
    """Predicted vs reference energy/atom (eV), force components (eV/Å), stress (GPa)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    panels = [
        ("energy per atom (eV)", np.array(acc.e_ref), np.array(acc.e_pred)),
        ("force component (eV/Å)", _cat(acc.f_ref), _cat(acc.f_pred)),
        ("stress component (GPa)", _cat(acc.s_ref), _cat(acc.s_pred)),
    ]
    for ax, (label, ref, pred) in zip(axes, panels, strict=True):
        ref, pred = ref.ravel(), pred.ravel()
        if ref.size:
            ax.scatter(ref, pred, s=3, alpha=0.5)
            lo, hi = float(min(ref.min(), pred.min())), float(max(ref.max(), pred.max()))
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
            rmse = float(np.sqrt(((pred - ref) ** 2).mean()))
            ax.set_title(f"RMSE {rmse:.4g}")
        ax.set(xlabel=f"reference {label}", ylabel=f"model {label}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if p.size]
    return np.concatenate(parts) if parts else np.zeros(0)
