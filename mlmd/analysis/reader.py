"""Stream frames from a trajectory: any standard H5MD file, or extxyz / LAMMPS dumps via ASE.

Frames are read one at a time (``TrajectoryReader.frames``); the trajectory is never held in
memory as a whole. H5MD (https://www.nongnu.org/h5md/h5md.html, version 1.1) is read from
``/particles/<group>/``: ``position`` (required), ``box`` (``edges`` fixed or time-dependent,
a vector for a cuboid or a matrix whose rows are the edge vectors), ``species``, ``mass``,
``image`` and ``velocity`` (optional), with ``step``/``time`` either as arrays or as H5MD's
fixed-interval scalars. ``unit`` attributes are honoured (Å, nm, pm, Bohr; fs, ps, ns).
Species are atomic numbers when the file was written by mlmd; other writers store type indices,
which ``species_map`` turns into elements (``{1: "Si", 2: "O"}``); without a map they are
kept as anonymous kinds ``type1, type2, ...``. ``/observables`` are read by
:meth:`TrajectoryReader.observables`. Units out: Å, fs, Å/fs, amu.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from mlmd.analysis.h5md_units import length_factor, time_factor, velocity_factor
from mlmd.errors import InputError


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One frame. ``positions`` [N,3] Å (as stored, usually wrapped), ``cell`` [3,3] Å rows =
    lattice vectors, ``pbc`` [3] bool, ``image`` [N,3] int or None, ``velocities`` [N,3] Å/fs or
    None, ``step`` (MD step, or the frame index when the file has none), ``time_fs``."""

    index: int
    step: int
    time_fs: float
    positions: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    image: np.ndarray | None = None
    velocities: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class Series:
    """A time series from ``/observables``: ``value`` [T] in ``unit``, ``step`` [T], ``time_fs``."""

    value: np.ndarray
    step: np.ndarray
    time_fs: np.ndarray
    unit: str


def parse_frames(text: str | None, n_frames: int | None = None) -> slice:
    """``"a:b:c"`` (Python slice syntax; ``"5"`` means the single frame 5) → slice."""
    if text is None or text.strip() in ("", ":", "::"):
        return slice(None)
    parts = text.split(":")
    try:
        values = [int(p) if p.strip() else None for p in parts]
    except ValueError:
        raise InputError(
            f"'{text}' is not a slice", field="--frames", fix="write START:STOP:STEP, e.g. 10::2"
        ) from None
    if len(values) == 1:
        k = values[0]
        return slice(k, None if k == -1 else k + 1)
    if len(values) > 3 or values[-1] == 0 and len(values) == 3:
        raise InputError(f"'{text}' is not a slice", field="--frames", fix="e.g. 0:100:5")
    return slice(*values)


def species_labels(numbers: np.ndarray) -> list[str]:
    """Element symbols for atomic numbers (``type<k>`` for unknown ones, stored as -k)."""
    from ase.data import chemical_symbols

    return [chemical_symbols[z] if z > 0 else f"type{-z}" for z in numbers]


class TrajectoryReader:
    """Common interface of the readers. Attributes: ``path``, ``format``, ``n_frames`` (None
    when unknown until read), ``n_atoms``, ``numbers`` [N] (atomic number, or −type for
    anonymous kinds), ``masses`` [N] amu (NaN if unknown), ``has_images``, ``has_velocities``,
    ``time_known`` (False when times are frame indices or steps, not fs)."""

    path: Path
    format: str
    n_frames: int | None
    n_atoms: int
    numbers: np.ndarray
    masses: np.ndarray
    has_images: bool
    has_velocities: bool
    time_known: bool = True

    def frames(self, selection: slice = slice(None)) -> Iterator[Snapshot]:
        raise NotImplementedError

    def cells(self, selection: slice = slice(None)) -> np.ndarray | None:
        """[T,3,3] Å for the selected frames if cheap to get without reading positions."""
        return None

    def observables(self) -> dict[str, Series]:
        return {}

    def close(self) -> None:
        pass

    def __enter__(self) -> TrajectoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _masses_for(numbers: np.ndarray) -> np.ndarray:
    from ase.data import atomic_masses

    masses = np.full(len(numbers), np.nan)
    known = numbers > 0
    masses[known] = atomic_masses[numbers[known]]
    return masses


def _map_species(raw: np.ndarray, species_map: Mapping[int, str] | None, file: str) -> np.ndarray:
    """Raw species values → atomic numbers through ``species_map`` (else −type, anonymous)."""
    from ase.data import atomic_numbers

    raw = np.asarray(raw, dtype=np.int64)
    if not species_map:
        return -raw if (raw > 0).all() else -(raw - raw.min() + 1)
    out = np.empty_like(raw)
    for value in np.unique(raw):
        name = species_map.get(int(value))
        if name is None or name not in atomic_numbers:
            raise InputError(
                f"species value {value} has no element in the species map",
                file=file,
                field="species",
                fix="give every stored species value an element, e.g. --species-map 1=Si,2=O",
            )
        out[raw == value] = atomic_numbers[name]
    return out


class H5mdReader(TrajectoryReader):
    """Reader of H5MD 1.x files (see the module docstring)."""

    format = "h5md"

    def __init__(
        self,
        path: str | Path,
        group: str | None = None,
        species_map: Mapping[int, str] | None = None,
    ):
        import h5py

        self.path = Path(path)
        self._file = h5py.File(self.path, "r")
        f = self._file
        parts = f.get("particles")
        if parts is None or not len(parts):
            self.close()
            raise InputError(
                "no /particles group",
                file=str(path),
                field="particles",
                fix="give an H5MD trajectory (particles/<group>/position)",
            )
        if group is None:
            group = "all" if "all" in parts else sorted(parts)[0]
            if group != "all" and len(parts) > 1:
                self.close()
                raise InputError(
                    f"several particle groups: {', '.join(sorted(parts))}",
                    file=str(path),
                    field="particles",
                    fix="choose one with --group",
                )
        if group not in parts:
            self.close()
            raise InputError(
                "no such particle group",
                file=str(path),
                field=f"particles/{group}",
                fix=f"one of {', '.join(sorted(parts))}",
            )
        self._g = g = parts[group]
        where = f"particles/{group}"
        if "position" not in g or "value" not in g["position"]:
            self.close()
            raise InputError(
                "missing time-dependent position",
                file=str(path),
                field=f"{where}/position/value",
                fix="write positions as an H5MD time-dependent element",
            )
        self._pos = g["position"]["value"]
        self.n_frames, self.n_atoms = int(self._pos.shape[0]), int(self._pos.shape[1])
        self._len = length_factor(self._pos.attrs.get("unit"), str(path), f"{where}/position")
        self._steps, self._times = self._time_axis(g["position"], f"{where}/position")
        self._box, self.pbc = self._read_box(g, where)
        creator = f.get("h5md/creator")
        mlmd_file = creator is not None and _attr_str(creator.attrs.get("name")) == "mlmd"
        self.numbers = self._read_species(g, where, mlmd_file, species_map)
        if "mass" in g and isinstance(g["mass"], _h5_dataset()):
            self.masses = np.broadcast_to(np.asarray(g["mass"][()], float), (self.n_atoms,)).copy()
        else:
            self.masses = _masses_for(self.numbers)
        self._image = g["image"]["value"] if "image" in g else None
        self._vel = g["velocity"]["value"] if "velocity" in g else None
        self._vel_factor = (
            velocity_factor(self._vel.attrs.get("unit"), str(path), f"{where}/velocity")
            if self._vel is not None
            else 1.0
        )
        self.has_images = self._image is not None
        self.has_velocities = self._vel is not None
        self.time_known = "time" in g["position"]

    def _time_axis(self, element, field: str) -> tuple[np.ndarray, np.ndarray]:
        n = self.n_frames
        steps = _fixed_or_array(element.get("step"), n, default=np.arange(n))
        tfac = 1.0
        if "time" in element:
            tfac = time_factor(element["time"].attrs.get("unit"), str(self.path), f"{field}/time")
        times = _fixed_or_array(element.get("time"), n, default=None)
        if times is None:
            times = steps.astype(float)
        return steps.astype(np.int64), times.astype(float) * tfac

    def _read_box(self, g, where: str):
        if "box" not in g or "edges" not in g["box"]:
            self.close()
            raise InputError(
                "missing box edges",
                file=str(self.path),
                field=f"{where}/box/edges",
                fix="write the periodic box (H5MD box/edges)",
            )
        box = g["box"]
        boundary = box.attrs.get("boundary", ["periodic"] * 3)
        pbc = np.array([_attr_str(b) == "periodic" for b in boundary], dtype=bool)
        edges = box["edges"]
        value = edges["value"] if "value" in edges else edges
        factor = length_factor(value.attrs.get("unit"), str(self.path), f"{where}/box/edges")
        self._box_time_dependent = "value" in edges
        return (value, factor), pbc

    def _read_species(self, g, where, mlmd_file, species_map):
        if "species" not in g:
            return -np.ones(self.n_atoms, dtype=np.int64)
        sp = g["species"]
        raw = sp["value"][0] if "value" in sp else sp[()]
        raw = np.broadcast_to(np.asarray(raw, dtype=np.int64), (self.n_atoms,))
        if mlmd_file and not species_map:
            return raw.copy()
        return _map_species(raw, species_map, str(self.path))

    def _cell(self, t: int) -> np.ndarray:
        value, factor = self._box
        edges = np.asarray(value[t] if self._box_time_dependent else value[()], dtype=float)
        cell = np.diag(edges) if edges.ndim == 1 else edges
        return cell * factor

    def cells(self, selection: slice = slice(None)) -> np.ndarray:
        idx = range(self.n_frames)[selection]
        if not self._box_time_dependent:
            return np.broadcast_to(self._cell(0), (len(idx), 3, 3)).copy()
        if not len(idx):
            return np.zeros((0, 3, 3))
        value, factor = self._box
        edges = np.asarray(value[()], dtype=float)[list(idx)] * factor  # [T,3] or [T,3,3]: small
        return np.stack([np.diag(e) for e in edges]) if edges.ndim == 2 else edges

    def frames(self, selection: slice = slice(None)) -> Iterator[Snapshot]:
        for t in range(self.n_frames)[selection]:
            yield Snapshot(
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

    def observables(self) -> dict[str, Series]:
        obs = self._file.get("observables")
        if obs is None:
            return {}
        found: dict[str, Series] = {}

        def visit(name, node):
            import h5py

            if isinstance(node, h5py.Group) and "value" in node:
                value = np.asarray(node["value"][()], dtype=float)
                if value.ndim != 1:
                    return
                n = len(value)
                steps = _fixed_or_array(node.get("step"), n, default=np.arange(n))
                times = _fixed_or_array(node.get("time"), n, default=steps.astype(float))
                tfac = (
                    time_factor(node["time"].attrs.get("unit"), str(self.path), name)
                    if "time" in node
                    else 1.0
                )
                unit = _attr_str(node["value"].attrs.get("unit", ""))
                found[name] = Series(value, steps.astype(np.int64), times * tfac, unit)

        obs.visititems(visit)
        return found

    def close(self) -> None:
        if getattr(self, "_file", None) is not None:
            self._file.close()
            self._file = None


def _h5_dataset():
    import h5py

    return h5py.Dataset


def _attr_str(value) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)


def _fixed_or_array(dataset, n: int, default):
    """H5MD step/time: an array [T], or a scalar interval (with optional ``offset`` attr)."""
    if dataset is None:
        return default
    data = np.asarray(dataset[()])
    if data.ndim == 0:
        offset = dataset.attrs.get("offset", 0)
        return offset + data * np.arange(n)
    return data[:n]


def open_trajectory(
    path: str | Path,
    *,
    format: str | None = None,
    group: str | None = None,
    species_map: Mapping[int, str] | None = None,
    timestep_fs: float | None = None,
) -> TrajectoryReader:
    """Open ``path`` for streaming. H5MD is recognised by content; anything else goes to ASE.

    Args:
        format: force an ASE format name (``extxyz``, ``lammps-dump-text``); None = guess.
        group: H5MD particle group (default ``all``, or the only one).
        species_map: stored species value → element symbol, for type-indexed files.
        timestep_fs: MD timestep of dumps that store steps but no time (LAMMPS).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path), fix="check the path")
    import h5py

    if format in (None, "h5md") and h5py.is_hdf5(path):
        return H5mdReader(path, group=group, species_map=species_map)
    if format == "h5md":
        raise InputError("not an HDF5 file", file=str(path), fix="give an H5MD trajectory")
    from mlmd.analysis.reader_ase import AseReader

    return AseReader(path, format=format, species_map=species_map, timestep_fs=timestep_fs)
