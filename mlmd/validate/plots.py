"""PNG plots of a validation: the model's curves over the reference runs', and parity per
phase (matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Line styles of the runs: the model solid, reference runs dashed and dotted.
_STYLES = [("tab:red", "-"), ("k", "--"), ("0.45", ":"), ("0.6", "-.")]

#: Curve kind → (axis label of x, of y, x range or None).
_KINDS = {
    "g": ("r (Å)", "g(r)", None),
    "angle": ("angle (deg)", "density (1/deg)", (0.0, 180.0)),
    "msd": ("lag (ps)", "MSD (Å²)", None),
}


def plot_overlays(
    title: str, runs: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], kind: str, path: Path
) -> Path | None:
    """One panel per curve of ``kind`` (``g``, ``angle``, ``msd``): every run overlaid.

    Args:
        runs: run label ("model", "reference 1", ...) → its curves {"g Si-O": (x, y)}.
    """
    keys = sorted({k for c in runs.values() for k in c if k.startswith(f"{kind} ")})
    if not keys:
        return None
    fig = Figure(figsize=(4.2 * len(keys), 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    x_label, y_label, x_range = _KINDS[kind]
    for ax, key in zip(axes, keys, strict=True):
        for (label, curves), (colour, style) in zip(runs.items(), _STYLES, strict=False):
            if key in curves:
                x, y = curves[key]
                if kind == "msd":
                    x, y = x[: len(x) // 2], y[: len(y) // 2]
                ax.plot(x, y, color=colour, ls=style, lw=1.2, label=label)
        ax.set(xlabel=x_label, ylabel=y_label, title=f"{title}: {key.split(' ', 1)[1]}")
        if x_range:
            ax.set_xlim(*x_range)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    return path


def plot_parity(accumulators: dict, path: Path) -> Path | None:
    """Force parity (model vs reference components) and per-frame max spread vs max error,
    one column per phase; ``accumulators`` phase → :class:`mlmd.train.loss.ErrorAccumulator`."""
    if not accumulators:
        return None
    n = len(accumulators)
    fig = Figure(figsize=(3.6 * n, 6.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, n, squeeze=False)
    for k, (phase, acc) in enumerate(accumulators.items()):
        ref = np.concatenate(acc.f_ref).ravel()
        pred = np.concatenate(acc.f_pred).ravel()
        rmse = float(np.sqrt(np.mean((pred - ref) ** 2)))
        ax = axes[0, k]
        ax.plot(ref, pred, ".", ms=1.5, alpha=0.4)
        lim = float(np.abs(ref).max()) * 1.05
        ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
        ax.set(
            xlabel="reference F (eV/Å)",
            ylabel="model F (eV/Å)",
            title=f"{phase}: RMSE {rmse:.3f} eV/Å",
        )
        ax = axes[1, k]
        if acc.max_f_std:
            ax.plot(acc.max_f_err, acc.max_f_std, "o", ms=3)
        ax.set(xlabel="max |ΔF| per frame (eV/Å)", ylabel="max spread per frame (eV/Å)")
    fig.savefig(path, dpi=110)
    return path
