"""Whole-dataset operations: merge, dedupe and summary statistics.

Every operation reads its inputs, never changes them, and writes its output atomically
(temporary file, fsync, rename).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from ase.data import chemical_symbols

from mlmd.atomic import atomic_output
from mlmd.data.frame import Frame
from mlmd.data.rows import frames_to_columns, write_columns
from mlmd.data.schema import ATOM_FIELDS, FRAME_FIELDS, STRING_FIELDS
from mlmd.data.store import Dataset, write_empty
from mlmd.data.validation import check_frames
from mlmd.errors import InputError
from mlmd.units import GPA


def dedupe_indices(keys: Sequence[str], statuses: Sequence[str]) -> list[int]:
    """Indices keeping one frame per key: the first ``ok`` one, else the first one."""
    chosen: dict[str, int] = {}
    for i, (k, s) in enumerate(zip(keys, statuses, strict=True)):
        j = chosen.get(k)
        if j is None or (s == "ok" and statuses[j] != "ok"):
            chosen[k] = i
    return sorted(chosen.values())


def _gather(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    ds = Dataset(path)
    ds.validate()
    fcols = {k: np.asarray(v) for k, v in ds.columns.items()}
    with h5py.File(path, "r") as f:
        acols = {k: f["atoms"][k][()] for k in ATOM_FIELDS}
    ds.close()
    return fcols, acols


def merge_datasets(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    dedupe: bool = True,
    overwrite: bool = False,
) -> int:
    """Merge datasets of ONE reference method into ``out``; returns the frames written.

    With ``dedupe`` one frame per key survives (the first ``ok`` one, else the first).
    Raises :class:`InputError` when the reference methods differ, an input is invalid, or
    ``out`` exists (unless ``overwrite``) or is one of the inputs.
    """
    paths = [Path(p) for p in paths]
    out = Path(out)
    if not paths:
        raise InputError("no input datasets", field="inputs", fix="name at least one file")
    if any(out.resolve() == p.resolve() for p in paths if p.exists()):
        raise InputError(
            "the output is one of the inputs", file=str(out), fix="write to a new file"
        )
    if out.exists() and not overwrite:
        raise InputError("file exists", file=str(out), fix="choose a new name or overwrite")
    first = Dataset(paths[0])
    reference = first.reference
    for p in paths[1:]:
        other = Dataset(p).reference
        if other != reference:
            raise InputError(
                f"reference method {other} differs from {reference} in {paths[0]}: one "
                "dataset holds one reference method",
                file=str(p),
                field="reference",
                fix="merge only datasets labelled by the same method",
            )
    parts = [_gather(p) for p in paths]
    fcols = {k: np.concatenate([p[0][k] for p in parts]) for k in FRAME_FIELDS}
    acols = {k: np.concatenate([p[1][k] for p in parts]) for k in ATOM_FIELDS}
    keep = np.arange(len(fcols["key"]))
    if dedupe:
        keep = np.asarray(dedupe_indices(fcols["key"].tolist(), fcols["status"].tolist()))
    return write_subset(out, reference, fcols, acols, keep)


def write_subset(
    out: Path,
    reference: dict[str, Any],
    fcols: dict[str, np.ndarray],
    acols: dict[str, np.ndarray],
    keep: np.ndarray,
) -> int:
    """Write the frames ``keep`` of concatenated columns to a new dataset ``out``."""
    counts = fcols["n_atoms"].astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])[:-1].astype(np.int64)
    keep = np.asarray(keep, dtype=np.int64)
    new_counts = counts[keep]
    new_starts = np.concatenate([[0], np.cumsum(new_counts)])[:-1].astype(np.int64)
    rows = (
        np.arange(int(new_counts.sum()), dtype=np.int64)
        - np.repeat(new_starts, new_counts)
        + np.repeat(starts[keep], new_counts)
    )
    sub = {k: v[keep] for k, v in fcols.items()}
    sub["offset"] = new_starts
    for name in STRING_FIELDS:
        sub[name] = sub[name].tolist()
    with atomic_output(out) as tmp:
        write_empty(tmp, json.dumps(reference, sort_keys=True))
        with h5py.File(tmp, "r+") as f:
            write_columns(f, sub, {k: v[rows] for k, v in acols.items()})
    return int(keep.size)


def dedupe_dataset(src: str | os.PathLike[str], out: str | os.PathLike[str]) -> int:
    """Copy ``src`` to ``out`` keeping one frame per key; returns the frames kept."""
    return merge_datasets([src], out, dedupe=True)


def _stats(x: np.ndarray) -> dict[str, float] | None:
    x = x[np.isfinite(x)]
    if not x.size:
        return None
    return {
        "mean": float(x.mean()),
        "std": float(x.std()),
        "min": float(x.min()),
        "max": float(x.max()),
    }


def summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts and label statistics of a dataset (validates it fully first).

    Energies are per atom (eV/atom) over ``ok`` frames; forces are Cartesian components
    (eV/Å) over ``ok`` frames, with their RMS and the largest |F|; pressure is −tr(σ)/3 in GPa
    over frames that have a stress.
    """
    fcols, acols = _gather(Path(path))
    ok = fcols["status"] == "ok"
    n_atoms = fcols["n_atoms"]
    per_atom_ok = np.repeat(ok, n_atoms)
    forces = acols["forces"][per_atom_ok]
    species = Counter(acols["numbers"].tolist())
    out: dict[str, Any] = {
        "file": str(path),
        "reference": Dataset(path).reference,
        "frames": int(len(n_atoms)),
        "atoms": int(n_atoms.sum()),
        "species": {chemical_symbols[z]: int(c) for z, c in sorted(species.items())},
        "status": dict(sorted(Counter(fcols["status"].tolist()).items())),
        "energy_per_atom_eV": _stats(fcols["energy"][ok] / np.maximum(n_atoms[ok], 1)),
        "force_component_eV_A": _stats(forces.reshape(-1)),
        "stress_pressure_GPa": _stats(-np.trace(fcols["stress"], axis1=1, axis2=2) / 3 / GPA),
        "frames_with_stress": int(np.isfinite(fcols["stress"]).all(axis=(1, 2)).sum()),
    }
    if out["force_component_eV_A"] is not None:
        out["force_component_eV_A"]["rms"] = float(np.sqrt(np.mean(forces**2)))
        out["force_component_eV_A"]["max_norm"] = float(np.linalg.norm(forces, axis=1).max())
    return out


def write_frames(
    out: str | os.PathLike[str],
    reference: dict[str, Any],
    frames: Sequence[Frame],
    *,
    overwrite: bool = False,
) -> int:
    """Write ``frames`` as a new dataset ``out`` in one atomic step; returns the count."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise InputError("file exists", file=str(out), fix="choose a new name or overwrite")
    batch = check_frames(frames, str(out))
    if not batch:
        Dataset.create(out, reference, overwrite=overwrite)
        return 0
    fcols, acols = frames_to_columns(batch)
    fcols = {k: np.asarray(v, dtype=object) if k in STRING_FIELDS else v for k, v in fcols.items()}
    return write_subset(out, reference, fcols, acols, np.arange(len(batch)))
