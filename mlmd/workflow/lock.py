"""One campaign per run directory: an exclusive ``flock`` held for the campaign's lifetime.

A second campaign started in a directory that one is running in would rewrite its
``record.json``, ``report.md``, ``status.json`` and plots under it. The lock is an ``flock``
on ``RUN_DIR/.campaign.lock``: the kernel releases it when the holder exits, however it exits
(a SIGKILLed campaign leaves no stale lock), and the file names the holder for the message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from mlmd.errors import InputError

LOCK_NAME = ".campaign.lock"


@contextmanager
def run_dir_lock(run_dir: str | os.PathLike, campaign: str):
    """Hold ``run_dir`` for ``campaign``; :class:`InputError` (exit 2) if another holds it.

    The file descriptor is not inherited by child processes (Python's default), so Parsl's
    workers never keep the lock after the campaign ends.
    """
    path = Path(run_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"another campaign is running in this run directory ({_holder(path)})",
                file=str(run_dir),
                field="--run-dir",
                fix="wait for it to finish, or give this campaign another --run-dir",
            ) from None
        holder = {"campaign": campaign, "pid": os.getpid(), "host": socket.gethostname()}
        holder["started"] = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _holder(path: Path) -> str:
    """Who holds the lock, as written by the holder (best effort: it may be mid-write)."""
    try:
        info = json.loads(path.read_text())
        return f"{info['campaign']}, pid {info['pid']} on {info['host']}, since {info['started']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"
