"""H5MD 1.1 trajectory writer (contract 4 of the design): rank 0 writes, others send.

Layout: ``/h5md`` (version [1, 1], creator), ``/particles/all/{box/edges, position, image,
velocity?, force?}`` each with ``value``, ``step``, ``time`` (fs), the time-independent
``species``, ``mass`` and ``id`` (rows sorted by id), ``/observables/<name>`` time series, and
``/parameters`` carrying the run config as JSON. Positions are wrapped into the cell;
unwrapped = position + image @ cell. Files are flushed after every frame, and a restarted
run truncates frames past its checkpoint before appending.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from mlmd import __version__
from mlmd.md.observables import UNITS


def _series(
    group: h5py.Group, name: str, shape: tuple[int, ...], dtype, unit: str | None, rows: int = 1
):
    """The time-series group ``name`` (created empty if absent): ``value`` [T, *shape] in
    chunks of ``rows`` rows (1 for frames; observables take blocks), ``step``, ``time``."""
    g = group.require_group(name)
    if "value" not in g:
        g.create_dataset(
            "value",
            shape=(0, *shape),
            maxshape=(None, *shape),
            dtype=dtype,
            chunks=(rows, *shape),
        )
        g.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1024,))
        g.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(1024,))
        g["time"].attrs["unit"] = "fs"
        if unit:
            g["value"].attrs["unit"] = unit
    return g


def _append(g: h5py.Group, value, step: int, time_fs: float) -> None:
    n = g["step"].shape[0]
    for key, v in (("value", value), ("step", step), ("time", time_fs)):
        ds = g[key]
        ds.resize(n + 1, axis=0)
        ds[n] = v


class H5MDWriter:
    """Append frames and observables to an H5MD file (rank 0 only).

    Args:
        path: the ``.h5`` file.
        species / masses / ids: [N] arrays sorted by id.
        config: the resolved run config (stored as JSON in ``/parameters``).
        velocities / forces: also write these.
        restart_step: when given, reopen ``path`` and drop every frame after this step.
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
        n = len(ids)
        if restart_step is not None and self.path.exists():
            self.file = h5py.File(self.path, "a")
            self._truncate(restart_step)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self.file = h5py.File(self.path, "w")
        f.require_group("h5md").attrs["version"] = np.array([1, 1])
        creator = f["h5md"].require_group("creator")
        creator.attrs["name"], creator.attrs["version"] = "mlmd", __version__
        parts = f.require_group("particles/all")
        box = parts.require_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = np.array([b"periodic"] * 3)
        _series(box, "edges", (3, 3), np.float64, "angstrom")
        _series(parts, "position", (n, 3), np.float64, "angstrom")
        _series(parts, "image", (n, 3), np.int32, None)
        if velocities:
            _series(parts, "velocity", (n, 3), np.float64, "angstrom fs-1")
        if forces:
            _series(parts, "force", (n, 3), np.float64, "eV angstrom-1")
        parts.create_dataset("species", data=np.asarray(species, np.int32))
        parts.create_dataset("mass", data=np.asarray(masses, np.float64)).attrs["unit"] = "amu"
        parts.create_dataset("id", data=np.asarray(ids, np.int64))
        f.require_group("parameters").attrs["config"] = json.dumps(config)
        f.require_group("observables")
        f.flush()

    def _truncate(self, step: int) -> None:
        def cut(name: str, obj) -> None:
            if isinstance(obj, h5py.Group) and "step" in obj and "value" in obj:
                keep = int((obj["step"][()] <= step).sum())
                for key in ("value", "step", "time"):
                    obj[key].resize(keep, axis=0)

        self.file.visititems(cut)
        self.file.flush()

    def write_frame(
        self,
        step: int,
        time_fs: float,
        cell: np.ndarray,
        positions: np.ndarray,
        images: np.ndarray,
        velocities: np.ndarray | None = None,
        forces: np.ndarray | None = None,
    ) -> None:
        """Append one frame; arrays [N, 3] sorted by id, positions wrapped into ``cell``."""
        parts = self.file["particles/all"]
        _append(parts["box/edges"], cell, step, time_fs)
        _append(parts["position"], positions, step, time_fs)
        _append(parts["image"], images.astype(np.int32), step, time_fs)
        if self.velocities and velocities is not None:
            _append(parts["velocity"], velocities, step, time_fs)
        if self.forces and forces is not None:
            _append(parts["force"], forces, step, time_fs)
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
            g = _series(obs, name, values.shape[1:], np.float64, UNITS.get(name), 1024)
            n, k = g["step"].shape[0], len(rows)
            for key, data in (("value", values), ("step", steps), ("time", times)):
                g[key].resize(n + k, axis=0)
                g[key][n:] = data
        self._pending = {}
        self.file.flush()

    def close(self) -> None:
        self.flush()
        self.file.close()
