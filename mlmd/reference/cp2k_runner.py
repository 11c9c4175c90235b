"""Find and launch CP2K: executable and data-directory discovery, the MPI launcher prefix,
and one run in its own directory with a wall-time limit (the "profile" of ASE's
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

from mlmd.reference.cp2k_settings import CP2KRunSettings
from mlmd.reference.protocol import ReferenceSetupError

DEFAULT_DATA_DIR = "/usr/share/cp2k"
#: Debian's CP2K is linked to Open MPI; ``--bind-to none`` lets concurrent runs share cores.
OPENMPI_PREFIX = "mpiexec.openmpi --allow-run-as-root --bind-to none -np {ranks}"


def find_executable(setting: str = "") -> Path:
    """The CP2K binary: ``setting``, else ``$MLMD_CP2K``, else ``cp2k.psmp``/``cp2k`` on PATH.

    Raises:
        ReferenceSetupError: nothing executable found.
    """
    candidates = [setting] if setting else []
    if not candidates and os.environ.get("MLMD_CP2K"):
        candidates = [os.environ["MLMD_CP2K"]]
    if not candidates:
        candidates = ["cp2k.psmp", "cp2k"]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ReferenceSetupError(
        f"CP2K executable not found (tried {', '.join(candidates)})",
        field="run.executable",
        fix="install CP2K (apt-get install cp2k), or set run.executable or $MLMD_CP2K",
    )


def find_data_dir(setting: str = "") -> Path:
    """CP2K's basis-set/pseudopotential directory: ``setting``, ``$MLMD_CP2K_DATA`` or
    ``/usr/share/cp2k``."""
    path = Path(setting or os.environ.get("MLMD_CP2K_DATA") or DEFAULT_DATA_DIR)
    if not (path / "BASIS_MOLOPT").is_file():
        raise ReferenceSetupError(
            f"no CP2K data directory at {path} (BASIS_MOLOPT missing)",
            field="run.data_dir",
            fix="install cp2k-data, or set run.data_dir or $MLMD_CP2K_DATA",
        )
    return path


def launcher_prefix(launcher: str, ranks: int) -> list[str]:
    """The command words put before the CP2K binary (see :class:`CP2KRunSettings`)."""
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


_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def kill_running() -> None:
    """Kill every CP2K process group this process started and that is still running."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        _kill_group(proc)


def _die_with_parent() -> list[str]:
    """Linux: a prefix (util-linux ``setpriv --pdeathsig KILL``) making the kernel kill the
    launched program when this process dies, so a SIGKILLed labelling run leaves no CP2K
    behind. Empty where ``setpriv`` is missing."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one CP2K process: exit code (None if killed on timeout), wall s."""

    returncode: int | None
    wall_s: float
    timed_out: bool


def run_cp2k(
    command: list[str],
    workdir: Path,
    input_name: str,
    output_name: str,
    run: CP2KRunSettings,
    data_dir: Path,
) -> RunOutcome:
    """Run ``command + ["-i", input, "-o", output]`` in ``workdir`` with a wall-time limit.

    The process runs in its own session so that a timeout kills the launcher and every rank.
    Its stdout/stderr go to ``stdout.txt`` in ``workdir``.
    """
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(run.omp_threads)
    env["CP2K_DATA_DIR"] = str(data_dir)
    start = time.perf_counter()
    with open(workdir / "stdout.txt", "wb") as out:
        proc = subprocess.Popen(
            [*_die_with_parent(), *command, "-i", input_name, "-o", output_name],
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
            code = proc.wait(timeout=run.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return RunOutcome(None, time.perf_counter() - start, True)
        except BaseException:  # interrupted: never leave CP2K running behind us
            _kill_group(proc)
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
    return RunOutcome(code, time.perf_counter() - start, False)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
