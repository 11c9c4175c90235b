"""Write a CP2K input (Quickstep energy + forces + analytic stress) for one frame and one rung
of the SCF ladder.

The input is plain text built from :class:`~mlmd.reference.cp2k_settings.CP2KSettings` and a
:class:`Rung` (the SCF strategy of one attempt). Cell and positions are written in Å, the cell
as its three row vectors with ``PERIODIC XYZ``; no k-points (Γ-point only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase.data import chemical_symbols

from mlmd.data import Frame
from mlmd.reference.cp2k_kinds import Kind
from mlmd.reference.cp2k_settings import CP2KSettings

#: CP2K PROJECT name; output files are ``mlmd-forces-1_0.xyz``, ``mlmd-RESTART.wfn``, ...
PROJECT = "mlmd"
INPUT_NAME = "cp2k.inp"
OUTPUT_NAME = "cp2k.out"


@dataclass(frozen=True)
class Rung:
    """The SCF strategy of one attempt.

    Attributes:
        name: ``base``, ``restart``, ``diagonalization`` or ``outer_loop``.
        solver: ``ot`` or ``diagonalization``.
        max_scf: inner SCF steps.
        outer_max_scf: outer SCF iterations (OT only).
        smearing_K: Fermi–Dirac electronic temperature, K (0 = none; diagonalisation only).
        added_mos: extra orbitals (diagonalisation only).
        mixing: ``broyden`` or ``pulay`` (diagonalisation only) with ``mixing_alpha``.
        minimizer: OT minimiser (``DIIS`` or ``CG``).
        restart: start from the previous attempt's wavefunction when it exists.
    """

    name: str
    solver: str
    max_scf: int
    outer_max_scf: int
    smearing_K: float = 0.0
    added_mos: int = 0
    mixing: str = "pulay"
    mixing_alpha: float = 0.4
    minimizer: str = "DIIS"
    restart: bool = False


def ladder(s: CP2KSettings) -> list[Rung]:
    """The attempts to make, in order: the base settings, then the enabled ladder rungs."""
    rungs = [
        Rung(
            "base",
            s.solver,
            s.max_scf,
            s.outer_max_scf,
            smearing_K=s.smearing_K,
            added_mos=s.added_mos,
            mixing_alpha=s.mixing_alpha,
        )
    ]
    lad = s.ladder
    if lad.enabled:
        rungs += [
            Rung(
                "restart",
                s.solver,
                lad.restart_max_scf,
                s.outer_max_scf,
                smearing_K=s.smearing_K,
                added_mos=s.added_mos,
                mixing_alpha=s.mixing_alpha,
                restart=True,
            ),
            Rung(
                "diagonalization",
                "diagonalization",
                lad.diag_max_scf,
                1,
                smearing_K=lad.smearing_K,
                added_mos=max(lad.added_mos, s.added_mos),
                mixing="broyden",
                mixing_alpha=lad.broyden_alpha,
                restart=True,
            ),
            Rung(
                "outer_loop",
                "ot",
                lad.inner_max_scf,
                lad.outer_max_scf,
                minimizer="CG",
                restart=True,
            ),
        ]
    return rungs


def _extra(s: CP2KSettings, section: str, indent: str) -> list[str]:
    text = s.extra_sections.get(section, "")
    return [indent + line.strip() for line in text.strip().splitlines() if line.strip()]


def _xc_grid(s: CP2KSettings) -> list[str]:
    if s.xc_smoothing == "none":
        return []
    deriv = {"nn10": "NN10_SMOOTH", "spline2": "SPLINE2_SMOOTH"}[s.xc_smoothing]
    return [
        "      &XC_GRID",
        "        XC_SMOOTH_RHO NN10",
        f"        XC_DERIV {deriv}",
        "      &END XC_GRID",
    ]


def _scf_block(s: CP2KSettings, rung: Rung, restart_wfn: Path | None) -> list[str]:
    lines = ["    &SCF", f"      EPS_SCF {s.eps_scf:.3e}", f"      MAX_SCF {rung.max_scf}"]
    if restart_wfn is not None:
        lines += ["      SCF_GUESS RESTART"]
    else:
        lines += ["      SCF_GUESS ATOMIC"]
    if rung.solver == "ot":
        lines += [
            "      &OT ON",
            f"        MINIMIZER {rung.minimizer}",
            "        PRECONDITIONER FULL_SINGLE_INVERSE",
            "      &END OT",
            "      &OUTER_SCF ON",
            f"        EPS_SCF {s.eps_scf:.3e}",
            f"        MAX_SCF {rung.outer_max_scf}",
            "      &END OUTER_SCF",
        ]
    else:
        if rung.added_mos:
            lines += [f"      ADDED_MOS {rung.added_mos}"]
        lines += [
            "      &DIAGONALIZATION ON",
            "        ALGORITHM STANDARD",
            "      &END DIAGONALIZATION",
            "      &MIXING ON",
            f"        METHOD {'BROYDEN_MIXING' if rung.mixing == 'broyden' else 'PULAY_MIXING'}",
            f"        ALPHA {rung.mixing_alpha}",
            "        NBUFFER 8",
            "      &END MIXING",
        ]
        if rung.smearing_K > 0:
            lines += [
                "      &SMEAR ON",
                "        METHOD FERMI_DIRAC",
                f"        ELECTRONIC_TEMPERATURE [K] {rung.smearing_K}",
                "      &END SMEAR",
            ]
    lines += [
        "      &PRINT",
        "        &RESTART ON",
        "          BACKUP_COPIES 0",
        "        &END RESTART",
        "      &END PRINT",
        *_extra(s, "SCF", "      "),
        "    &END SCF",
    ]
    return lines


def write_input(
    frame: Frame,
    s: CP2KSettings,
    rung: Rung,
    restart_wfn: Path | None,
    kinds: dict[str, Kind] | None = None,
) -> str:
    """The CP2K input text for ``frame`` (a periodic cell) under ``s`` and ``rung``.

    Args:
        restart_wfn: absolute path of a wavefunction to start from, or None (atomic guess).
        kinds: element symbol → basis set and potential (default: the settings' names for
            every element).
    """
    lines = [
        "&GLOBAL",
        f"  PROJECT {PROJECT}",
        "  RUN_TYPE ENERGY_FORCE",
        "  PRINT_LEVEL LOW",
        *_extra(s, "GLOBAL", "  "),
        "&END GLOBAL",
        "&FORCE_EVAL",
        "  METHOD QUICKSTEP",
        "  STRESS_TENSOR ANALYTICAL",
        *_dft_block(s, rung, restart_wfn),
        *_subsys_block(frame, s, kinds),
        "  &PRINT",
        "    &FORCES ON",
        "      FILENAME forces",
        "    &END FORCES",
        "    &STRESS_TENSOR ON",
        "      FILENAME stress",
        "    &END STRESS_TENSOR",
        "  &END PRINT",
        *_extra(s, "FORCE_EVAL", "  "),
        "&END FORCE_EVAL",
    ]
    return "\n".join(lines) + "\n"


def _dft_block(s: CP2KSettings, rung: Rung, restart_wfn: Path | None) -> list[str]:
    lines = [
        "  &DFT",
        f"    BASIS_SET_FILE_NAME {s.basis_set_file}",
        f"    POTENTIAL_FILE_NAME {s.potential_file}",
    ]
    if restart_wfn is not None:
        lines += [f"    WFN_RESTART_FILE_NAME {restart_wfn}"]
    return lines + [
        "    &MGRID",
        f"      CUTOFF {s.cutoff_Ry}",
        f"      REL_CUTOFF {s.rel_cutoff_Ry}",
        *_extra(s, "MGRID", "      "),
        "    &END MGRID",
        "    &QS",
        f"      EPS_DEFAULT {s.eps_default:.3e}",
        *_extra(s, "QS", "      "),
        "    &END QS",
        *_scf_block(s, rung, restart_wfn),
        "    &XC",
        f"      &XC_FUNCTIONAL {s.functional}",
        "      &END XC_FUNCTIONAL",
        *_xc_grid(s),
        *_extra(s, "XC", "      "),
        "    &END XC",
        *_extra(s, "DFT", "    "),
        "  &END DFT",
    ]


def _subsys_block(frame: Frame, s: CP2KSettings, kinds: dict[str, Kind] | None) -> list[str]:
    symbols = [chemical_symbols[z] for z in frame.numbers]
    lines = [
        "  &SUBSYS",
        "    &CELL",
        *(
            f"      {ax} {v[0]:.10f} {v[1]:.10f} {v[2]:.10f}"
            for ax, v in zip("ABC", frame.cell, strict=True)
        ),
        "      PERIODIC XYZ",
        "    &END CELL",
        "    &COORD",
        *(
            f"      {sym} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}"
            for sym, p in zip(symbols, np.asarray(frame.positions), strict=True)
        ),
        "    &END COORD",
    ]
    for sym in sorted(set(symbols)):
        kind = (kinds or {}).get(sym) or Kind(s.basis_set, s.pseudopotential)
        lines += [
            f"    &KIND {sym}",
            f"      BASIS_SET {kind.basis_set}",
            f"      POTENTIAL {kind.potential}",
            "    &END KIND",
        ]
    return lines + [*_extra(s, "SUBSYS", "    "), "  &END SUBSYS"]
