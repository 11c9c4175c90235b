"""How far a model sees beside how far its reference reaches.

:func:`reach` gives the model's cutoff and the reference's range where mlmd knows it (an
analytic reference's cutoff: the teacher's; not DFT's or LAMMPS's). A strictly local model
whose cutoff is shorter cannot see the reference's interactions in between: a floor under
its errors that no training removes. :func:`with_beyond` measures that floor on frames: the
reference evaluated with every pair, minus the reference evaluated on the pairs within the
model's cutoff only (possible for a reference that is an in-process potential).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def reach(potential, reference) -> dict:
    """``{"model": the model's cutoff, "reference": the reference's range or None}`` (Å)."""
    theirs = getattr(reference, "cutoff_A", None)
    return {
        "model": float(potential.cutoff_A),
        "reference": None if theirs is None else float(theirs),
    }


def is_short(reach_A: dict) -> bool:
    """Whether the model sees less far than its reference's known range."""
    mine, theirs = reach_A.get("model"), reach_A.get("reference")
    return mine is not None and theirs is not None and mine < theirs - 1e-9


def with_beyond(reach_A: dict, reference, frames_path: str | Path) -> dict:
    """``reach_A`` with ``"beyond"``: what the reference's interactions beyond the model's
    cutoff carry on the frames of the dataset ``frames_path`` (:func:`beyond_cutoff`), when
    the model sees less far and the reference is an in-process potential."""
    potential = getattr(reference, "potential", None)
    if not is_short(reach_A) or potential is None:
        return reach_A
    from mlmd.data import Dataset

    frames = list(Dataset(frames_path))
    device = getattr(reference, "device", "cpu")
    measured = beyond_cutoff(potential, frames, reach_A["model"], reach_A["reference"], device)
    return {**reach_A, "beyond": {**measured, "frames": str(frames_path)}}


def beyond_cutoff(potential, frames, cutoff_A: float, range_A: float, device="cpu") -> dict:
    """The forces and energy of ``potential`` (edge-based, range ``range_A``) that come from
    pairs longer than ``cutoff_A``, on ``frames``: ``{"n_frames", "force_rmse_eV_A" (RMSE of
    the force components), "energy_meV_atom_mean", "energy_meV_atom_std" (over frames)}``."""
    from mlmd.potential import evaluate, graph_from_frames

    force_sq, n_components, energies = 0.0, 0, []
    for frame in frames:
        full, near = (
            evaluate(potential, graph_from_frames([frame], r, device), virial=False)
            for r in (range_A, cutoff_A)
        )
        df = (full.forces - near.forces).detach().cpu().numpy()
        force_sq += float(np.sum(df**2))
        n_components += df.size
        de = float((full.energy - near.energy).sum().detach()) / frame.n_atoms
        energies.append(1e3 * de)
    return {
        "n_frames": len(frames),
        "force_rmse_eV_A": float(np.sqrt(force_sq / max(n_components, 1))),
        "energy_meV_atom_mean": float(np.mean(energies)) if energies else None,
        "energy_meV_atom_std": float(np.std(energies)) if energies else None,
    }
