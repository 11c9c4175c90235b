"""The dataset file's layout: which HDF5 datasets exist, their dtypes and shapes.

Version 2 adds ``frames/info`` and ``frames/arrays`` (JSON text per frame: the extxyz
``info`` keys and the extra per-atom arrays a frame came with). Version-1 files are read as
if both were ``"{}"`` and are upgraded on their next write.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

FORMAT = "mlmd.dataset"
VERSION = 2

STR = h5py.string_dtype("utf-8")
#: Per-frame datasets: name -> (dtype, trailing shape).
FRAME_FIELDS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "n_atoms": (np.int64, ()),
    "offset": (np.int64, ()),
    "cell": (np.float64, (3, 3)),
    "pbc": (np.bool_, (3,)),
    "energy": (np.float64, ()),
    "stress": (np.float64, (3, 3)),
    "status": (STR, ()),
    "key": (STR, ()),
    "source": (STR, ()),
    "weight": (np.float64, ()),
    "info": (STR, ()),
    "arrays": (STR, ()),
}
#: Per-atom datasets: name -> (dtype, trailing shape).
ATOM_FIELDS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "numbers": (np.int32, ()),
    "positions": (np.float64, (3,)),
    "forces": (np.float64, (3,)),
}
STRING_FIELDS = ("status", "key", "source", "info", "arrays")
#: Frame fields a version-1 file does not have, and the value they read as.
ADDED_IN_V2 = {"info": "{}", "arrays": "{}"}
FIX_DAMAGED = "the file is damaged or not written by mlmd: re-create it with `mlmd data import`"
_CHUNKS = {"frames": 256, "atoms": 4096}


def _create(f: h5py.File, group: str, name: str, rows: int = 0) -> h5py.Dataset:
    dtype, tail = (FRAME_FIELDS if group == "frames" else ATOM_FIELDS)[name]
    return f.require_group(group).create_dataset(
        name,
        shape=(rows, *tail),
        maxshape=(None, *tail),
        dtype=dtype,
        chunks=(_CHUNKS[group], *tail),
    )


def create_layout(f: h5py.File) -> None:
    """Create the empty, resizable datasets of the layout."""
    for group, fields in (("frames", FRAME_FIELDS), ("atoms", ATOM_FIELDS)):
        for name in fields:
            _create(f, group, name)


def upgrade_layout(f: h5py.File) -> None:
    """Bring an open, writable version-1 file to the current version (in place)."""
    rows = f["frames/n_atoms"].shape[0]
    for name, value in ADDED_IN_V2.items():
        if name not in f["frames"]:
            ds = _create(f, "frames", name, rows)
            if rows:
                ds[:] = [value] * rows
    f.attrs["version"] = VERSION
