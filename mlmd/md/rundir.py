"""One run per output directory: a lock held for the run, and no silent overwrite.

:func:`claim` (rank 0 decides, every rank learns the verdict) takes an exclusive ``fcntl``
lock on ``<directory>/.mlmd-md.lock`` for the whole run, so a second ``mlmd md run`` into
the same directory is refused at once instead of corrupting the first one's trajectory; the
operating system drops the lock when the process ends, crashed or not. A directory that
already holds a run's outputs is refused unless the caller overwrites or restarts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from mpi4py import MPI

from mlmd.errors import InputError
from mlmd.md.outputs import output_paths

LOCK_NAME = ".mlmd-md.lock"


def _lock(directory: Path):
    """The open, locked lock file of ``directory`` (or an InputError naming the holder)."""
    directory.mkdir(parents=True, exist_ok=True)
    fh = open(directory / LOCK_NAME, "a+")  # noqa: SIM115 (held for the whole run)
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise InputError(
            f"another `mlmd md run` ({holder}) is writing into this directory",
            file=str(directory),
            field="output.directory",
            fix="wait for it to finish, or give this run its own output.directory",
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
    fh.flush()
    return fh


def _refuse_existing(directory: Path) -> None:
    found = [p.name for p in output_paths(directory).values() if p.exists()]
    if found:
        raise InputError(
            f"already holds the outputs of an MD run ({', '.join(found)})",
            file=str(directory),
            field="output.directory",
            fix="pass --overwrite to replace them, --restart CKPT to continue that run, "
            "or choose another output.directory",
        )


@contextlib.contextmanager
def claim(directory: str | Path, comm: MPI.Comm, *, overwrite: bool, restart: bool) -> Iterator:
    """Hold ``directory`` for one run (collective; the lock lives on rank 0).

    Raises:
        InputError: another run holds the directory, or it already holds outputs and
            neither ``overwrite`` nor ``restart`` is given.
    """
    fh, error, path = None, None, Path(directory)
    created = not path.exists()
    if comm.Get_rank() == 0:
        try:
            if not (overwrite or restart):
                _refuse_existing(path)  # before writing anything
            fh = _lock(path)
        except (InputError, OSError) as exc:
            error = exc
    error = comm.bcast(error, root=0)
    if error is not None:
        if fh is not None:
            fh.close()
        raise error
    try:
        yield
    except InputError:  # refused before any output (a bad checkpoint, start, ...)
        if fh is not None and created and [p.name for p in path.iterdir()] == [LOCK_NAME]:
            (path / LOCK_NAME).unlink()
            path.rmdir()  # leave no trace of a run that never started
        raise
    finally:
        if fh is not None:
            fh.close()
