"""Trajectories that ASE reads (extxyz, LAMMPS dumps, ...), streamed frame by frame.

Every ASE read is serial (:mod:`mlmd.data.ase_io`): under mpi4py ASE's default makes a read a
collective (rank 0 reads and broadcasts, ``ase/parallel.py``), which hangs when one rank reads
alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from mlmd.analysis.trajectory import Snapshot, TrajectoryReader, map_species, masses_for
from mlmd.errors import InputError


class AseReader(TrajectoryReader):
    """extxyz, LAMMPS dumps and anything else :func:`ase.io.iread` understands (streamed).

    LAMMPS dumps without an ``element`` or ``mass`` column carry type indices: pass
    ``species_map``. Time: ``info["time_fs"]`` if present, else the dump's timestep times
    ``timestep_fs``, else the frame index times ``timestep_fs`` (``time_known`` is False then).
    ASE velocities (ASE time units) are converted to Å/fs. ``n_frames`` is None (unknown
    until the file has been read once).
    """

    def __init__(
        self,
        path: str | Path,
        format: str | None = None,
        species_map: Mapping[int, str] | None = None,
        timestep_fs: float | None = None,
    ):
        from ase.io.formats import filetype

        from mlmd.data.ase_io import ase_read

        self.path = Path(path)
        try:
            self._ase_format = format or filetype(str(self.path), guess=True)
            first = ase_read(self.path, index=0, format=self._ase_format)
        except Exception as exc:  # ASE raises many types for unreadable files
            raise InputError(
                f"ASE cannot read it ({type(exc).__name__}: {exc})",
                file=str(path),
                fix="give an H5MD, extxyz or LAMMPS dump file (or --format)",
            ) from None
        self.format = self._ase_format
        self._species_map = species_map
        self._timestep_fs = timestep_fs
        self.n_frames = None
        self.n_atoms = len(first)
        self._types = self._ase_format.startswith("lammps") and not _dump_has_elements(self.path)
        self.numbers = self._numbers(first)
        self.masses = masses_for(self.numbers)
        self.has_images = False
        self.has_velocities = "momenta" in first.arrays
        self.time_known = "time_fs" in first.info or (
            timestep_fs is not None and "timestep" in first.info
        )

    def _numbers(self, atoms) -> np.ndarray:
        numbers = np.asarray(atoms.numbers, dtype=np.int64)
        if self._species_map:
            return map_species(numbers, self._species_map, str(self.path))
        return -numbers if self._types else numbers

    def frames(self, selection: slice = slice(None)) -> Iterator[Snapshot]:
        from ase import units

        from mlmd.data.ase_io import ase_iread

        start, stop, step = selection.start, selection.stop, selection.step
        index = f"{'' if start is None else start}:{'' if stop is None else stop}"
        index += f":{'' if step is None else step}"
        frames = ase_iread(self.path, index=index, format=self._ase_format)
        dt = 1.0 if self._timestep_fs is None else self._timestep_fs
        for k, atoms in enumerate(frames):
            if len(atoms) != self.n_atoms:
                raise InputError(
                    f"frame {k} has {len(atoms)} atoms, the first has {self.n_atoms}",
                    file=str(self.path),
                    fix="analyse trajectories with a fixed number of atoms",
                )
            vel = atoms.get_velocities() * units.fs if "momenta" in atoms.arrays else None
            md_step = int(atoms.info.get("step", atoms.info.get("timestep", k)))
            time = atoms.info.get("time_fs", md_step * dt)
            yield Snapshot(
                index=k,
                step=md_step,
                time_fs=float(time),
                positions=np.asarray(atoms.positions, dtype=np.float64),
                cell=np.asarray(atoms.cell.array, dtype=np.float64),
                pbc=np.asarray(atoms.pbc, dtype=bool),
                velocities=vel,
            )


def _dump_has_elements(path: Path) -> bool:
    """Whether a LAMMPS text dump's ``ITEM: ATOMS`` line has an element or mass column."""
    try:
        with open(path, errors="replace") as fh:
            for _, line in zip(range(100000), fh, strict=False):
                if line.startswith("ITEM: ATOMS"):
                    columns = line.split()[2:]
                    return "element" in columns or "mass" in columns
    except OSError:
        return False
    return False
