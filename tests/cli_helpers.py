"""Helpers for tests of the ``mlmd`` command as a user runs it (shared by every stream).

- :func:`run_mlmd`: the real console entry point in a subprocess, with a timeout (a hang
  fails the test instead of blocking the suite);
- :func:`run_on_terminal`: the same with stderr on a pseudo-terminal (progress bars draw);
- :func:`tree_digest`: every file and directory under a folder with its sha256, to assert
  that a failed command changed nothing;
- :func:`unprivileged`: the argv prefix that drops root's permission override, so a
  read-only directory is read-only for the command even when the tests run as root.
"""

from __future__ import annotations

import hashlib
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

#: Seconds a command of the test suite may take before it counts as hanging (torch's import
#: alone takes 2–7 s on a busy 2-core machine).
TIMEOUT_S = 90.0

MLMD = [sys.executable, "-m", "mlmd.cli"]


def run_mlmd(
    *args: str | os.PathLike,
    cwd: str | os.PathLike | None = None,
    prefix: list[str] | None = None,
    timeout: float = TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """``mlmd ARGS`` in a subprocess (stdout, stderr captured as text)."""
    return subprocess.run(
        [*(prefix or []), *MLMD, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "MLMD_PROGRESS": ""},
    )


def run_on_terminal(*args: str | os.PathLike, timeout: float = TIMEOUT_S) -> tuple[int, str]:
    """``mlmd ARGS`` with stderr on a pseudo-terminal; returns (exit code, what it drew)."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [*MLMD, *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=child,
        env={**os.environ, "MLMD_PROGRESS": ""},
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # EIO: the child closed its end of the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=timeout)
    os.close(main)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def tree_digest(root: str | os.PathLike) -> dict[str, str]:
    """``{relative path: sha256 of the file, or "dir"}`` of everything under ``root``."""
    root = Path(root)
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def unprivileged() -> list[str] | None:
    """The argv prefix under which permission bits hold for the command (root ignores them):
    ``[]`` when not root, ``setpriv`` without the DAC override as root, None if impossible."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
