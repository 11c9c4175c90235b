"""Reader of H5MD 1.x trajectories (https://www.nongnu.org/h5md/h5md.html), streamed.

Reads ``/particles/<group>/``: ``position`` (required), ``box`` (``edges`` fixed or
time-dependent, a vector for a cuboid or a matrix whose rows are the edge vectors),
``species``, ``mass``, ``image`` and ``velocity`` (optional), with ``step``/``time`` either
as arrays or as H5MD's fixed-interval scalars. ``unit`` attributes are honoured
(:mod:`mlmd.analysis.h5md_units`). Species are atomic numbers when the file was written by
mlmd; other writers store type indices, which ``species_map`` turns into elements; without a
map they stay anonymous kinds ``type1, type2, ...``. ``/observables`` are read by
:meth:`H5mdReader.observables`, the MD config of an mlmd run by :meth:`H5mdReader.run_config`.

A file that HDF5 cannot open or read (truncated by a killed writer or a full disk, damaged)
is an :class:`~mlmd.errors.InputError` naming the file, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import h5py
import numpy as np

from mlmd.analysis.h5md_units import length_factor, time_factor, velocity_factor
from mlmd.analysis.trajectory import (
    Series,
    Snapshot,
    TrajectoryReader,
    map_species,
    masses_for,
)
from mlmd.errors import InputError

_DAMAGED_FIX = (
    "the file is truncated or damaged (a killed writer, a full disk, an incomplete copy): "
    "copy it again, or rerun the MD that wrote it"
)


def attr_str(value) -> str:
    """An HDF5 string attribute (bytes or str; None → "") as str."""
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)


def fixed_or_array(dataset, n: int, default):
    """H5MD step/time: an array [T], or a scalar interval (with optional ``offset`` attr)."""
    if dataset is None:
        return default
    data = np.asarray(dataset[()])
    if data.ndim == 0:
        offset = dataset.attrs.get("offset", 0)
        return offset + data * np.arange(n)
    return data[:n]


def open_h5(path: Path) -> h5py.File:
    """Open read-only; HDF5's errors on a damaged file become an InputError."""
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"HDF5 cannot open it ({exc})", file=str(path), fix=_DAMAGED_FIX) from None


def particle_group(f: h5py.File, path: Path, group: str | None) -> tuple[h5py.Group, str]:
    """The particle group to read (``all``, the only one, or the one named) and its name."""
    parts = f.get("particles")
    if parts is None or not len(parts):
        raise InputError(
            "no /particles group",
            file=str(path),
            field="particles",
            fix="give an H5MD trajectory (particles/<group>/position)",
        )
    if group is None:
        group = "all" if "all" in parts else sorted(parts)[0]
        if group != "all" and len(parts) > 1:
            raise InputError(
                f"several particle groups: {', '.join(sorted(parts))}",
                file=str(path),
                field="particles",
                fix="choose one with --group",
            )
    if group not in parts:
        raise InputError(
            "no such particle group",
            file=str(path),
            field=f"particles/{group}",
            fix=f"one of {', '.join(sorted(parts))}",
        )
    return parts[group], f"particles/{group}"


def position_element(g: h5py.Group, path: Path, where: str) -> h5py.Group:
    if "position" not in g or "value" not in g["position"]:
        raise InputError(
            "missing time-dependent position",
            file=str(path),
            field=f"{where}/position/value",
            fix="write positions as an H5MD time-dependent element",
        )
    return g["position"]


def time_axis(element: h5py.Group, n: int, path: Path, field: str):
    """(steps [T] int, times [T] fs) of a time-dependent element (times = steps if none)."""
    steps = fixed_or_array(element.get("step"), n, default=np.arange(n))
    tfac = 1.0
    if "time" in element:
        tfac = time_factor(element["time"].attrs.get("unit"), str(path), f"{field}/time")
    times = fixed_or_array(element.get("time"), n, default=None)
    if times is None:
        times = steps.astype(float)
    return np.asarray(steps, dtype=np.int64), np.asarray(times, dtype=float) * tfac


def box_of(g: h5py.Group, path: Path, where: str):
    """(edges dataset, length factor, time dependent?, pbc [3]) of the particle group's box."""
    if "box" not in g or "edges" not in g["box"]:
        raise InputError(
            "missing box edges",
            file=str(path),
            field=f"{where}/box/edges",
            fix="write the periodic box (H5MD box/edges)",
        )
    box = g["box"]
    boundary = box.attrs.get("boundary", ["periodic"] * 3)
    pbc = np.array([attr_str(b) == "periodic" for b in boundary], dtype=bool)
    edges = box["edges"]
    value = edges["value"] if "value" in edges else edges
    factor = length_factor(value.attrs.get("unit"), str(path), f"{where}/box/edges")
    return value, factor, "value" in edges, pbc


def species_of(
    f: h5py.File, g: h5py.Group, n_atoms: int, path: Path, species_map: Mapping[int, str] | None
) -> np.ndarray:
    """[N] atomic numbers (or −type): mlmd files store atomic numbers, others types."""
    if "species" not in g:
        return -np.ones(n_atoms, dtype=np.int64)
    sp = g["species"]
    raw = sp["value"][0] if "value" in sp else sp[()]
    raw = np.broadcast_to(np.asarray(raw, dtype=np.int64), (n_atoms,))
    creator = f.get("h5md/creator")
    mlmd_file = creator is not None and attr_str(creator.attrs.get("name")) == "mlmd"
    if mlmd_file and not species_map:
        return raw.copy()
    return map_species(raw, species_map, str(path))


def masses_of(g: h5py.Group, numbers: np.ndarray) -> np.ndarray:
    if "mass" in g and isinstance(g["mass"], h5py.Dataset):
        return np.broadcast_to(np.asarray(g["mass"][()], float), (len(numbers),)).copy()
    return masses_for(numbers)


class H5mdReader(TrajectoryReader):
    """Reader of H5MD 1.x files (see the module docstring)."""

    format = "h5md"

    def __init__(
        self,
        path: str | Path,
        group: str | None = None,
        species_map: Mapping[int, str] | None = None,
    ):
        self.path = Path(path)
        self._file = open_h5(self.path)
        try:
            self._read_layout(group, species_map)
        except OSError as exc:  # a dataset HDF5 cannot read
            self.close()
            raise InputError(
                f"HDF5 cannot read it ({exc})", file=str(self.path), fix=_DAMAGED_FIX
            ) from None
        except InputError:
            self.close()
            raise

    def _read_layout(self, group: str | None, species_map: Mapping[int, str] | None) -> None:
        f, path = self._file, self.path
        g, where = particle_group(f, path, group)
        position = position_element(g, path, where)
        self._pos = position["value"]
        self.n_frames, self.n_atoms = int(self._pos.shape[0]), int(self._pos.shape[1])
        self._len = length_factor(self._pos.attrs.get("unit"), str(path), f"{where}/position")
        self._steps, self._times = time_axis(position, self.n_frames, path, f"{where}/position")
        self._box, self._box_factor, self._box_time_dependent, self.pbc = box_of(g, path, where)
        self.numbers = species_of(f, g, self.n_atoms, path, species_map)
        self.masses = masses_of(g, self.numbers)
        self._image = g["image"]["value"] if "image" in g else None
        self._vel = g["velocity"]["value"] if "velocity" in g else None
        self._vel_factor = 1.0
        if self._vel is not None:
            unit = self._vel.attrs.get("unit")
            self._vel_factor = velocity_factor(unit, str(path), f"{where}/velocity")
        self.has_images = self._image is not None
        self.has_velocities = self._vel is not None
        self.time_known = "time" in position

    def frame_times(self) -> tuple[np.ndarray, np.ndarray]:
        return self._steps.copy(), self._times.copy()

    def _cell(self, t: int) -> np.ndarray:
        value = self._box[t] if self._box_time_dependent else self._box[()]
        edges = np.asarray(value, dtype=float)
        cell = np.diag(edges) if edges.ndim == 1 else edges
        return cell * self._box_factor

    def cells(self, selection: slice = slice(None)) -> np.ndarray:
        idx = range(self.n_frames)[selection]
        if not self._box_time_dependent:
            return np.broadcast_to(self._cell(0), (len(idx), 3, 3)).copy()
        if not len(idx):
            return np.zeros((0, 3, 3))
        edges = np.asarray(self._box[()], dtype=float)[list(idx)] * self._box_factor
        return np.stack([np.diag(e) for e in edges]) if edges.ndim == 2 else edges

    def _snapshot(self, t: int) -> Snapshot:
        return Snapshot(
            index=t,
            step=int(self._steps[t]),
            time_fs=float(self._times[t]),
            positions=np.asarray(self._pos[t], dtype=np.float64) * self._len,
            cell=self._cell(t),
            pbc=self.pbc,
            image=None if self._image is None else np.asarray(self._image[t], np.int64),
            velocities=None
            if self._vel is None
            else np.asarray(self._vel[t], np.float64) * self._vel_factor,
        )

    def frames(self, selection: slice = slice(None)) -> Iterator[Snapshot]:
        for t in range(self.n_frames)[selection]:
            try:
                snap = self._snapshot(t)
            except OSError as exc:
                raise InputError(
                    f"HDF5 cannot read frame {t} ({exc})", file=str(self.path), fix=_DAMAGED_FIX
                ) from None
            yield snap

    def observables(self) -> dict[str, Series]:
        obs = self._file.get("observables")
        if obs is None:
            return {}
        found: dict[str, Series] = {}

        def visit(name, node):
            if isinstance(node, h5py.Group) and "value" in node:
                series = _series(node, name, self.path)
                if series is not None:
                    found[name] = series

        obs.visititems(visit)
        return found

    def run_config(self) -> dict | None:
        params = self._file.get("parameters")
        text = None if params is None else params.attrs.get("config")
        if text is None:
            return None
        try:
            config = json.loads(attr_str(text))
        except ValueError:
            raise InputError(
                "the stored run config is not JSON",
                file=str(self.path),
                field="parameters (attribute config)",
                fix="analyse without --segment, or rewrite the trajectory",
            ) from None
        return config if isinstance(config, dict) else None

    def close(self) -> None:
        if getattr(self, "_file", None) is not None:
            self._file.close()
            self._file = None


def _series(node: h5py.Group, name: str, path: Path) -> Series | None:
    """A 1-D observable (others, e.g. the pressure tensor [T,3,3], are left out)."""
    value = np.asarray(node["value"][()], dtype=float)
    if value.ndim != 1:
        return None
    n = len(value)
    steps = fixed_or_array(node.get("step"), n, default=np.arange(n))
    times = fixed_or_array(node.get("time"), n, default=steps.astype(float))
    tfac = time_factor(node["time"].attrs.get("unit"), str(path), name) if "time" in node else 1.0
    unit = attr_str(node["value"].attrs.get("unit", ""))
    return Series(value, np.asarray(steps, np.int64), np.asarray(times, float) * tfac, unit)
