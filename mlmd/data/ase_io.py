"""ASE's file reading and writing, always serial: every mlmd call of ``ase.io`` goes here.

``ase.io.read``, ``ase.io.iread`` and ``ase.io.write`` are MPI-aware by default
(``ase/parallel.py``: ``parallel_function`` / ``parallel_generator``): once mpi4py is
loaded in a world of more than one rank, rank 0 alone reads (or writes) and broadcasts the
result to the others. mlmd reads and writes files on the rank that needs them (rank 0 of
``mpiexec -n 2 mlmd md run`` reading its extxyz start, a worker parsing its QE output), so
that broadcast is a collective the other ranks never join: the call hangs; and where every
rank writes a file of its own, only rank 0's is written (the others stay empty). These
functions pass ``parallel=False`` (each caller reads or writes for itself, as it would
without MPI) so that no call site can forget it; otherwise they are ASE's functions with
ASE's arguments."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import IO, Any

import ase.io
from ase import Atoms

Target = str | os.PathLike[str] | IO


def ase_read(path: Target, index: Any = None, format: str | None = None, **kwargs: Any):
    """``ase.io.read(path, index, format, **kwargs)`` on this rank alone: one ``Atoms``, or
    a list of them for a slice ``index`` such as ``":"``."""
    return ase.io.read(path, index=index, format=format, parallel=False, **kwargs)


def ase_iread(
    path: Target, index: Any = None, format: str | None = None, **kwargs: Any
) -> Iterator[Atoms]:
    """``ase.io.iread(path, index, format, **kwargs)`` on this rank alone: the frames one at
    a time (streamed, never all in memory)."""
    return ase.io.iread(path, index=index, format=format, parallel=False, **kwargs)


def ase_write(
    target: Target, images: Atoms | Sequence[Atoms], format: str | None = None, **kwargs: Any
) -> None:
    """``ase.io.write(target, images, format, **kwargs)`` from this rank (whichever it is);
    ``target`` is a path or an open file."""
    ase.io.write(target, images, format=format, parallel=False, **kwargs)
