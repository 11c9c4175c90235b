"""The start structure of a run: a dataset frame, an extxyz file or a builder, checked.

Only rank 0 reads files, and extxyz files are read by :func:`mlmd.data.extxyz.read_images`,
which reads serially (:mod:`mlmd.data.ase_io`): under mpi4py ``ase.io.read`` is
otherwise a collective broadcast that the other ranks never join (a hang of ``mpiexec -n 2
mlmd md run`` with an extxyz start). A file that is not extxyz is an error naming
``structure.extxyz``, a frame index past either end of the file or dataset one naming
``structure.index``; the structure read is then checked by :func:`check_start` (finite,
no overlap, the atoms named).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from vesin import NeighborList

from mlmd.errors import InputError
from mlmd.md.config import StructureConfig


@dataclass(frozen=True)
class Structure:
    """numbers [N] int64, positions [N, 3] Å, cell [3, 3] Å (rows), fully periodic."""

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray


def as_structure(obj) -> Structure:
    """A :class:`Structure` from a Frame, an ASE Atoms or a Structure."""
    if isinstance(obj, Structure):
        return obj
    cell = obj.cell
    cell = np.array(getattr(cell, "array", cell), dtype=np.float64)
    pbc = np.broadcast_to(np.asarray(getattr(obj, "pbc", True), dtype=bool), (3,))
    if not pbc.all() or abs(np.linalg.det(cell)) < 1e-9:
        raise InputError(
            "MD needs a fully periodic structure with a non-degenerate cell",
            field="structure",
            fix="use a periodic frame or set the cell and pbc in the extxyz file",
        )
    return Structure(
        np.asarray(obj.numbers, dtype=np.int64).copy(),
        np.asarray(obj.positions, dtype=np.float64).copy(),
        cell,
    )


def load_structure(cfg: StructureConfig) -> Structure:
    """Build or read the start structure named by ``cfg``."""
    if cfg.dataset is not None:
        from mlmd.data import Dataset

        if not Path(cfg.dataset).exists():
            raise InputError("dataset not found", file=cfg.dataset, field="structure.dataset")
        ds = Dataset(cfg.dataset)
        return as_structure(ds[_checked_index(cfg.index, len(ds), cfg.dataset)])
    if cfg.extxyz is not None:
        from mlmd.data.extxyz import read_images

        images = read_images(cfg.extxyz, field="structure.extxyz")
        return as_structure(images[_checked_index(cfg.index, len(images), cfg.extxyz)])
    from mlmd.data import build

    if cfg.builder == "random_sio2":
        return as_structure(build.random_sio2(cfg.n_atoms, cfg.density_g_cm3, seed=cfg.seed))
    return as_structure(build.sio2_crystal(cfg.crystal, cfg.repeat))


def _checked_index(index: int, n_frames: int, file: str) -> int:
    """``index`` (negative counts from the end) when the file has that frame, else an error
    naming ``structure.index``."""
    if not -n_frames <= index < n_frames:
        raise InputError(
            f"frame {index} out of range ({n_frames} frames)",
            file=file,
            field="structure.index",
            fix=f"choose an index below {n_frames}",
        )
    return index


def check_start(st: Structure, min_distance_A: float, source: str) -> None:
    """Refuse a start structure MD cannot run: non-finite positions or cell, or atoms closer
    than ``min_distance_A`` (periodic images included); the message names the atoms (ids =
    indices in the structure) and ``source``."""
    bad = np.nonzero(~np.isfinite(st.positions).all(axis=1))[0]
    if len(bad) or not np.isfinite(st.cell).all():
        what = f"atoms {_ids(bad)} have non-finite positions" if len(bad) else "non-finite cell"
        raise InputError(what, file=source, field="structure", fix="give finite coordinates")
    i, j, d = NeighborList(cutoff=min_distance_A, full_list=False).compute(
        st.positions, st.cell, True, quantities="ijd"
    )
    if len(d):
        order = np.argsort(d, kind="stable")[:10]
        pairs = ", ".join(f"{i[k]}–{j[k]} at {d[k]:.3g} Å" for k in order)
        raise InputError(
            f"{len(d)} atom pair(s) closer than {min_distance_A} Å: {pairs}",
            file=source,
            field="structure",
            fix="separate the overlapping atoms (or lower safety.min_distance_A if they are "
            "meant to be that close)",
        )


def _ids(index: np.ndarray, shown: int = 20) -> str:
    text = ", ".join(map(str, index[:shown].tolist()))
    return text + (f" … ({len(index)} in all)" if len(index) > shown else "")
