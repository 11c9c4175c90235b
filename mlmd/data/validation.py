"""Checks of a dataset file and of frames before they are stored.

Every failure is an :class:`~mlmd.errors.InputError` naming the file and the HDF5 path (or
the frame field) at fault; nothing is written after a failed check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import h5py
import numpy as np

from mlmd.data.frame import KEY_PATTERN, STATUSES, Frame
from mlmd.data.schema import ADDED_IN_V2, ATOM_FIELDS, FIX_DAMAGED, FRAME_FIELDS, STRING_FIELDS
from mlmd.errors import InputError


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def check_attributes(f: h5py.File, file: str, fmt: str, version: int) -> dict[str, Any]:
    """The reference method of an mlmd dataset (format, version and reference checked)."""
    got = _text(f.attrs.get("format"))
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
            fix=FIX_DAMAGED,
        ) from None
    return reference


def read_frame_columns(f: h5py.File, file: str) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """(per-frame columns, rows of every dataset by HDF5 path), shapes checked."""
    cols: dict[str, np.ndarray] = {}
    lengths: dict[str, int] = {}
    for group, fields in (("frames", FRAME_FIELDS), ("atoms", ATOM_FIELDS)):
        for name, (_dtype, tail) in fields.items():
            path = f"{group}/{name}"
            ds = f.get(path)
            if ds is None and group == "frames" and name in ADDED_IN_V2:
                continue  # a version-1 file: filled in below
            if not isinstance(ds, h5py.Dataset):
                raise InputError("dataset missing", file=file, field=path, fix=FIX_DAMAGED)
            if tuple(ds.shape[1:]) != tail:
                raise InputError(
                    f"shape {ds.shape}, expected (*, {', '.join(map(str, tail))})",
                    file=file,
                    field=path,
                    fix=FIX_DAMAGED,
                )
            lengths[path] = ds.shape[0]
            if group == "frames":
                try:
                    cols[name] = ds.asstr()[()] if name in STRING_FIELDS else ds[()]
                except (OSError, TypeError, ValueError) as exc:
                    raise InputError(
                        f"unreadable ({exc})", file=file, field=path, fix=FIX_DAMAGED
                    ) from None
    for name, value in ADDED_IN_V2.items():
        cols.setdefault(name, np.full(lengths["frames/n_atoms"], value, dtype=object))
    return cols, lengths


def check_counts(cols: dict[str, np.ndarray], lengths: dict[str, int], file: str) -> None:
    """Every dataset has the rows the layout implies; offsets are the cumulative counts."""
    n_frames, n_atoms = lengths["frames/n_atoms"], lengths["atoms/numbers"]
    for path, n in lengths.items():
        want = n_frames if path.startswith("frames") else n_atoms
        if n != want:
            raise InputError(
                f"{n} rows, but the layout implies {want}", file=file, field=path, fix=FIX_DAMAGED
            )
    counts = cols["n_atoms"].astype(np.int64)
    expected = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n_frames else counts
    if (counts < 0).any() or not np.array_equal(cols["offset"], expected):
        raise InputError(
            "offsets do not match the cumulative atom counts",
            file=file,
            field="frames/offset",
            fix=FIX_DAMAGED,
        )
    if int(counts.sum()) != n_atoms:
        raise InputError(
            f"frames hold {int(counts.sum())} atoms but atoms/ has {n_atoms} rows",
            file=file,
            field="frames/n_atoms",
            fix=FIX_DAMAGED,
        )


def check_keys(keys: Iterable[str], file: str, field: str = "frames/key") -> None:
    """Every key is a content hash (32 lowercase hex digits): keys name work directories."""
    for i, key in enumerate(keys):
        if not KEY_PATTERN.fullmatch(str(key)):
            raise InputError(
                f"frame {i} has key {str(key)[:80]!r}, not a content hash (32 hex digits)",
                file=file,
                field=field,
                fix="the file was not written by mlmd: re-import its structures "
                "(`mlmd data export` then `mlmd data import`)",
            )


def check_values(cols: dict[str, np.ndarray], file: str) -> None:
    """Known statuses, content-hash keys, finite cells."""
    bad = sorted(set(cols["status"].tolist()) - set(STATUSES))
    if bad:
        raise InputError(
            f"unknown status values {bad}", file=file, field="frames/status", fix=FIX_DAMAGED
        )
    check_keys(cols["key"], file)
    rows = np.flatnonzero(~np.isfinite(cols["cell"]).all(axis=(1, 2)))
    if rows.size:
        raise InputError(
            f"non-finite cell in frames {rows[:10].tolist()}",
            file=file,
            field="frames/cell",
            fix="drop or repair those frames",
        )


def validate_layout(
    f: h5py.File, file: str, fmt: str, version: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Check attributes, datasets, shapes, offsets and per-frame values; return (reference,
    read-only frame columns)."""
    reference = check_attributes(f, file, fmt, version)
    cols, lengths = read_frame_columns(f, file)
    check_counts(cols, lengths, file)
    check_values(cols, file)
    for arr in cols.values():
        arr.setflags(write=False)
    return reference, cols


def frame_problem(frame: Frame) -> tuple[str, str] | None:
    """(field, message) if the frame cannot be stored as it is, else None."""
    if not KEY_PATTERN.fullmatch(str(frame.key)):
        return "key", f"key {str(frame.key)[:80]!r} is not a content hash (32 hex digits)"
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
