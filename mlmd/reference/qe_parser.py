"""Read ``pw.x``'s output: SCF convergence and error blocks (here), energy, forces and stress
through ASE's ``espresso-out`` reader (Ry → eV, Ry/Bohr → eV/Å, QE's pressure-sign stress →
ASE's sign)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlmd.data.ase_io import ase_read
from mlmd.reference.protocol import ReadError

_NOT_CONVERGED = "convergence NOT achieved"
_ERROR_BLOCK = re.compile(r"%{20,}\n(.*?)\n\s*%{20,}", re.S)


@dataclass(frozen=True)
class OutputStatus:
    """What the output says: SCF converged? an error block (with QE's message)?"""

    scf_converged: bool
    error: str


def read_status(output: Path) -> OutputStatus:
    """Scan ``pw.x``'s output for SCF non-convergence and ``%%%%`` error blocks.

    Raises:
        ReadError: the output does not exist.
    """
    try:
        text = output.read_text(errors="replace")
    except FileNotFoundError:
        raise ReadError(f"no pw.x output at {output}", log_path=output) from None
    match = _ERROR_BLOCK.search(text)
    error = " ".join(match.group(1).split())[:500] if match else ""
    return OutputStatus(_NOT_CONVERGED not in text, error)


def read_labels(output: Path, n_atoms: int) -> tuple[float, np.ndarray, np.ndarray]:
    """(energy eV, forces [n, 3] eV/Å, stress [3, 3] eV/Å³ ASE sign) of the last SCF.

    Raises:
        ReadError: energy, forces or stress missing or malformed.
    """
    try:
        atoms = ase_read(output, format="espresso-out", index=-1)  # serial: no MPI broadcast
        energy = float(atoms.get_potential_energy())
        forces = np.asarray(atoms.get_forces(), dtype=np.float64)
        stress = np.asarray(atoms.get_stress(voigt=False), dtype=np.float64)
    except Exception as exc:  # ASE raises many kinds on a truncated or odd output
        raise ReadError(f"cannot read labels from {output}: {exc}", log_path=output) from None
    if forces.shape != (n_atoms, 3) or not np.isfinite(forces).all():
        raise ReadError(f"{output}: expected {n_atoms} finite force rows", log_path=output)
    return energy, forces, stress
