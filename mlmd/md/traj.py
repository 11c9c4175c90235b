"""``mlmd traj export``: an H5MD trajectory as extended XYZ or a LAMMPS text dump.

OVITO (which has no H5MD reader), VMD and ASE read both. Frames come from the analysis
reader (:func:`mlmd.analysis.reader.open_trajectory`; units honoured), forces straight from
``/particles/all/force`` when the trajectory has them.

- ``.extxyz`` / ``.xyz`` (ASE's writer): species, positions (Å, as stored: wrapped),
  ``Lattice``, ``pbc``, velocities (ASE's unit), forces (eV/Å), ``step`` and ``time_fs`` in
  each frame's info.
- ``.lammpstrj`` / ``.dump``: LAMMPS ``metal`` units (Å, Å/ps, eV/Å), ids 1…N, types
  numbered by ascending atomic number plus an ``element`` column, the cell rotated into
  LAMMPS's lower-triangular convention (``ITEM: BOX BOUNDS xy xz yz pp pp pp`` when tilted).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import h5py
import numpy as np
from ase import Atoms
from ase import units as ase_units
from ase.calculators.lammps import Prism
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import chemical_symbols

from mlmd.analysis.h5md_units import force_factor
from mlmd.analysis.reader import open_trajectory, parse_frames
from mlmd.atomic import atomic_output
from mlmd.errors import InputError

#: Output suffix → format name.
FORMATS = {".extxyz": "extxyz", ".xyz": "extxyz", ".lammpstrj": "lammps", ".dump": "lammps"}


@dataclass(frozen=True)
class Frame:
    """One exported frame: ``step``, ``time_fs``, ``numbers`` [N], ``positions`` [N, 3] Å,
    ``cell`` [3, 3] Å, ``velocities`` [N, 3] Å/fs or None, ``forces`` [N, 3] eV/Å or None."""

    step: int
    time_fs: float
    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    velocities: np.ndarray | None
    forces: np.ndarray | None


def read_frames(path: str | Path, frames: str | None = None) -> Iterator[Frame]:
    """The frames ``frames`` (``"A:B:C"``, as ``--frames``) of the H5MD file ``path``."""
    selection = parse_frames(frames)
    with open_trajectory(path, format="h5md") as reader, h5py.File(path) as f:
        force = f.get("particles/all/force/value")
        factor = 1.0
        if force is not None:
            factor = force_factor(force.attrs.get("unit"), str(path), "particles/all/force")
        if not range(reader.n_frames)[selection]:
            raise InputError(
                f"'{frames}' selects no frame (the trajectory has {reader.n_frames})",
                file=str(path),
                field="--frames",
                fix=f"choose frames in 0..{reader.n_frames - 1}",
            )
        for snap in reader.frames(selection):
            forces = None if force is None else np.asarray(force[snap.index]) * factor
            yield Frame(
                snap.step,
                snap.time_fs,
                reader.numbers,
                snap.positions,
                snap.cell,
                snap.velocities,
                forces,
            )


def export(trajectory: str | Path, out: str | Path, frames: str | None = None) -> dict:
    """Write the selected frames of ``trajectory`` to ``out`` (format from its suffix).

    Returns ``{"path", "format", "frames", "atoms"}``."""
    out = Path(out)
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        raise InputError(
            f"unknown export format '{out.suffix}'",
            file=str(out),
            field="-o",
            fix=f"name the output with one of {', '.join(FORMATS)}",
        )
    if not Path(trajectory).exists():
        raise InputError("trajectory not found", file=str(trajectory), field="TRAJ")
    count, n_atoms = 0, 0
    with atomic_output(out) as tmp, tmp.open("w") as fh:  # a refused export leaves nothing
        for frame in read_frames(trajectory, frames):
            _extxyz(fh, frame) if kind == "extxyz" else _lammps(fh, frame)
            count, n_atoms = count + 1, len(frame.numbers)
    return {"path": str(out), "format": kind, "frames": count, "atoms": n_atoms}


def _extxyz(fh: TextIO, frame: Frame) -> None:
    from mlmd.data.ase_io import ase_write

    atoms = Atoms(numbers=frame.numbers, positions=frame.positions, cell=frame.cell, pbc=True)
    if frame.velocities is not None:
        atoms.set_velocities(frame.velocities / ase_units.fs)  # Å/fs → ASE's Å per time unit
    if frame.forces is not None:
        atoms.calc = SinglePointCalculator(atoms, forces=frame.forces)
    atoms.info.update(step=frame.step, time_fs=frame.time_fs)
    ase_write(fh, atoms, format="extxyz")


def _lammps(fh: TextIO, frame: Frame) -> None:
    prism = Prism(frame.cell)
    xhi, yhi, zhi, xy, xz, yz = prism.get_lammps_prism()
    pos = prism.vector_to_lammps(frame.positions)
    n = len(frame.numbers)
    fh.write(f"ITEM: TIMESTEP\n{frame.step}\nITEM: NUMBER OF ATOMS\n{n}\n")
    if prism.is_skewed():
        lo = (min(0.0, xy, xz, xy + xz), min(0.0, yz), 0.0)
        hi = (xhi + max(0.0, xy, xz, xy + xz), yhi + max(0.0, yz), zhi)
        fh.write("ITEM: BOX BOUNDS xy xz yz pp pp pp\n")
        for a, b, t in zip(lo, hi, (xy, xz, yz), strict=True):
            fh.write(f"{a:.12g} {b:.12g} {t:.12g}\n")
    else:
        fh.write("ITEM: BOX BOUNDS pp pp pp\n")
        for b in (xhi, yhi, zhi):
            fh.write(f"0 {b:.12g}\n")
    kinds = np.unique(frame.numbers)
    types = np.searchsorted(kinds, frame.numbers) + 1
    columns = [pos]
    header = "id type element x y z"
    if frame.velocities is not None:
        columns.append(prism.vector_to_lammps(frame.velocities) * 1e3)  # Å/fs → Å/ps
        header += " vx vy vz"
    if frame.forces is not None:
        columns.append(prism.vector_to_lammps(frame.forces))
        header += " fx fy fz"
    fh.write(f"ITEM: ATOMS {header}\n")
    values = np.concatenate(columns, axis=1)
    for i in range(n):
        numbers = " ".join(f"{v:.10g}" for v in values[i])
        fh.write(f"{i + 1} {types[i]} {chemical_symbols[frame.numbers[i]]} {numbers}\n")
