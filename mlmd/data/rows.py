"""Frames ↔ the dataset file's columns: build frames from rows, append and upsert rows.

Internal to :mod:`mlmd.data.store` and :mod:`mlmd.data.ops`; frames travel here as columns
of numpy arrays. A frame's ``info`` and extra per-atom ``arrays`` are stored as JSON text
(``frames/info``, ``frames/arrays``) that gives back the same values and dtypes, floats bit
for bit.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np

from mlmd.data.frame import Frame
from mlmd.data.schema import ATOM_FIELDS, FIX_DAMAGED, STRING_FIELDS
from mlmd.data.validation import frame_problem
from mlmd.errors import InputError

_ARRAY_TAG = "__ndarray__"


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON-able data; numpy arrays are tagged with their dtype."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUS":
            raise InputError(f"{where}: arrays of {value.dtype} cannot be stored", field=where)
        return {_ARRAY_TAG: value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise InputError(
        f"a {type(value).__name__} cannot be stored in a dataset",
        field=where,
        fix="keep numbers, strings, booleans and arrays in atoms.info / atoms.arrays",
    )


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if _ARRAY_TAG in value:
            return np.asarray(value[_ARRAY_TAG], dtype=np.dtype(value["dtype"]))
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def encode_extras(frame: Frame) -> tuple[str, str]:
    """(info JSON, arrays JSON) of a frame."""
    info = _plain(frame.info, "info")
    arrays = {k: _plain(np.asarray(v), f"arrays.{k}") for k, v in frame.arrays.items()}
    return json.dumps(info, sort_keys=True), json.dumps(arrays, sort_keys=True)


def decode_extras(info: str, arrays: str, file: str, i: int) -> tuple[dict, dict]:
    """(info, arrays) of frame ``i`` from their stored JSON."""
    try:
        return _restore(json.loads(info)), _restore(json.loads(arrays))
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(
            f"frame {i}: unreadable info/arrays JSON ({exc})",
            file=file,
            field="frames/info",
            fix=FIX_DAMAGED,
        ) from None


def make_frame(c: dict[str, np.ndarray], i: int, atoms: dict[str, np.ndarray], file: str) -> Frame:
    """Build frame ``i`` from the frame columns and its per-atom slices (validated)."""
    info, arrays = decode_extras(c["info"][i], c["arrays"][i], file, i)
    try:
        frame = Frame(
            numbers=atoms["numbers"],
            positions=atoms["positions"],
            cell=c["cell"][i],
            pbc=c["pbc"][i],
            energy=c["energy"][i],
            forces=atoms["forces"],
            stress=c["stress"][i],
            status=str(c["status"][i]),
            source=str(c["source"][i]),
            weight=c["weight"][i],
            key=str(c["key"][i]),
            info=info,
            arrays=arrays,
        )
    except ValueError as exc:
        raise InputError(f"frame {i}: {exc}", file=file, field="frames", fix=FIX_DAMAGED) from None
    problem = frame_problem(frame)
    if problem:
        raise InputError(
            f"frame {i}: {problem[1]}",
            file=file,
            field=f"atoms/{problem[0]}" if problem[0] in ATOM_FIELDS else f"frames/{problem[0]}",
            fix="drop or relabel that frame (the file was not written through mlmd's checks)",
        )
    return frame


def frames_to_columns(frames: list[Frame]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Per-frame and per-atom columns of a batch (offsets relative to the batch)."""
    n = np.array([fr.n_atoms for fr in frames], dtype=np.int64)
    extras = [encode_extras(fr) for fr in frames]
    fcols: dict[str, Any] = {
        "n_atoms": n,
        "offset": np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64),
        "cell": np.stack([fr.cell for fr in frames]),
        "pbc": np.stack([fr.pbc for fr in frames]),
        "energy": np.array([fr.energy for fr in frames], dtype=np.float64),
        "stress": np.stack([fr.stress for fr in frames]),
        "status": [fr.status for fr in frames],
        "key": [fr.key for fr in frames],
        "source": [fr.source for fr in frames],
        "weight": np.array([fr.weight for fr in frames], dtype=np.float64),
        "info": [e[0] for e in extras],
        "arrays": [e[1] for e in extras],
    }
    acols = {
        "numbers": np.concatenate([fr.numbers for fr in frames]).astype(np.int32),
        "positions": np.concatenate([fr.positions for fr in frames]),
        "forces": np.concatenate([fr.forces for fr in frames]),
    }
    return fcols, acols


def write_columns(f: h5py.File, fcols: dict[str, Any], acols: dict[str, np.ndarray]) -> None:
    """Append columns to the open file (offsets shifted by the atoms already there)."""
    n0, a0 = f["frames/n_atoms"].shape[0], f["atoms/numbers"].shape[0]
    fcols = dict(fcols, offset=np.asarray(fcols["offset"], dtype=np.int64) + a0)
    for group, cols, start in (("frames", fcols, n0), ("atoms", acols, a0)):
        for name, values in cols.items():
            ds = f[group][name]
            values = list(values) if name in STRING_FIELDS else np.asarray(values)
            ds.resize(start + len(values), axis=0)
            if len(values):
                ds[start:] = values


def append_rows(f: h5py.File, frames: list[Frame]) -> None:
    """Append frames to the open file."""
    write_columns(f, *frames_to_columns(frames))


def _overwrite_row(f: h5py.File, i: int, a: slice, frame: Frame) -> None:
    f["atoms/numbers"][a] = frame.numbers.astype(np.int32)
    f["atoms/positions"][a] = frame.positions
    f["atoms/forces"][a] = frame.forces
    for name in ("cell", "pbc", "energy", "stress", "status", "source", "weight"):
        f["frames"][name][i] = getattr(frame, name)
    f["frames/info"][i], f["frames/arrays"][i] = encode_extras(frame)


def upsert_rows(f: h5py.File, frames: list[Frame], file: str) -> tuple[int, int]:
    """Overwrite frames whose key exists (all of its copies), append the rest."""
    latest = {fr.key: fr for fr in frames}  # last one of a key wins
    keys = f["frames/key"].asstr()[()]
    where: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k in latest:
            where.setdefault(k, []).append(i)
    offsets, counts = f["frames/offset"][()], f["frames/n_atoms"][()]
    replaced = 0
    for k, rows in where.items():
        fr = latest[k]
        for i in rows:
            if counts[i] != fr.n_atoms:
                raise InputError(
                    f"frame {i} has key {k} but {counts[i]} atoms, the new one {fr.n_atoms}",
                    file=file,
                    field="frames/key",
                    fix=FIX_DAMAGED,
                )
            _overwrite_row(f, i, slice(int(offsets[i]), int(offsets[i] + counts[i])), fr)
            replaced += 1
    new = [fr for k, fr in latest.items() if k not in where]
    if new:
        append_rows(f, new)
    return replaced, len(new)
