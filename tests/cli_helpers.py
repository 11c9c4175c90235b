"""Helpers for tests of the ``mlmd`` command as a user runs it (shared by every stream).

- :func:`run_mlmd`: the real console entry point in a subprocess, with a timeout (a hang
  fails the test instead of blocking the suite);
- :func:`call_mlmd`: the same command through :func:`mlmd.cli.main` inside the test process
  (no 2–5 s torch import per call), with the state a command may change put back afterwards;
- :func:`run_on_terminal`: the same with stderr on a pseudo-terminal (progress bars draw),
  :func:`call_on_terminal` its in-process twin;
- :func:`tree_digest`: every file and directory under a folder with its sha256, to assert
  that a failed command changed nothing;
- :func:`unprivileged`: the argv prefix that drops root's permission override, so a
  read-only directory is read-only for the command even when the tests run as root.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import pty
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

#: Seconds a command of the test suite may take before it counts as hanging (torch's import
#: alone takes 2–7 s on a busy 2-core machine).
TIMEOUT_S = 90.0

#: The installed console script (what a user types), else the module (a tree not installed).
_SCRIPT = Path(sys.executable).with_name("mlmd")
MLMD = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "mlmd.cli"]


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


class CommandTimeout(BaseException):
    """A command run by :func:`call_mlmd` outlived its time (a BaseException, so the
    command's own ``except Exception`` cannot swallow it)."""


def call_mlmd(
    *args: str | os.PathLike, cwd: str | os.PathLike | None = None, timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """``mlmd ARGS`` through :func:`mlmd.cli.main` in this process, in ``cwd`` (default: the
    current directory): its exit code (``SystemExit`` of argparse included) with stdout and
    stderr captured as text, like :func:`run_mlmd`. An exception that escapes ``main`` (a
    bug: the console script would print a traceback) propagates and fails the test; so does
    :class:`CommandTimeout` after ``timeout`` seconds. Logging goes to the captured stderr as
    in the console script."""
    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    code = _call_main(argv, cwd, timeout, out, err)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def call_on_terminal(
    *args: str | os.PathLike, cwd: str | os.PathLike | None = None, timeout: float = TIMEOUT_S
) -> tuple[int, str]:
    """:func:`run_on_terminal` in this process: stderr is a pseudo-terminal while
    :func:`mlmd.cli.main` runs (progress bars draw); returns (exit code, what it drew)."""
    argv = [str(a) for a in args]
    main_fd, child_fd = pty.openpty()
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(main_fd, chunks), daemon=True)
    reader.start()
    with os.fdopen(child_fd, "w", buffering=1, encoding="utf-8") as tty:
        code = _call_main(argv, cwd, timeout, io.StringIO(), tty)
    reader.join(timeout)
    os.close(main_fd)
    return code, b"".join(chunks).decode(errors="replace")


def _drain(fd: int, chunks: list[bytes]) -> None:
    """Read ``fd`` (a terminal's main end) into ``chunks`` until its other end closes."""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the command's end of the terminal is closed
            return
        if not data:
            return
        chunks.append(data)


def _call_main(
    argv: list[str], cwd: str | os.PathLike | None, timeout: float, out: TextIO, err: TextIO
) -> int:
    """``mlmd.cli.main(argv)`` with stdout and stderr sent to ``out``, ``err``; its exit code."""
    from mlmd.cli import main

    with _restored_state(cwd or os.getcwd()), _time_limit(timeout, argv):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                return main(argv)
            except SystemExit as exc:  # argparse's usage errors
                return exc.code if isinstance(exc.code, int) else 1


@contextlib.contextmanager
def _time_limit(seconds: float, argv: list[str]) -> Iterator[None]:
    """Raise :class:`CommandTimeout` in the main thread after ``seconds`` (SIGALRM)."""

    def expire(signum, frame):
        raise CommandTimeout(f"mlmd {' '.join(argv)} ran over {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


#: Signals whose handlers a command may replace (md run checkpoints on SIGTERM/SIGINT).
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


@contextlib.contextmanager
def _restored_state(cwd: str | os.PathLike) -> Iterator[None]:
    """Run in ``cwd`` with an empty root logger (so ``main``'s ``logging.basicConfig`` logs
    to the captured stderr, as in a fresh process); afterwards put back what a command may
    change: cwd, environment, root logger, signal handlers, progress silence, torch's thread
    count and default dtype. Handlers left on other loggers fail the caller (a leak)."""
    import torch

    from mlmd import progress

    root = logging.getLogger()
    cwd_before, env_before = os.getcwd(), dict(os.environ)
    root_before = (root.handlers[:], root.level)
    torch_before = (torch.get_num_threads(), torch.get_default_dtype())
    signals_before = {s: signal.getsignal(s) for s in _SIGNALS}
    others = _logger_handlers()
    root.handlers.clear()
    os.chdir(cwd)
    os.environ["MLMD_PROGRESS"] = ""  # as run_mlmd: bars by the terminal test alone
    try:
        with progress.silenced(False):  # puts back the silence the caller had
            yield
    finally:
        os.chdir(cwd_before)
        os.environ.clear()
        os.environ.update(env_before)
        for handler in root.handlers:
            handler.close()
        root.handlers[:], level = root_before
        root.setLevel(level)
        torch.set_num_threads(torch_before[0])
        torch.set_default_dtype(torch_before[1])
        for sig, handler in signals_before.items():
            signal.signal(sig, handler)
    leaked = _logger_handlers() != others
    assert not leaked, f"the command left logging handlers behind: {_logger_handlers()}"


def _logger_handlers() -> dict[str, list[logging.Handler]]:
    """The handlers of every named logger (the root logger apart)."""
    loggers = logging.Logger.manager.loggerDict.items()
    return {
        n: lg.handlers[:] for n, lg in loggers if isinstance(lg, logging.Logger) and lg.handlers
    }


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
