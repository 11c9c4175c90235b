"""Read CP2K's own output: total energy and SCF convergence from the main output, forces from
``<project>-forces-1_0.xyz`` and the analytic stress from ``<project>-stress-1_0.stress_tensor``,
converted to mlmd units (Hartree → eV, Hartree/Bohr → eV/Å, GPa → eV/Å³ with ASE's sign)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlmd import units
from mlmd.reference.protocol import ReadError

_ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( \w+ \) energy \[a\.u\.\]:\s+(\S+)")
_NOT_CONVERGED = ("SCF run NOT converged",)
_ABORT = re.compile(r"\bABORT\b")
_STRESS_ROW = re.compile(r"STRESS\|\s+([xyz])\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


@dataclass(frozen=True)
class OutputStatus:
    """What the main output says about a run: SCF converged? aborted? (with CP2K's message)"""

    scf_converged: bool
    aborted: bool
    message: str


def read_status(output: Path) -> OutputStatus:
    """Scan CP2K's main output for SCF non-convergence and aborts.

    Raises:
        ReadError: the output file does not exist.
    """
    try:
        text = output.read_text(errors="replace")
    except FileNotFoundError:
        raise ReadError(f"no CP2K output at {output}", log_path=output) from None
    aborted = bool(_ABORT.search(text))
    message = ""
    if aborted:
        lines = [ln.strip(" *") for ln in text.splitlines() if "ABORT" in ln or "ERROR" in ln]
        message = "; ".join(ln for ln in lines if ln)[:500]
    converged = not any(marker in text for marker in _NOT_CONVERGED)
    return OutputStatus(converged, aborted, message)


def read_energy(output: Path) -> float:
    """Total energy (eV): the last ``ENERGY| Total FORCE_EVAL`` line of the main output."""
    matches = _ENERGY.findall(output.read_text(errors="replace"))
    if not matches:
        raise ReadError(f"no total energy in {output}", log_path=output)
    return float(matches[-1]) * units.HARTREE


def _one(workdir: Path, pattern: str, log: Path) -> Path:
    found = sorted(workdir.glob(pattern))
    if not found:
        raise ReadError(f"CP2K wrote no {pattern} in {workdir}", log_path=log)
    return found[-1]


def read_forces(workdir: Path, project: str, n_atoms: int, log: Path) -> np.ndarray:
    """[n_atoms, 3] forces in eV/Å from ``<project>-forces-*.xyz`` (written in Hartree/Bohr)."""
    path = _one(workdir, f"{project}-forces-*.xyz", log)
    rows = []
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) == 6 and words[0].isdigit() and words[1].isdigit():
            rows.append([float(w) for w in words[3:6]])
    forces = np.asarray(rows, dtype=np.float64)
    if forces.shape != (n_atoms, 3) or not np.isfinite(forces).all():
        raise ReadError(f"{path}: expected {n_atoms} finite force rows", log_path=log)
    return forces * (units.HARTREE / units.BOHR)


def read_stress(workdir: Path, project: str, log: Path) -> np.ndarray:
    """[3, 3] stress in eV/Å³ (ASE sign) from ``<project>-stress-*.stress_tensor``.

    CP2K prints the analytic stress tensor in GPa with the pressure sign (positive under
    compression, pressure = trace/3); ASE's stress is its negative.
    """
    path = _one(workdir, f"{project}-stress-*.stress_tensor", log)
    rows = {}
    for line in path.read_text().splitlines():
        if "Analytical stress tensor" in line:
            rows = {}  # keep the last block only
        m = _STRESS_ROW.match(line.strip())
        if m and len(rows) < 3:
            try:
                rows[m.group(1)] = [float(m.group(k)) for k in (2, 3, 4)]
            except ValueError:
                continue
    if set(rows) != {"x", "y", "z"}:
        raise ReadError(f"{path}: no analytic stress tensor", log_path=log)
    stress_gpa = np.array([rows["x"], rows["y"], rows["z"]], dtype=np.float64)
    return -stress_gpa * units.GPA
