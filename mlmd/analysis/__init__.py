"""Analysis of MD trajectories: structure (g(r), coordination, bond angles, S(Q), ring
statistics), dynamics (MSD and diffusion, VACF and VDOS) and thermodynamics, with plots and a
JSON summary.

Public API: :func:`analyze` (the whole report, as ``mlmd analyze`` runs it) with
:class:`AnalysisConfig`; :func:`open_trajectory` (streaming H5MD / extxyz / LAMMPS dumps);
the accumulators :class:`RdfAccumulator`, :class:`CoordinationAccumulator`,
:class:`AngleAccumulator`, :class:`DirectSq`, :class:`RingAccumulator`; :func:`sq_from_rdf`,
:func:`first_sharp_peak`, :func:`first_peak`, :func:`first_minimum`, :func:`max_r_max`;
dynamics :func:`msd_sum`, :func:`fit_diffusion`, :func:`vdos`; :func:`thermo_summary`; silica
data :data:`SILICA`.
"""

from mlmd.analysis.angles import AngleAccumulator, triplet_angles
from mlmd.analysis.config import ANALYSES, AnalysisConfig
from mlmd.analysis.coordination import CoordinationAccumulator
from mlmd.analysis.dynamics import fit_diffusion, msd_sum, vdos
from mlmd.analysis.experiment import SILICA
from mlmd.analysis.rdf import Rdf, RdfAccumulator, first_minimum, first_peak, max_r_max
from mlmd.analysis.reader import Snapshot, open_trajectory
from mlmd.analysis.report import analyze
from mlmd.analysis.rings import RingAccumulator
from mlmd.analysis.structure_factor import (
    SCATTERING_LENGTHS_FM,
    DirectSq,
    StructureFactor,
    first_sharp_peak,
    sq_from_rdf,
)
from mlmd.analysis.thermo import thermo_summary

__all__ = [
    "ANALYSES",
    "SCATTERING_LENGTHS_FM",
    "SILICA",
    "AnalysisConfig",
    "AngleAccumulator",
    "CoordinationAccumulator",
    "DirectSq",
    "Rdf",
    "RdfAccumulator",
    "RingAccumulator",
    "Snapshot",
    "StructureFactor",
    "analyze",
    "first_minimum",
    "first_peak",
    "first_sharp_peak",
    "fit_diffusion",
    "max_r_max",
    "msd_sum",
    "open_trajectory",
    "sq_from_rdf",
    "thermo_summary",
    "triplet_angles",
    "vdos",
]
