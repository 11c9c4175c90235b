"""Shared helpers of the data tests: deterministic frames and CLI runs."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np

from mlmd.data import Frame


def make_frame(i: int, labelled: bool = True, n_min: int = 4) -> Frame:
    """Frame number ``i`` of a deterministic family (random float64 values, ragged sizes)."""
    rng = np.random.default_rng(1000 + i)
    n = n_min + i % 5
    frame = Frame(
        numbers=rng.choice([8, 14], n),
        positions=rng.normal(size=(n, 3)) * 7.0,
        cell=np.diag(rng.uniform(8, 12, 3)) + rng.normal(size=(3, 3)) * 0.3,
        pbc=[True, True, bool(i % 2)],
        source=f"test:{i}",
    )
    if not labelled:
        return frame
    stress = rng.normal(size=(3, 3)) * 1e-2
    return frame.with_labels(
        energy=float(rng.normal() * 100), forces=rng.normal(size=(n, 3)), stress=stress + stress.T
    )


def same_frame(a: Frame, b: Frame) -> bool:
    """True when every array and label is bit-identical (NaN equal to NaN)."""
    arrays = ("numbers", "positions", "cell", "pbc", "forces", "stress")
    return (
        all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True) for k in arrays)
        and (a.energy == b.energy or (np.isnan(a.energy) and np.isnan(b.energy)))
        and (a.status, a.key, a.weight) == (b.status, b.key, b.weight)
    )


def run_mlmd(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``mlmd`` command in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "mlmd.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def call_mlmd(capsys, *args: str | Path) -> tuple[int, str, str]:
    """Run ``mlmd`` in this process through the real dispatcher: (exit code, stdout, stderr).

    Same parser, same error → exit-code mapping as the console script, without paying the
    interpreter start and the other subcommands' imports (torch) per call.
    """
    from mlmd.cli import main

    capsys.readouterr()
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err
