"""Open a trajectory for streaming: any standard H5MD file, or extxyz / LAMMPS dumps via ASE.

Frames are read one at a time (``TrajectoryReader.frames``); the trajectory is never held in
memory as a whole. :func:`open_trajectory` recognises H5MD by content
(:class:`~mlmd.analysis.reader_h5md.H5mdReader`) and gives anything else to ASE
(:class:`~mlmd.analysis.reader_ase.AseReader`); both implement
:class:`~mlmd.analysis.trajectory.TrajectoryReader`. Units out: Å, fs, Å/fs, amu.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mlmd.analysis.reader_ase import AseReader
from mlmd.analysis.reader_h5md import H5mdReader
from mlmd.analysis.trajectory import Series, Snapshot, TrajectoryReader, species_labels
from mlmd.errors import InputError

__all__ = [
    "Series",
    "Snapshot",
    "TrajectoryReader",
    "open_trajectory",
    "parse_frames",
    "species_labels",
]


def parse_frames(text: str | None) -> slice:
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
    import h5py

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path), fix="check the path")
    if path.is_dir():
        raise InputError("is a directory", file=str(path), fix="give the trajectory file")
    if format in (None, "h5md") and h5py.is_hdf5(path):
        return H5mdReader(path, group=group, species_map=species_map)
    if format == "h5md":
        raise InputError("not an HDF5 file", file=str(path), fix="give an H5MD trajectory")
    return AseReader(path, format=format, species_map=species_map, timestep_fs=timestep_fs)
