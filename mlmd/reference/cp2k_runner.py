"""Find and launch CP2K: executable and data-directory discovery and one run in its own
directory (the launcher and process handling live in :mod:`mlmd.reference.process`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mlmd.reference.cp2k_settings import CP2KRunSettings
from mlmd.reference.process import RunOutcome, launcher_prefix, run_process
from mlmd.reference.protocol import ReferenceSetupError

__all__ = ["find_data_dir", "find_executable", "launcher_prefix", "run_cp2k"]

DEFAULT_DATA_DIR = "/usr/share/cp2k"


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


def run_cp2k(
    command: list[str],
    workdir: Path,
    *,
    input_name: str,
    output_name: str,
    run: CP2KRunSettings,
    data_dir: Path,
) -> RunOutcome:
    """Run ``command + ["-i", input, "-o", output]`` in ``workdir`` with a wall-time limit
    (stdout/stderr to ``stdout.txt``)."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(run.omp_threads)
    env["CP2K_DATA_DIR"] = str(data_dir)
    argv = [*command, "-i", input_name, "-o", output_name]
    return run_process(argv, workdir, stdout_name="stdout.txt", timeout_s=run.timeout_s, env=env)
