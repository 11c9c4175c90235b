"""Write a ``pw.x`` input (SCF, forces, stress) for one frame and one rung of the SCF ladder,
and choose its k-point mesh from the cell size.

Cell and positions are written in Å (``CELL_PARAMETERS angstrom``, ``ATOMIC_POSITIONS
angstrom``); a 1×1×1 mesh is written as ``K_POINTS gamma`` (Γ-point tricks, half the cost).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.data import atomic_masses, chemical_symbols

from mlmd.data import Frame
from mlmd.reference.qe_settings import QESettings

INPUT_NAME = "pw.in"
OUTPUT_NAME = "pw.out"
PREFIX = "mlmd"


@dataclass(frozen=True)
class Rung:
    """The SCF strategy of one attempt: name, iterations, mixing and diagonalisation."""

    name: str
    electron_maxstep: int
    mixing_beta: float
    mixing_mode: str = "plain"
    diagonalization: str = "david"


def ladder(s: QESettings) -> list[Rung]:
    """The attempts to make, in order: the base settings, then the enabled ladder rungs."""
    rungs = [Rung("base", s.electron_maxstep, s.mixing_beta)]
    lad = s.ladder
    if lad.enabled:
        rungs += [
            Rung("mixing", lad.max_steps, lad.mixing_beta, mixing_mode="local-TF"),
            Rung("cg", lad.max_steps, lad.cg_mixing_beta, diagonalization="cg"),
        ]
    return rungs


def kpoint_mesh(cell: np.ndarray, spacing_A_inv: float) -> tuple[int, int, int]:
    """Monkhorst–Pack sizes n_i = max(1, ⌈|b_i| / spacing⌉), b = 2π (A⁻¹)ᵀ (Å⁻¹); Γ only
    when ``spacing_A_inv`` is 0."""
    if spacing_A_inv == 0:
        return (1, 1, 1)
    recip = 2 * math.pi * np.linalg.inv(np.asarray(cell, dtype=np.float64)).T
    lengths = np.linalg.norm(recip, axis=1)
    return tuple(max(1, math.ceil(length / spacing_A_inv - 1e-9)) for length in lengths)


def _namelists(frame: Frame, s: QESettings, rung: Rung, pseudo_dir: Path, ntyp: int) -> list[str]:
    system = [
        "  ibrav = 0",
        f"  nat = {frame.n_atoms}",
        f"  ntyp = {ntyp}",
        f"  ecutwfc = {s.ecutwfc_Ry}",
        f"  ecutrho = {s.density_cutoff_Ry}",
        f"  occupations = '{s.occupations}'",
    ]
    if s.occupations == "smearing":
        system += [f"  smearing = '{s.smearing}'", f"  degauss = {s.degauss_Ry}"]
    return [
        "&CONTROL",
        "  calculation = 'scf'",
        "  tprnfor = .true.",
        "  tstress = .true.",
        f"  pseudo_dir = '{pseudo_dir}'",
        "  outdir = './tmp'",
        f"  prefix = '{PREFIX}'",
        "  disk_io = 'none'",
        "/",
        "&SYSTEM",
        *system,
        "/",
        "&ELECTRONS",
        f"  conv_thr = {s.conv_thr_Ry:.3e}",
        f"  electron_maxstep = {rung.electron_maxstep}",
        f"  mixing_beta = {rung.mixing_beta}",
        f"  mixing_mode = '{rung.mixing_mode}'",
        f"  diagonalization = '{rung.diagonalization}'",
        "/",
    ]


def write_input(
    frame: Frame, s: QESettings, rung: Rung, pseudos: dict[str, str], pseudo_dir: Path
) -> str:
    """The ``pw.x`` input text for ``frame`` (a periodic cell).

    Args:
        pseudos: element symbol → UPF file name in ``pseudo_dir`` (every element of frame).
    """
    symbols = [chemical_symbols[z] for z in frame.numbers]
    species = sorted(set(symbols))
    mesh = kpoint_mesh(frame.cell, s.kspacing_A_inv)
    kpoints = (
        ["K_POINTS gamma"]
        if mesh == (1, 1, 1)
        else [
            "K_POINTS automatic",
            f"{mesh[0]} {mesh[1]} {mesh[2]} 0 0 0",
        ]
    )
    lines = [
        *_namelists(frame, s, rung, pseudo_dir, len(species)),
        "ATOMIC_SPECIES",
        *(f"{el} {atomic_masses[chemical_symbols.index(el)]:.6f} {pseudos[el]}" for el in species),
        "CELL_PARAMETERS angstrom",
        *(f"{v[0]:.10f} {v[1]:.10f} {v[2]:.10f}" for v in frame.cell),
        "ATOMIC_POSITIONS angstrom",
        *(
            f"{el} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}"
            for el, p in zip(symbols, np.asarray(frame.positions), strict=True)
        ),
        *kpoints,
    ]
    return "\n".join(lines) + "\n"
