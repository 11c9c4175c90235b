"""Crash-safe file replacement: write beside the target, fsync, rename, fsync the directory.

A process killed at any moment leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
from pathlib import Path


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


def write_text(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` by ``text`` atomically (a per-process temporary beside it)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        replace_file(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
