"""Launch an external reference program (CP2K, pw.x): the MPI launcher prefix, and one run
in its own directory and process session with a wall-time limit (the "profile" of ASE's
``genericfileio``)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mlmd.reference.protocol import CalculationInterrupted, ReferenceSetupError

#: Debian's CP2K and QE are linked to Open MPI; ``--bind-to none`` lets concurrent runs share
#: cores.
OPENMPI_PREFIX = "mpiexec.openmpi --allow-run-as-root --bind-to none -np {ranks}"


def launcher_prefix(launcher: str, ranks: int) -> list[str]:
    """The command words put before the program.

    ``none``; ``openmpi`` (:data:`OPENMPI_PREFIX`); ``parsl`` (``$PARSL_MPI_PREFIX``, right
    only when the site's MPI is the one the program is linked to); ``auto`` (none for 1 rank,
    else openmpi); or any prefix template, where ``{ranks}`` is replaced.

    Raises:
        ReferenceSetupError: field ``run.launcher``: a launcher that cannot start ``ranks``.
    """
    if launcher == "auto":
        launcher = "none" if ranks == 1 else "openmpi"
    if launcher == "none":
        if ranks != 1:
            raise ReferenceSetupError(
                f"launcher 'none' cannot start {ranks} ranks",
                field="run.launcher",
                fix="use launcher = 'openmpi' or 'parsl', or ranks = 1",
            )
        return []
    if launcher == "parsl":
        prefix = os.environ.get("PARSL_MPI_PREFIX", "")
        if not prefix:
            raise ReferenceSetupError(
                "launcher 'parsl' needs $PARSL_MPI_PREFIX",
                field="run.launcher",
                fix="run inside a Parsl MPI app, or pick another launcher",
            )
        return shlex.split(prefix)
    template = OPENMPI_PREFIX if launcher == "openmpi" else launcher
    words = shlex.split(template.replace("{ranks}", str(ranks)))
    if not shutil.which(words[0]):
        raise ReferenceSetupError(
            f"launcher program {words[0]!r} not found",
            field="run.launcher",
            fix="install it (Debian: openmpi-bin) or set another launcher",
        )
    return words


#: Signals that stop a program from outside: its run says nothing about the frame. A
#: segfault or an abort (SIGSEGV, SIGABRT) is the program's own crash, and stays one.
_OUTSIDE_SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def kill_running() -> None:
    """Kill every program group this process started and that is still running."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        _kill_group(proc)


def _die_with_parent() -> list[str]:
    """Linux: a prefix (util-linux ``setpriv --pdeathsig KILL``) making the kernel kill the
    launched program when this process dies, so a SIGKILLed labelling run leaves no program
    behind. Empty where ``setpriv`` is missing."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one program run: exit code (None if killed on timeout), wall s."""

    returncode: int | None
    wall_s: float
    timed_out: bool


def run_process(
    argv: list[str],
    workdir: Path,
    *,
    stdout_name: str,
    timeout_s: float,
    env: dict[str, str],
) -> RunOutcome:
    """Run ``argv`` in ``workdir`` with a wall-time limit, stdout and stderr to
    ``workdir/stdout_name``. The process runs in its own session so that a timeout kills the
    launcher and every rank.

    Raises:
        CalculationInterrupted: the program was killed from outside (:data:`_OUTSIDE_SIGNALS`).
    """
    start = time.perf_counter()
    with open(workdir / stdout_name, "wb") as out:
        proc = subprocess.Popen(
            [*_die_with_parent(), *argv],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        with _LIVE_LOCK:
            _LIVE.add(proc)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return RunOutcome(None, time.perf_counter() - start, True)
        except BaseException:  # interrupted: never leave the program running behind us
            _kill_group(proc)
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
    _check_not_killed(argv, code, workdir / stdout_name)
    return RunOutcome(code, time.perf_counter() - start, False)


def _check_not_killed(argv: list[str], code: int, output: Path) -> None:
    """Raise :class:`CalculationInterrupted` if exit code ``code`` (negative: the signal
    that ended the process) says the program was stopped from outside."""
    if code >= 0 or -code not in _OUTSIDE_SIGNALS:
        return
    name = signal.Signals(-code).name
    raise CalculationInterrupted(
        f"{Path(argv[0]).name} was stopped by {name} from outside (a stopped run, the "
        f"out-of-memory killer or the batch system; output in {output}): the frame stays "
        "unlabelled and a rerun labels it again"
    )


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
