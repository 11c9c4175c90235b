"""Column-level helpers of the dataset file: layout, validation, reading and writing rows.

Internal to :mod:`mlmd.data.store`; frames travel here as columns of numpy arrays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import h5py
import numpy as np
from ase.data import atomic_numbers as _symbol_to_number

from mlmd.data.frame import STATUSES, Frame
from mlmd.errors import InputError

_STR = h5py.string_dtype("utf-8")
#: Per-frame datasets: name -> (dtype, trailing shape).
FRAME_FIELDS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "n_atoms": (np.int64, ()),
    "offset": (np.int64, ()),
    "cell": (np.float64, (3, 3)),
    "pbc": (np.bool_, (3,)),
    "energy": (np.float64, ()),
    "stress": (np.float64, (3, 3)),
    "status": (_STR, ()),
    "key": (_STR, ()),
    "source": (_STR, ()),
    "weight": (np.float64, ()),
}
#: Per-atom datasets: name -> (dtype, trailing shape).
ATOM_FIELDS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "numbers": (np.int32, ()),
    "positions": (np.float64, (3,)),
    "forces": (np.float64, (3,)),
}
_STRING_FIELDS = ("status", "key", "source")
_FIX_DAMAGED = "the file is damaged or not written by mlmd: re-create it with `mlmd data import`"


def create_layout(f: h5py.File) -> None:
    """Create the empty, resizable datasets of the layout."""
    for group, fields, chunk in (("frames", FRAME_FIELDS, 256), ("atoms", ATOM_FIELDS, 4096)):
        g = f.create_group(group)
        for name, (dtype, tail) in fields.items():
            g.create_dataset(
                name, shape=(0, *tail), maxshape=(None, *tail), dtype=dtype, chunks=(chunk, *tail)
            )


def validate_layout(
    f: h5py.File, file: str, fmt: str, version: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Check attributes, datasets, shapes and offsets; return (reference, frame columns)."""
    got = f.attrs.get("format")
    if isinstance(got, bytes):
        got = got.decode()
    if got != fmt:
        raise InputError(
            f"format attribute is {got!r}, expected {fmt!r}: this HDF5 file is not an mlmd dataset",
            file=file,
            field="format",
            fix="import structures with `mlmd data import` (extxyz) instead",
        )
    ver = f.attrs.get("version")
    if ver is None or int(ver) > version:
        raise InputError(
            f"dataset version {ver} is not supported (this mlmd reads ≤ {version})",
            file=file,
            field="version",
            fix="upgrade mlmd",
        )
    try:
        reference = json.loads(f.attrs["reference"])
        assert isinstance(reference, dict)
    except (KeyError, ValueError, TypeError, AssertionError):
        raise InputError(
            "missing or invalid reference attribute (JSON mapping)",
            file=file,
            field="reference",
            fix=_FIX_DAMAGED,
        ) from None
    cols: dict[str, np.ndarray] = {}
    lengths: dict[str, int] = {}
    for group, fields in (("frames", FRAME_FIELDS), ("atoms", ATOM_FIELDS)):
        for name, (_dtype, tail) in fields.items():
            path = f"{group}/{name}"
            ds = f.get(path)
            if not isinstance(ds, h5py.Dataset):
                raise InputError("dataset missing", file=file, field=path, fix=_FIX_DAMAGED)
            if tuple(ds.shape[1:]) != tail:
                raise InputError(
                    f"shape {ds.shape}, expected (*, {', '.join(map(str, tail))})",
                    file=file,
                    field=path,
                    fix=_FIX_DAMAGED,
                )
            lengths[path] = ds.shape[0]
            if group == "frames":
                try:
                    cols[name] = ds.asstr()[()] if name in _STRING_FIELDS else ds[()]
                except (OSError, TypeError, ValueError) as exc:
                    raise InputError(
                        f"unreadable ({exc})", file=file, field=path, fix=_FIX_DAMAGED
                    ) from None
    n_frames, n_atoms = lengths["frames/n_atoms"], lengths["atoms/numbers"]
    for path, n in lengths.items():
        want = n_frames if path.startswith("frames") else n_atoms
        if n != want:
            raise InputError(
                f"{n} rows, but the layout implies {want}", file=file, field=path, fix=_FIX_DAMAGED
            )
    counts = cols["n_atoms"].astype(np.int64)
    expected = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n_frames else counts
    if (counts < 0).any() or not np.array_equal(cols["offset"], expected):
        raise InputError(
            "offsets do not match the cumulative atom counts",
            file=file,
            field="frames/offset",
            fix=_FIX_DAMAGED,
        )
    if int(counts.sum()) != n_atoms:
        raise InputError(
            f"frames hold {int(counts.sum())} atoms but atoms/ has {n_atoms} rows",
            file=file,
            field="frames/n_atoms",
            fix=_FIX_DAMAGED,
        )
    bad = sorted(set(cols["status"].tolist()) - set(STATUSES))
    if bad:
        raise InputError(
            f"unknown status values {bad}", file=file, field="frames/status", fix=_FIX_DAMAGED
        )
    rows = np.flatnonzero(~np.isfinite(cols["cell"]).all(axis=(1, 2)))
    if rows.size:
        raise InputError(
            f"non-finite cell in frames {rows[:10].tolist()}",
            file=file,
            field="frames/cell",
            fix="drop or repair those frames",
        )
    for arr in cols.values():
        arr.setflags(write=False)
    return reference, cols


def frame_problem(frame: Frame) -> tuple[str, str] | None:
    """(field, message) if the frame cannot be stored as it is, else None."""
    if not np.isfinite(frame.positions).all():
        return "positions", "non-finite (NaN/inf) positions"
    if not np.isfinite(frame.cell).all():
        return "cell", "non-finite cell"
    if frame.status == "ok":
        if not np.isfinite(frame.energy):
            return "energy", "status 'ok' but the energy is missing (NaN)"
        if not np.isfinite(frame.forces).all():
            return "forces", "status 'ok' but forces are missing (NaN)"
    return None


def make_frame(c: dict[str, np.ndarray], i: int, atoms: dict[str, np.ndarray], file: str) -> Frame:
    """Build frame ``i`` from the frame columns and its per-atom slices (validated)."""
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
    )
    problem = frame_problem(frame)
    if problem:
        raise InputError(
            f"frame {i}: {problem[1]}",
            file=file,
            field=f"atoms/{problem[0]}" if problem[0] in ATOM_FIELDS else f"frames/{problem[0]}",
            fix="drop or relabel that frame (the file was not written through mlmd's checks)",
        )
    return frame


def scan_atoms(f: h5py.File, c: dict[str, np.ndarray], file: str, block: int = 1 << 20) -> None:
    """Check every atom row: finite positions; finite forces and energy where status is ok."""
    n_atoms = f["atoms/numbers"].shape[0]
    frame_of = np.repeat(np.arange(len(c["n_atoms"])), c["n_atoms"])
    ok = c["status"] == "ok"
    bad_energy = np.flatnonzero(ok & ~np.isfinite(c["energy"]))
    if bad_energy.size:
        raise InputError(
            f"frames {bad_energy[:10].tolist()} have status 'ok' but no energy",
            file=file,
            field="frames/energy",
            fix="relabel those frames or set their status",
        )
    for a0 in range(0, n_atoms, block):
        a1 = min(a0 + block, n_atoms)
        for name, need_ok in (("positions", False), ("forces", True)):
            rows = ~np.isfinite(f["atoms"][name][a0:a1]).all(axis=1)
            frames = np.unique(frame_of[a0:a1][rows])
            if need_ok:
                frames = frames[ok[frames]]
            if frames.size:
                what = "non-finite positions" if name == "positions" else "status 'ok' but NaN"
                raise InputError(
                    f"frames {frames[:10].tolist()}: {what} {name if need_ok else ''}".strip(),
                    file=file,
                    field=f"atoms/{name}",
                    fix="drop or relabel those frames",
                )


def atomic_numbers(species: Iterable[int | str]) -> list[int]:
    """Atomic numbers of a list of numbers or chemical symbols."""
    out = []
    for s in species:
        if isinstance(s, str):
            if s not in _symbol_to_number:
                raise InputError(f"unknown element {s!r}", field="species", fix="use e.g. 'Si'")
            out.append(_symbol_to_number[s])
        else:
            out.append(int(s))
    return out


def split(
    keys: list[str],
    fractions: Sequence[float],
    seed: int,
    indices: Sequence[int] | None,
    file: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded, order-independent split (see :meth:`mlmd.data.store.Dataset.split`)."""
    fr = np.asarray(fractions, dtype=float)
    if fr.shape != (3,) or (fr < 0).any() or abs(fr.sum() - 1.0) > 1e-9:
        raise InputError(
            f"fractions {list(fractions)} must be three non-negative numbers summing to 1",
            file=file,
            field="fractions",
            fix="e.g. (0.8, 0.1, 0.1)",
        )
    idx = np.arange(len(keys)) if indices is None else np.asarray(indices, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= len(keys)):
        raise InputError("indices out of range", file=file, field="indices")
    rank = [hashlib.sha256(f"{seed}:{keys[i]}".encode()).hexdigest() for i in idx]
    order = idx[np.argsort(np.asarray(rank), kind="stable")]
    n_val, n_test = int(round(fr[1] * len(idx))), int(round(fr[2] * len(idx)))
    n_train = len(idx) - n_val - n_test
    parts = (order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])
    return tuple(np.sort(p).astype(np.int64) for p in parts)  # type: ignore[return-value]


def check_frames(frames: Iterable[Frame], file: str) -> list[Frame]:
    """The batch as a list, each a valid :class:`Frame` (else InputError; nothing written)."""
    batch = list(frames)
    for i, frame in enumerate(batch):
        if not isinstance(frame, Frame):
            raise InputError(
                f"item {i} of the batch is a {type(frame).__name__}, not a Frame",
                file=file,
                fix="convert with mlmd.data.frame_from_atoms",
            )
        if frame.n_atoms == 0:
            raise InputError(f"item {i} of the batch has no atoms", file=file, field="numbers")
        problem = frame_problem(frame)
        if problem:
            raise InputError(
                f"item {i} of the batch ({frame.source or 'no source'}): {problem[1]}",
                file=file,
                field=problem[0],
                fix="fix the frame or give it a non-'ok' status",
            )
    return batch


def frames_to_columns(frames: list[Frame]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Per-frame and per-atom columns of a batch (offsets relative to the batch)."""
    n = np.array([fr.n_atoms for fr in frames], dtype=np.int64)
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
            values = list(values) if name in _STRING_FIELDS else np.asarray(values)
            ds.resize(start + len(values), axis=0)
            if len(values):
                ds[start:] = values


def append_rows(f: h5py.File, frames: list[Frame]) -> None:
    """Append frames to the open file."""
    write_columns(f, *frames_to_columns(frames))


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
                    fix=_FIX_DAMAGED,
                )
            a = slice(int(offsets[i]), int(offsets[i] + counts[i]))
            f["atoms/numbers"][a] = fr.numbers.astype(np.int32)
            f["atoms/positions"][a] = fr.positions
            f["atoms/forces"][a] = fr.forces
            for name in ("cell", "pbc", "energy", "stress", "status", "source", "weight"):
                f["frames"][name][i] = getattr(fr, name)
            replaced += 1
    new = [fr for k, fr in latest.items() if k not in where]
    if new:
        append_rows(f, new)
    return replaced, len(new)
