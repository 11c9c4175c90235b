"""Per-frame run directories that can never point outside the label directory.

A frame's ``key`` comes from a dataset file, i.e. from the user or from anyone who wrote that
file. It names the frame's run directory, and a rerun clears that directory, so a key such as
``/abs/victim`` or ``../victim`` must never reach the file system. Every backend builds its
run directory with :func:`frame_workdir` (checked, contained) and clears it with
:func:`fresh_frame_workdir`:

1. the key must be a content hash as :func:`mlmd.data.frame_key` makes it (32 lowercase hex
   characters) — no separators, dots, shell characters or absolute paths can pass;
2. the resolved directory must lie strictly inside the resolved label directory;
3. a symbolic link in its place is refused, not followed (``rmtree`` would not follow it, but
   a link to elsewhere must not be written through either).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlmd.errors import InputError
from mlmd.reference.protocol import CalculationFailed, Result

#: What :func:`mlmd.data.frame_key` produces: the first 32 hex digits of a sha256.
KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


def check_key(key: object, *, file: str | None = None) -> str:
    """``key`` if it is a content hash (32 lowercase hex characters).

    Raises:
        InputError: anything else (named, with the file it came from when given).
    """
    if isinstance(key, str) and KEY_PATTERN.fullmatch(key):
        return key
    raise InputError(
        f"frame key {key!r} is not a content hash (32 hex characters)",
        file=file,
        field="frames/key",
        fix="re-import the structures (`mlmd data import`) so keys are recomputed",
    )


def frame_workdir(root: str | Path, key: str) -> Path:
    """``root/key`` (absolute), after checking the key and that the result stays inside root.

    Raises:
        InputError: a key that is not a content hash, a path escaping ``root``, or a
            symbolic link where the directory should be.
    """
    check_key(key)
    base = Path(root).resolve()
    path = base / key
    if path.is_symlink():
        raise InputError(
            "the run directory is a symbolic link",
            file=str(path),
            fix="remove the link; mlmd creates run directories itself",
        )
    if path.resolve().parent != base:
        raise InputError(
            "run directory outside the label directory", file=str(path), fix="check the key"
        )
    return path


def fresh_frame_workdir(root: str | Path, key: str) -> Path:
    """:func:`frame_workdir`, emptied if it exists (a rerun never parses a stale output)."""
    path = frame_workdir(root, key)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def label_in_workdirs(backend: Any, frames: Sequence[Any], workdir: Path) -> list[Result]:
    """Label ``frames`` one after another, each in ``workdir/<key>/``, with a file-based backend.

    Every key and every frame's elements are checked first (``backend.check_elements``), so a
    bad frame stops the call before any run directory is made. Each frame then goes through
    ``backend.calculate(frame, workdir, attempts)``; a :class:`CalculationFailed` becomes a
    failure result carrying its status, the wall time (s) and the attempts made.

    Raises:
        InputError: a key that is not a content hash, or an element the backend cannot treat.
    """
    for frame in frames:
        check_key(frame.key)
        backend.check_elements(frame.numbers)
    results = []
    for frame in frames:
        start, attempts = time.perf_counter(), [0]
        try:
            results.append(backend.calculate(frame, Path(workdir), attempts))
        except CalculationFailed as exc:
            wall = time.perf_counter() - start
            results.append(Result.failure(frame.key, exc, wall, max(attempts[0], 1)))
    return results
