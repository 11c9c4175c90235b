"""Content-hashed step outputs: a rerun with the same inputs reuses the finished result.

A step's key is a hash of its name, the *contents* of its input files and its parameters
(JSON). Its outputs live in ``RUN_DIR/steps/<name>-<key>/``; a ``done.json`` written
atomically after the outputs marks it finished. A killed step has no ``done.json`` and is
run again (its own checkpoints inside the directory let it resume).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mlmd.atomic import write_text

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (or of a directory's files, by relative path), 16 hex chars."""
    path = Path(path)
    if path.is_dir():
        h = hashlib.sha256()
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(child.relative_to(path)).encode())
            h.update(file_digest(child).encode())
        return h.hexdigest()[:16]
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if memo not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[memo] = h.hexdigest()[:16]
    return _DIGESTS[memo]


def step_key(name: str, inputs: list[str | os.PathLike] = (), params: Any = None) -> str:
    """Hash of a step's name, its input files' contents and its JSON-able parameters."""
    h = hashlib.sha256(name.encode())
    for path in inputs:
        h.update(file_digest(path).encode())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


class StepStore:
    """Where a campaign's step outputs live, and which steps are finished."""

    def __init__(self, run_dir: str | os.PathLike):
        self.root = Path(run_dir) / "steps"
        self.root.mkdir(parents=True, exist_ok=True)

    def directory(self, name: str, key: str) -> Path:
        """The output directory of step ``name`` with input hash ``key`` (created)."""
        path = self.root / f"{name}-{key}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def is_done(self, name: str, key: str) -> bool:
        return (self.root / f"{name}-{key}" / "done.json").exists()

    def outputs(self, name: str, key: str) -> dict[str, Any]:
        """What :meth:`mark_done` recorded for a finished step."""
        return json.loads((self.root / f"{name}-{key}" / "done.json").read_text())

    def mark_done(self, name: str, key: str, outputs: dict[str, Any]) -> None:
        """Record a step as finished (atomic: a kill leaves it either done or not)."""
        write_text(
            self.directory(name, key) / "done.json", json.dumps(outputs, indent=2, default=str)
        )
