"""Analysis of MD trajectories for any species set: structure (all partial g(r), coordination
per pair, bond angles of every triplet type, neutron and X-ray S(Q), rings on the bonds the
caller names, Voronoi indices), dynamics (MSD and diffusion, VACF and VDOS) and
thermodynamics, over an analysis window, with plots and a JSON summary.

Public API:

- the report: :func:`analyze` (as ``mlmd analyze`` runs it) with :class:`AnalysisConfig`,
  :class:`Window` (``"time_ps:A:B"``, ``"steps:A:B"``, ``"segment:K"``), :func:`segments`,
  :func:`report_lines` (markdown naming the window of every number), :func:`compare` and
  :func:`resolve` (named quantities against a caller's experiment table);
- streaming input: :func:`open_trajectory` (H5MD / extxyz / LAMMPS dumps), :class:`Snapshot`;
- accumulators, one frame at a time: :class:`RdfAccumulator` (→ :class:`Rdf`),
  :class:`CoordinationAccumulator`, :class:`AngleAccumulator`, :class:`DirectSq`,
  :class:`RingAccumulator`, :class:`VoronoiAccumulator`; :func:`bonds` (the bond list they
  share), :func:`triplet_angles`;
- functions: :func:`first_peak`, :func:`first_minimum`, :func:`max_r_max`,
  :func:`sq_from_rdf`, :func:`first_sharp_peak`, :func:`faber_ziman_weights`,
  :func:`neutron_lengths_fm`, :func:`xray_form_factors`, :func:`voronoi_indices`,
  :func:`index_fraction`, :func:`coordination_fraction`, :func:`mean_angle`;
  dynamics :func:`msd_sum`, :func:`fit_diffusion`, :func:`vdos`; :func:`thermo_summary`;
  quench curves :func:`quench_curves` (ρ(T), H(T) of the cooling segment; ``--what quench``).
"""

from mlmd.analysis.angles import AngleAccumulator, triplet_angles
from mlmd.analysis.config import ANALYSES, AnalysisConfig
from mlmd.analysis.coordination import CoordinationAccumulator, bonds
from mlmd.analysis.dynamics import fit_diffusion, msd_sum, vdos
from mlmd.analysis.quantities import (
    compare,
    coordination_fraction,
    mean_angle,
    report_lines,
    resolve,
)
from mlmd.analysis.quench import quench_curves
from mlmd.analysis.rdf import Rdf, RdfAccumulator, first_minimum, first_peak, max_r_max
from mlmd.analysis.reader import Snapshot, open_trajectory
from mlmd.analysis.report import analyze
from mlmd.analysis.rings import RingAccumulator
from mlmd.analysis.scattering import faber_ziman_weights, neutron_lengths_fm, xray_form_factors
from mlmd.analysis.structure_factor import (
    DirectSq,
    StructureFactor,
    first_sharp_peak,
    sq_from_rdf,
)
from mlmd.analysis.thermo import thermo_summary
from mlmd.analysis.voronoi import VoronoiAccumulator, index_fraction, voronoi_indices
from mlmd.analysis.window import Window, segments

__all__ = [
    "ANALYSES",
    "AnalysisConfig",
    "AngleAccumulator",
    "CoordinationAccumulator",
    "DirectSq",
    "Rdf",
    "RdfAccumulator",
    "RingAccumulator",
    "Snapshot",
    "StructureFactor",
    "VoronoiAccumulator",
    "Window",
    "analyze",
    "bonds",
    "compare",
    "coordination_fraction",
    "faber_ziman_weights",
    "first_minimum",
    "first_peak",
    "first_sharp_peak",
    "fit_diffusion",
    "index_fraction",
    "max_r_max",
    "mean_angle",
    "msd_sum",
    "neutron_lengths_fm",
    "open_trajectory",
    "quench_curves",
    "report_lines",
    "resolve",
    "segments",
    "sq_from_rdf",
    "thermo_summary",
    "triplet_angles",
    "vdos",
    "voronoi_indices",
    "xray_form_factors",
]
