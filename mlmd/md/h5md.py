"""H5MD 1.1 trajectory writer (contract 4 of the design): rank 0 writes, others send.

Layout (H5MD 1.1 with the units module; read by mlmd's analysis, MDAnalysis 2.x
``format="H5MD"`` and pyh5md 1.2):

- ``/h5md``: ``version`` [1, 1]; ``author`` and ``creator`` (``name``, ``version``) as
  fixed-length strings; ``modules/units`` (``version`` [1, 0]) declares the unit attributes.
- ``/particles/all``: ``box`` (``dimension`` 3, ``boundary`` periodic, ``edges`` [T, 3, 3]
  rows = lattice vectors), ``position`` (wrapped into the cell), ``image`` (unwrapped =
  position + image @ edges), ``velocity``?, ``force``?, each with ``value``, and one
  ``step`` / ``time`` pair owned by ``position`` and hard-linked from every other element
  written with the frames; time-independent ``species``, ``mass``, ``id`` (rows sorted by id).
- ``/observables/<name>``: time series with their own ``step`` / ``time`` (names and units
  from :mod:`mlmd.md.observables`; ``pressure_tensor`` is [T, 3, 3]).
- ``/parameters``: the run config as JSON (attribute ``config``).

Units follow the H5MD units module's strings (:data:`UNIT`): Angstrom, fs, Angstrom fs-1,
u; forces are stored in kJ mol-1 Angstrom-1 (MDAnalysis knows no eV-based force unit; the
factor from eV/Å is :data:`FORCE_KJ_MOL_PER_EV`). Frames are flushed as written, observables
in blocks; a restarted run truncates every series past its checkpoint before appending.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from ase import units as ase_units

from mlmd import __version__
from mlmd.md.observables import UNITS

#: Unit strings of the particle data (H5MD units module syntax: symbols, powers, spaces).
UNIT = {
    "length": "Angstrom",
    "time": "fs",
    "velocity": "Angstrom fs-1",
    "force": "kJ mol-1 Angstrom-1",
    "mass": "u",
}
#: kJ/mol per eV: stored forces = mlmd forces (eV/Å) × this.
FORCE_KJ_MOL_PER_EV = float(ase_units.eV / (ase_units.kJ / ase_units.mol))
#: Elements written with every frame: they share position's step and time (hard links).
FRAME_ELEMENTS = ("box/edges", "position", "image", "velocity", "force")


def _fixed(text: str) -> np.bytes_:
    """A fixed-length ASCII string attribute value (H5MD's string type)."""
    return np.bytes_(text.encode("ascii", "replace"))


def _series(
    group: h5py.Group,
    name: str,
    shape: tuple[int, ...],
    dtype,
    unit: str | None,
    *,
    rows: int = 1,
    clock: h5py.Group | None = None,
):
    """The time-dependent element ``name`` (created empty if absent): ``value`` [T, *shape]
    in chunks of ``rows`` rows (1 for frames; observables take blocks), and ``step`` /
    ``time`` of its own, or hard links to those of the element ``clock``."""
    g = group.require_group(name)
    if "value" not in g:
        g.create_dataset(
            "value", shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(rows, *shape)
        )
        if unit:
            g["value"].attrs["unit"] = unit
        if clock is not None:
            g["step"], g["time"] = clock["step"], clock["time"]
        else:
            g.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1024,))
            g.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(1024,))
            g["time"].attrs["unit"] = UNIT["time"]
    return g


def _grow(ds: h5py.Dataset, rows) -> None:
    n = ds.shape[0]
    ds.resize(n + len(rows), axis=0)
    ds[n:] = rows


class H5MDWriter:
    """Append frames and observables to an H5MD file (rank 0 only).

    Args:
        path: the ``.h5`` file.
        species / masses / ids: [N] arrays sorted by id.
        config: the resolved run config (stored as JSON in ``/parameters``).
        velocities / forces: also write these.
        restart_step: when given, reopen ``path`` and drop every row after this step.
    """

    def __init__(
        self,
        path: str | Path,
        species: np.ndarray,
        masses: np.ndarray,
        ids: np.ndarray,
        config: dict,
        *,
        velocities: bool = False,
        forces: bool = False,
        restart_step: int | None = None,
    ):
        self.path = Path(path)
        self.velocities, self.forces = velocities, forces
        self._pending: dict[str, list] = {}
        self.buffer_rows = 500
        if restart_step is not None and self.path.exists():
            self.file = h5py.File(self.path, "a")
            self._truncate(restart_step)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = h5py.File(self.path, "w")
        self._header()
        self._particles(np.asarray(species), np.asarray(masses), np.asarray(ids))
        self.file.require_group("parameters").attrs["config"] = json.dumps(config)
        self.file.require_group("observables")
        self.file.flush()

    def _header(self) -> None:
        h5md = self.file.require_group("h5md")
        h5md.attrs["version"] = np.array([1, 1], dtype=np.int32)
        h5md.require_group("author").attrs["name"] = _fixed("mlmd md run")
        creator = h5md.require_group("creator")
        creator.attrs["name"], creator.attrs["version"] = _fixed("mlmd"), _fixed(__version__)
        h5md.require_group("modules/units").attrs["version"] = np.array([1, 0], dtype=np.int32)

    def _particles(self, species: np.ndarray, masses: np.ndarray, ids: np.ndarray) -> None:
        n = len(ids)
        parts = self.file.require_group("particles/all")
        position = _series(parts, "position", (n, 3), np.float64, UNIT["length"])
        box = parts.require_group("box")
        box.attrs["dimension"] = np.int32(3)
        box.attrs["boundary"] = np.array([b"periodic"] * 3)
        _series(box, "edges", (3, 3), np.float64, UNIT["length"], clock=position)
        _series(parts, "image", (n, 3), np.int32, None, clock=position)
        if self.velocities:
            _series(parts, "velocity", (n, 3), np.float64, UNIT["velocity"], clock=position)
        if self.forces:
            _series(parts, "force", (n, 3), np.float64, UNIT["force"], clock=position)
        parts.create_dataset("species", data=np.asarray(species, np.int32))
        mass = parts.create_dataset("mass", data=np.asarray(masses, np.float64))
        mass.attrs["unit"] = UNIT["mass"]
        parts.create_dataset("id", data=np.asarray(ids, np.int64))

    def _truncate(self, step: int) -> None:
        """Drop every row after ``step`` (shared step/time datasets are cut once)."""
        groups = []
        self.file.visititems(
            lambda _, obj: (
                groups.append(obj)
                if isinstance(obj, h5py.Group) and "step" in obj and "value" in obj
                else None
            )
        )
        keep = {g.name: int((g["step"][()] <= step).sum()) for g in groups}
        for g in groups:
            for key in ("value", "step", "time"):
                g[key].resize(keep[g.name], axis=0)
        self.file.flush()

    def write_frame(
        self,
        step: int,
        time_fs: float,
        cell: np.ndarray,
        positions: np.ndarray,
        images: np.ndarray,
        *,
        velocities: np.ndarray | None = None,
        forces: np.ndarray | None = None,
    ) -> None:
        """Append one frame; arrays [N, 3] sorted by id, positions wrapped into ``cell``,
        forces in eV/Å (stored in kJ mol-1 Angstrom-1); ``velocities`` / ``forces`` when the
        writer was opened with them."""
        parts = self.file["particles/all"]
        values = {"box/edges": cell, "position": positions, "image": images.astype(np.int32)}
        if self.velocities:
            values["velocity"] = velocities
        if self.forces:
            values["force"] = forces * FORCE_KJ_MOL_PER_EV
        for name, value in values.items():
            _grow(parts[name]["value"], value[None])
        _grow(parts["position/step"], [step])
        _grow(parts["position/time"], [time_fs])
        self.flush()

    def write_observables(self, step: int, time_fs: float, values: dict) -> None:
        """Queue observables (names from :mod:`mlmd.md.observables`: scalars, or arrays such
        as ``pressure_tensor`` [3, 3]); each name is its own series with its own step/time.
        They reach the file in blocks of :attr:`buffer_rows` rows (no flush per step), with
        every frame and on :meth:`flush` / :meth:`close`."""
        for name, value in values.items():
            self._pending.setdefault(name, []).append((step, time_fs, value))
        if max(len(v) for v in self._pending.values()) >= self.buffer_rows:
            self.flush()

    def flush(self) -> None:
        """Write queued observables and flush the file."""
        obs = self.file["observables"]
        for name, rows in self._pending.items():
            if not rows:
                continue
            steps, times, values = zip(*rows, strict=True)
            values = np.asarray(values, dtype=np.float64)
            g = _series(obs, name, values.shape[1:], np.float64, UNITS.get(name), rows=1024)
            for key, data in (("value", values), ("step", steps), ("time", times)):
                _grow(g[key], data)
        self._pending = {}
        self.file.flush()

    def close(self) -> None:
        self.flush()
        self.file.close()
