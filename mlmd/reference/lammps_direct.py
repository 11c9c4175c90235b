"""LAMMPS as an independent check: write a structure, run the ``lmp`` program once, read
energy, forces and virial back in mlmd's frame and units.

This is the file-based way (one process per structure) that the tests and benchmarks compare
against: the ``lammps`` reference backend (:mod:`mlmd.reference.lammps`) drives the LAMMPS
library instead, and the teacher's tests check the torch Vashishta potential with it. The
cell conversion (:func:`lammps_cell`) is shared by both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers
from ase.geometry import cell_to_cellpar, cellpar_to_cell

#: LAMMPS metal units: pressure [bar] · volume [Å³] / NKTV2P = virial [eV].
LAMMPS_NKTV2P_METAL: float = 1.6021765e6


def lammps_binary() -> str | None:
    """Path of the ``lmp`` executable, or None when LAMMPS is not installed."""
    return shutil.which("lmp") or shutil.which("lmp_serial")


def lammps_cell(atoms: Atoms) -> tuple[np.ndarray, np.ndarray]:
    """LAMMPS's restricted triclinic cell of ``atoms`` and the rotation between frames.

    Returns:
        ``cell`` [3, 3] (rows a = (lx,0,0), b = (xy,ly,0), c = (xz,yz,lz), tilts reduced to
        |tilt| ≤ half the box length) and ``rot`` [3, 3] with r_lammps = rot @ r.
    """
    cell = atoms.cell.array
    lower = cellpar_to_cell(cell_to_cellpar(cell))
    rot = np.linalg.solve(cell, lower).T
    a, b, c = lower
    b = b - np.round(b[0] / a[0]) * a
    c = c - np.round(c[1] / b[1]) * b
    c = c - np.round(c[0] / a[0]) * a
    return np.array([a, b, c]), rot


def write_lammps_data(atoms: Atoms, path: str | Path, elements: list[str]) -> np.ndarray:
    """Write ``atoms`` as a LAMMPS ``atomic`` data file in LAMMPS's triclinic frame.

    Args:
        elements: element of each atom type, in type order.

    Returns:
        ``rot`` [3, 3]: r_lammps = rot @ r (see :func:`lammps_cell`).
    """
    cell, rot = lammps_cell(atoms)
    positions = atoms.positions @ rot.T
    type_of = {atomic_numbers[e]: t + 1 for t, e in enumerate(elements)}
    lines = [
        "mlmd structure for LAMMPS",
        "",
        f"{len(atoms)} atoms",
        f"{len(elements)} atom types",
        "",
        f"0.0 {cell[0, 0]:.17g} xlo xhi",
        f"0.0 {cell[1, 1]:.17g} ylo yhi",
        f"0.0 {cell[2, 2]:.17g} zlo zhi",
        f"{cell[1, 0]:.17g} {cell[2, 0]:.17g} {cell[2, 1]:.17g} xy xz yz",
        "",
        "Masses",
        "",
        *(f"{t + 1} {atomic_masses[atomic_numbers[e]]:.6f}" for t, e in enumerate(elements)),
        "",
        "Atoms # atomic",
        "",
        *(
            f"{k + 1} {type_of[int(z)]} {p[0]:.17g} {p[1]:.17g} {p[2]:.17g}"
            for k, (z, p) in enumerate(zip(atoms.numbers, positions, strict=True))
        ),
    ]
    Path(path).write_text("\n".join(lines) + "\n")
    return rot


def run_lammps(
    atoms: Atoms,
    pair_style: str,
    pair_coeff: str | list[str],
    elements: list[str],
    *,
    workdir: str | Path | None = None,
) -> dict[str, np.ndarray | float]:
    """Energy, forces and virial of ``atoms`` from LAMMPS (``run 0``, metal units, 1 process).

    Args:
        atoms: a fully periodic structure (any cell shape; it is rotated into LAMMPS's frame
            and results are rotated back).
        pair_style: e.g. ``"vashishta"``.
        pair_coeff: the ``pair_coeff`` arguments, e.g. ``"* * SiO.1994.vashishta O Si"``
            (a list for several ``pair_coeff`` lines).
        elements: element of each LAMMPS atom type, in type order (``["O", "Si"]``).
        workdir: where to write the input, data, log and dump (default: a temporary folder).

    Returns:
        ``energy`` eV, ``forces`` [n, 3] eV/Å, ``virial`` [3, 3] eV (LAMMPS sign: positive
        when repulsive; equals mlmd's W = −Σ r_ij ⊗ ∂E/∂r_ij), ``volume`` Å³; values carry 15
        significant digits.

    Raises:
        FileNotFoundError: no ``lmp``. RuntimeError: LAMMPS failed (its log in the message).
    """
    binary = lammps_binary()
    if binary is None:
        raise FileNotFoundError("LAMMPS executable 'lmp' not found (Debian package 'lammps')")
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="mlmd-lammps-") as tmp:
            return run_lammps(atoms, pair_style, pair_coeff, elements, workdir=tmp)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    rot = write_lammps_data(atoms, work / "data.lmp", elements)
    coeffs = [pair_coeff] if isinstance(pair_coeff, str) else list(pair_coeff)
    (work / "in.lmp").write_text(_input_script(pair_style, coeffs))
    proc = subprocess.run(
        [binary, "-in", "in.lmp", "-log", "log.lammps", "-screen", "none", "-nocite"],
        cwd=work,
        capture_output=True,
        text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    log = (work / "log.lammps").read_text() if (work / "log.lammps").exists() else ""
    if proc.returncode != 0:
        raise RuntimeError(f"LAMMPS failed ({proc.returncode}): {proc.stderr}\n{log[-3000:]}")
    energy, volume, virial_lmp = _read_thermo(log)
    forces_lmp = _read_forces(work / "forces.dump")
    return {
        "energy": energy,
        "forces": forces_lmp @ rot,
        "virial": rot.T @ virial_lmp @ rot,
        "volume": volume,
    }


def _input_script(pair_style: str, pair_coeffs: list[str]) -> str:
    """``run 0`` input printing pe, volume and the virial (15 digits) and dumping forces."""
    return "\n".join(
        [
            "units metal",
            "atom_style atomic",
            "atom_modify map array",
            "boundary p p p",
            "read_data data.lmp",
            f"pair_style {pair_style}",
            *(f"pair_coeff {c}" for c in pair_coeffs),
            "neighbor 1.0 bin",
            "compute vir all pressure NULL virial",
            "thermo_style custom step pe vol c_vir[1] c_vir[2] c_vir[3] c_vir[4] c_vir[5] c_vir[6]",
            "thermo_modify format float %20.15g",
            "dump forces all custom 1 forces.dump id fx fy fz",
            "dump_modify forces format float %20.15g sort id",
            "run 0",
            "",
        ]
    )


def _read_thermo(log: str) -> tuple[float, float, np.ndarray]:
    """(energy eV, volume Å³, virial [3, 3] eV in LAMMPS's frame) from the thermo line."""
    match = re.search(r"^\s*Step\s+PotEng.*\n(.*)\n", log, flags=re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no thermo output in LAMMPS log:\n{log[-3000:]}")
    values = [float(x) for x in match.group(1).split()]
    energy, volume = values[1], values[2]
    pxx, pyy, pzz, pxy, pxz, pyz = values[3:9]
    p = np.array([[pxx, pxy, pxz], [pxy, pyy, pyz], [pxz, pyz, pzz]])
    return energy, volume, p * volume / LAMMPS_NKTV2P_METAL


def _read_forces(path: Path) -> np.ndarray:
    """[n, 3] forces (eV/Å, LAMMPS's frame) from a dump sorted by atom id."""
    dump = path.read_text().splitlines()
    start = dump.index("ITEM: ATOMS id fx fy fz") + 1
    table = np.array([[float(x) for x in line.split()] for line in dump[start:]])
    return table[np.argsort(table[:, 0]), 1:4]
