"""The mlmd dataset: one HDF5 file of ragged frames labelled by one reference method.

Layout (format ``mlmd.dataset``, version 2; see :mod:`mlmd.data.schema`)::

    /            attrs format="mlmd.dataset", version=2, reference=<JSON>, mlmd_version
    /frames/n_atoms [F] int64      /frames/offset [F] int64 (first row in /atoms)
    /frames/cell [F,3,3] f8 Å      /frames/pbc [F,3] bool
    /frames/energy [F] f8 eV       /frames/stress [F,3,3] f8 eV/Å³ (ASE sign)
    /frames/status [F] str         /frames/key [F] str   /frames/source [F] str
    /frames/weight [F] f8          /frames/info [F] str (JSON)   /frames/arrays [F] str (JSON)
    /atoms/numbers [N] int32       /atoms/positions [N,3] f8 Å   /atoms/forces [N,3] f8 eV/Å

Missing labels are NaN and ``status`` says why (:data:`mlmd.data.frame.STATUSES`). Keys are
content hashes (32 hex digits); a file holding anything else is refused on open.

Crash safety (copy-on-write): every write copies the file to a temporary beside it
(:func:`mlmd.atomic.atomic_output`), changes the copy, flushes and fsyncs it and renames it
onto ``path`` (then fsyncs the directory). A writer killed at any moment therefore leaves
either the old or the new file, never a mix, and every frame whose ``append`` returned is on
disk. The price is one file copy per call (O(file size): about 0.1 s per 100 MB here), so
append in batches, not frame by frame. Writers of the same file, including those creating
it, are serialised by ``flock`` on a hidden sidecar ``.<name>.lock``. Readers that hold the
file open keep reading their consistent snapshot (``close()`` and the next access sees the
new file). A killed writer's temporary is removed by the next writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from mlmd import __version__
from mlmd.atomic import atomic_output, require_directory
from mlmd.data import rows, validation
from mlmd.data.frame import STATUSES, Frame
from mlmd.data.schema import ATOM_FIELDS, FORMAT, VERSION, create_layout, upgrade_layout
from mlmd.data.species import atomic_numbers
from mlmd.data.split import split
from mlmd.errors import InputError

_ITER_BLOCK = 512  # frames read per HDF5 call when iterating


def _canonical(reference: dict[str, Any], file: str) -> str:
    if not isinstance(reference, dict) or not reference.get("name"):
        raise InputError(
            "the reference method must be a mapping with a non-empty 'name'",
            file=file,
            field="reference",
            fix='pass e.g. {"name": "cp2k", ...settings} or {"name": "none"} for structures',
        )
    try:
        return json.dumps(reference, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"reference is not JSON-serialisable ({exc})", file=file, field="reference"
        ) from None


class Dataset:
    """A lazily opened, picklable dataset file (see the module docstring for the layout).

    ``Dataset(path)`` touches nothing until first use; it is read-only until you append.
    Pickling drops the open handle, so a reader can be shipped to worker processes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._h5: h5py.File | None = None
        self._cols: dict[str, np.ndarray] | None = None
        self._reference: dict[str, Any] | None = None

    # ----------------------------------------------------------------- creation
    @classmethod
    def create(
        cls, path: str | os.PathLike[str], reference: dict[str, Any], overwrite: bool = False
    ) -> Dataset:
        """Write an empty dataset labelled by ``reference`` (atomically) and return it."""
        path = Path(path)
        ref_json = _canonical(reference, str(path))
        with _writer_lock(path):
            if path.exists() and not overwrite:
                raise InputError(
                    "file exists",
                    file=str(path),
                    fix="append with Dataset(path).append(...), or pass overwrite=True",
                )
            write_empty(path, ref_json)
        return cls(path)

    @classmethod
    def open_or_create(cls, path: str | os.PathLike[str], reference: dict[str, Any]) -> Dataset:
        """Open ``path`` if it exists (its reference must equal ``reference``), else create it.

        Safe when several processes do it at once: one creates, the others open.
        """
        path = Path(path)
        ref_json = _canonical(reference, str(path))
        with _writer_lock(path):
            if not path.exists():
                write_empty(path, ref_json)
                return cls(path)
        ds = cls(path)
        ds.check_reference(reference)
        return ds

    # ------------------------------------------------------------------ reading
    def _open(self) -> h5py.File:
        if self._h5 is not None:
            return self._h5
        name = str(self.path)
        if not self.path.exists():
            raise InputError("file not found", file=name, fix="check the path")
        try:
            f = h5py.File(self.path, "r")
        except OSError as exc:
            if not h5py.is_hdf5(self.path):
                raise InputError(
                    "not an HDF5 file (no HDF5 signature): another format",
                    file=name,
                    field="file signature",
                    fix="give an mlmd dataset (.h5); import extxyz with `mlmd data import`",
                ) from None
            raise InputError(
                f"unreadable HDF5 file, truncated or damaged ({exc})",
                file=name,
                field="HDF5 superblock",
                fix="restore it from a copy or re-create it with `mlmd data import`",
            ) from None
        try:
            self._reference, self._cols = validation.validate_layout(f, name, FORMAT, VERSION)
        except BaseException:
            f.close()
            raise
        self._h5 = f
        return f

    def close(self) -> None:
        """Drop the open handle (the next access reopens the file)."""
        if self._h5 is not None:
            self._h5.close()
        self._h5, self._cols, self._reference = None, None, None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r})"

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Per-frame columns held in memory (read-only views: do not modify)."""
        self._open()
        assert self._cols is not None
        return self._cols

    @property
    def reference(self) -> dict[str, Any]:
        """The reference method that labelled every frame (a copy)."""
        self._open()
        return json.loads(json.dumps(self._reference))

    def check_reference(self, reference: dict[str, Any]) -> None:
        """Raise :class:`InputError` unless ``reference`` equals this file's reference."""
        mine = json.dumps(self.reference, sort_keys=True)
        theirs = _canonical(reference, str(self.path))
        if mine != theirs:
            raise InputError(
                f"reference method {theirs} differs from the file's {mine}; one file holds "
                "frames of one reference method",
                file=str(self.path),
                field="reference",
                fix="write these frames to a separate dataset",
            )

    def __len__(self) -> int:
        return len(self.columns["n_atoms"])

    def atom_column(self, name: str) -> np.ndarray:
        """A whole per-atom column (``numbers``, ``positions`` or ``forces``), read now."""
        if name not in ATOM_FIELDS:
            raise KeyError(f"no per-atom column {name!r}; valid: {', '.join(ATOM_FIELDS)}")
        return self._open()["atoms"][name][()]

    def keys(self) -> list[str]:
        """Content keys of the frames, in file order."""
        return [str(k) for k in self.columns["key"]]

    def statuses(self) -> np.ndarray:
        """Status of each frame, a ``[F]`` array of str."""
        return self.columns["status"].astype(str)

    def __getitem__(self, i: int) -> Frame:
        n = len(self)
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"dataset index must be an int, not {type(i).__name__}")
        if not -n <= i < n:
            raise IndexError(f"frame {i} out of range for {n} frames in {self.path}")
        return next(self._read_block(int(i) % n, int(i) % n + 1))

    def __iter__(self) -> Iterator[Frame]:
        n = len(self)
        for start in range(0, n, _ITER_BLOCK):
            yield from self._read_block(start, min(start + _ITER_BLOCK, n))

    def _read_block(self, start: int, stop: int) -> Iterator[Frame]:
        f = self._open()
        c = self.columns
        a0 = int(c["offset"][start])
        a1 = int(c["offset"][stop - 1] + c["n_atoms"][stop - 1])
        atoms = {k: f["atoms"][k][a0:a1] for k in ATOM_FIELDS}
        for i in range(start, stop):
            s = slice(int(c["offset"][i]) - a0, int(c["offset"][i] + c["n_atoms"][i]) - a0)
            yield rows.make_frame(c, i, {k: v[s] for k, v in atoms.items()}, str(self.path))

    def validate(self) -> None:
        """Full scan: finite positions; ``ok`` frames fully labelled (else InputError)."""
        f = self._open()
        validation.scan_atoms(f, self.columns, str(self.path))

    # ---------------------------------------------------------------- selection
    def select(
        self,
        status: str | Iterable[str] | None = None,
        species: Iterable[int | str] | None = None,
        keys: Iterable[str] | None = None,
    ) -> list[int]:
        """Indices of frames matching every given filter.

        Args:
            status: a status or several (e.g. ``"ok"``).
            species: atomic numbers or symbols; keeps frames made ONLY of these elements.
            keys: content keys to keep.
        """
        c = self.columns
        mask = np.ones(len(self), dtype=bool)
        if status is not None:
            wanted = {status} if isinstance(status, str) else set(status)
            bad = wanted - set(STATUSES)
            if bad:
                raise InputError(
                    f"unknown status {sorted(bad)}", field="status", fix=f"use one of {STATUSES}"
                )
            mask &= np.isin(c["status"].astype(str), sorted(wanted))
        if species is not None:
            allowed = atomic_numbers(species)
            numbers = self.atom_column("numbers")
            foreign = (~np.isin(numbers, allowed)).astype(np.int64)
            per_frame = np.zeros(len(self), dtype=np.int64)
            has_atoms = c["n_atoms"] > 0
            if has_atoms.any():
                per_frame[has_atoms] = np.add.reduceat(foreign, c["offset"][has_atoms])
            mask &= per_frame == 0
        if keys is not None:
            mask &= np.isin(c["key"].astype(str), list(keys))
        return np.flatnonzero(mask).tolist()

    def split(
        self,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        seed: int = 0,
        indices: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Seeded train/val/test split of ``indices`` (default: all frames); see
        :func:`mlmd.data.split.split`."""
        return split(self.keys(), fractions, seed, indices, str(self.path))

    # ------------------------------------------------------------------ writing
    def append(self, frames: Iterable[Frame], *, reference: dict[str, Any] | None = None) -> int:
        """Append ``frames`` atomically (all or none); returns how many were appended.

        If ``reference`` is given it must equal the file's reference method.
        """
        batch = validation.check_frames(frames, str(self.path))
        if reference is not None:
            self.check_reference(reference)
        if batch:
            self._transaction(lambda f: rows.append_rows(f, batch))
        return len(batch)

    def upsert(
        self, frames: Iterable[Frame], *, reference: dict[str, Any] | None = None
    ) -> tuple[int, int]:
        """Replace frames with the same key (in place) and append the rest, atomically.

        Within ``frames`` the last frame of a key wins. Returns (replaced, appended).
        """
        batch = validation.check_frames(frames, str(self.path))
        if reference is not None:
            self.check_reference(reference)
        counts = (0, 0)

        def change(f: h5py.File) -> None:
            nonlocal counts
            counts = rows.upsert_rows(f, batch, str(self.path))

        if batch:
            self._transaction(change)
        return counts

    def _transaction(self, change: Callable[[h5py.File], None]) -> None:
        """Copy the file, apply ``change`` to the copy, fsync, and rename it over the file."""
        self._open()  # validate the current file before anything else
        self.close()
        with _writer_lock(self.path), atomic_output(self.path) as tmp:
            shutil.copyfile(self.path, tmp)
            with h5py.File(tmp, "r+") as f:
                validation.validate_layout(f, str(self.path), FORMAT, VERSION)
                upgrade_layout(f)
                change(f)
                f.attrs["mlmd_version"] = __version__


@contextlib.contextmanager
def _writer_lock(path: Path) -> Iterator[None]:
    """Exclusive ``flock`` of the hidden sidecar ``.<name>.lock`` beside ``path``."""
    require_directory(path)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


def write_empty(path: Path, reference_json: str) -> None:
    """Write an empty dataset with reference ``reference_json`` to ``path`` atomically."""
    with atomic_output(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(
            format=FORMAT, version=VERSION, reference=reference_json, mlmd_version=__version__
        )
        create_layout(f)
