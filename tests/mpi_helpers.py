"""Running a small Python script on real MPI ranks (the venv's MPICH ``mpiexec``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MPIEXEC = Path(sys.executable).parent / "mpiexec"


def run_script(
    source: str, directory: Path, *args: str, ranks: int = 2, timeout_s: float = 120
) -> str:
    """Write ``source`` to ``directory/script.py``, run it with this Python on ``ranks``
    ranks with ``args``, assert it exited 0, and return its stdout."""
    script = directory / "script.py"
    script.write_text(source)
    cmd = [str(MPIEXEC), "-n", str(ranks), sys.executable, str(script), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    assert out.returncode == 0, out.stderr
    return out.stdout
