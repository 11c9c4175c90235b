"""Crash-safe file replacement, the one way mlmd writes an output file.

Write a temporary file beside the target, fsync it, rename it onto the target, fsync the
directory: a process killed at any moment leaves either the old file or the new one, never a
torn one::

    with atomic_output(path) as tmp:      # tmp = <path>.tmp-<host>-<pid>-<token>
        write_something(tmp)              # any writer: h5py, torch.save, open(...)
    # here path holds the new content; on an exception path is untouched and tmp is gone

Temporary names carry the writer's host and process id and a random token, so concurrent
writers (processes or threads) never share or delete each other's temporary file. A writer
killed before its rename leaves its temporary behind; the next :func:`atomic_output` of the
same target removes the temporaries of writers on this host whose process no longer exists
(temporaries of live processes and of other hosts are left alone).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlmd.errors import InputError

#: ``<name>.tmp-<host>-<pid>-<token>`` (and the older ``<name>.tmp-<pid>``).
_TEMP = re.compile(r"\.tmp-(?:(?P<host>[A-Za-z0-9]+)-)?(?P<pid>\d+)(?:-[0-9a-f]+)?$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname().split(".")[0])[:32] or "host"


def temp_path(path: str | os.PathLike, pid: int | None = None) -> Path:
    """A fresh temporary name beside ``path``, unique to this writer (``pid``, default this
    process) and this call."""
    path, pid = Path(path), os.getpid() if pid is None else pid
    return path.with_name(f"{path.name}.tmp-{_host()}-{pid}-{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temporaries of ``path`` left by dead writers on this host; return them."""
    path = Path(path)
    removed, host = [], _host()
    for tmp in path.parent.glob(f"{path.name}.tmp-*"):
        match = _TEMP.search(tmp.name[len(path.name) :])
        if match is None or (match["host"] or host) != host or _alive(int(match["pid"])):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def replace_file(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """fsync the finished ``tmp``, rename it onto ``path`` and fsync the directory."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(Path(path).parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def require_directory(path: str | os.PathLike) -> None:
    """InputError naming ``path`` when the directory it is to be written in does not exist
    (rather than an OS error naming a hidden temporary or lock file beside it)."""
    parent = Path(path).parent
    if not parent.is_dir():
        state = "is not a directory" if parent.exists() else "does not exist"
        raise InputError(
            f"directory {parent} {state}",
            file=str(path),
            fix=f"create it first (mkdir -p {parent}) or choose another path",
        )


def require_new(path: str | os.PathLike, *, overwrite: bool) -> None:
    """InputError when the output ``path`` exists and ``overwrite`` is not given: a command
    never replaces an earlier output silently (``--overwrite`` says it may)."""
    if Path(path).exists() and not overwrite:
        raise InputError(
            "already exists", file=str(path), fix="choose a new name or pass --overwrite"
        )


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically."""
    path = Path(path)
    require_directory(path)
    remove_stale_temps(path)
    tmp = temp_path(path)
    try:
        yield tmp
        replace_file(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` by ``text`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
