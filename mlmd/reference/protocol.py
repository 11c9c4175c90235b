"""The reference-calculation protocol: frames in, labels and a status out.

A *reference* is a method that labels structures (DFT through CP2K, the analytic teacher
potential, ...). Every backend provides :class:`Reference`; the labelling driver
(:mod:`mlmd.reference.label`) only talks to that protocol.

Errors follow ASE's vocabulary (``ase/calculators/calculator.py``):

- :class:`ReferenceSetupError` — before a run: a bad setting, a missing binary or data file.
  It is an :class:`~mlmd.errors.InputError` (the CLI exits with code 2).
- :class:`CalculationFailed` — during a run; :class:`SCFError` (the SCF did not converge),
  :class:`CalculationTimeout` and :class:`CalculationCrashed` refine it.
- :class:`ReadError` — after a run: the output is missing or unreadable.
- :class:`CalculationInterrupted` — the program was stopped from outside (SIGKILL, SIGTERM,
  SIGINT, SIGHUP: a stopped campaign, the out-of-memory killer, a batch system's
  preemption). That says nothing about the frame, so it is no status: it propagates, the
  frame stays unlabelled and a rerun labels it again.

Each failure class carries the dataset status it becomes (``exc.status``, one of
:data:`mlmd.data.STATUSES`). :meth:`Reference.label` never raises them: it turns them into a
:class:`Result` with that status and no labels, so one bad structure never stops a campaign.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mlmd.data import STATUSES, Frame
from mlmd.errors import InputError, MlmdError


class ReferenceSetupError(InputError):
    """The reference cannot start: bad settings, missing binary or data directory."""


class CalculationFailed(MlmdError):
    """A calculation ran and failed. ``status`` is the dataset status it becomes."""

    status = "failed"

    def __init__(self, message: str, *, log_path: Path | None = None):
        super().__init__(message)
        self.log_path = log_path


class SCFError(CalculationFailed):
    """The SCF did not converge (after every rung of the retry ladder that was enabled)."""

    status = "scf_not_converged"


class CalculationTimeout(CalculationFailed):
    """The calculation ran past its wall-time limit and was killed."""

    status = "timeout"


class CalculationCrashed(CalculationFailed):
    """The program exited with an error (non-zero exit code, abort message)."""

    status = "crashed"


class ReadError(CalculationFailed):
    """The run ended but its output (energy, forces, stress) is missing or unreadable."""

    status = "missing_output"


class CalculationInterrupted(MlmdError):
    """A program run was stopped from outside by a signal (never cached as a status).

    It exits 75 (EX_TEMPFAIL, as an MD run stopped by SIGTERM): a workflow reruns the step.
    """

    exit_code = 75


@dataclass(frozen=True, eq=False)
class Result:
    """The outcome of labelling one frame.

    Attributes:
        key: the frame's content key.
        status: one of :data:`mlmd.data.STATUSES` (never ``unlabelled``).
        energy: eV (NaN unless ``status == "ok"``).
        forces: [n, 3] eV/Å, or None unless ok.
        stress: [3, 3] eV/Å³ with ASE's sign, or None (unless ok, or the method gives none).
        wall_s: wall time spent on this frame, s (all retries included).
        log_path: the program's output kept for inspection, or None (in-process methods).
        message: why it failed ("" when ok).
        attempts: how many runs it took (1 when the first converged).
    """

    key: str
    status: str
    energy: float = math.nan
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    wall_s: float = 0.0
    log_path: Path | None = None
    message: str = ""
    attempts: int = 1

    def __post_init__(self) -> None:
        if self.status not in STATUSES or self.status == "unlabelled":
            raise ValueError(f"a result cannot have status {self.status!r}")
        if self.status != "ok" and (self.forces is not None or math.isfinite(self.energy)):
            raise ValueError("a failed result must not carry energy or forces")

    @classmethod
    def failure(cls, key: str, exc: CalculationFailed, wall_s: float, attempts: int = 1) -> Result:
        """The result of a frame whose calculation raised ``exc``."""
        return cls(
            key=key,
            status=exc.status,
            wall_s=wall_s,
            log_path=exc.log_path,
            message=str(exc),
            attempts=attempts,
        )

    def apply(self, frame: Frame) -> Frame:
        """``frame`` carrying these labels (or only this status, NaN labels, if failed)."""
        if frame.key != self.key:
            raise ValueError(f"result for {self.key} applied to frame {frame.key}")
        if self.status != "ok":
            return frame.with_labels(status=self.status)
        return frame.with_labels(
            energy=self.energy, forces=self.forces, stress=self.stress, status="ok"
        )


@runtime_checkable
class Reference(Protocol):
    """What every reference backend provides.

    Attributes:
        name: registry name (``"cp2k"``, ``"teacher"``).
        in_process: True when :meth:`label` computes in this process and is best called with
            large batches (the teacher); False when it launches external programs, one frame
            per call, so the driver runs several calls concurrently (CP2K).
    """

    name: str
    in_process: bool

    @property
    def reference(self) -> dict[str, Any]:
        """The method and every setting that changes the labels: the dataset's reference."""
        ...

    # Optional: ``check_elements(numbers: Iterable[int]) -> None`` raising
    # ReferenceSetupError for elements the method cannot label; the driver calls it on IN's
    # elements before anything is written (xtb, lammps, qe, cp2k).

    def label(self, frames: Sequence[Frame], workdir: Path) -> list[Result]:
        """Label ``frames``; one :class:`Result` per frame, in order. Never raises
        :class:`CalculationFailed`: failures come back as results with their status.

        Args:
            frames: structures to label (their labels, if any, are ignored).
            workdir: a directory this call may write into (per-frame subdirectories).
        """
        ...
