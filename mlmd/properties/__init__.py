"""Properties of melts, glasses and crystals from mlmd's MD, with uncertainties.

Public API (plain functions on arrays, trajectory files and frozen configs):

- :func:`glass_transition` — T_g ± σ from the kink of enthalpy or volume vs T in a quench
  (two-line fit), with the two lines and a ``resolved`` flag;
- :func:`green_kubo` — a Green–Kubo integral with its plateau rule and block errors;
- :func:`viscosity`, :func:`viscosity_from_runs` — shear viscosity from the pressure tensor
  of fixed-volume MD (arrays, or ``pressure_tensor`` observables of H5MD files);
- :func:`bulk_modulus_fluctuations`, :func:`bulk_modulus_from_run` — K_T from NPT volume
  fluctuations; :func:`fit_eos`, :func:`relaxed_pv_scan` — K₀ from P(V);
- :func:`elastic_constants` — C_ij by strain–stress with relaxed ions (0 K);
- :func:`thermal_expansion`, :func:`density_maximum`, :func:`state_points` — NPT T scans;
- :func:`relax_crystal`, :func:`compare_crystals` — relaxed lattices vs a reference;
- :func:`run_properties` — everything a ``mlmd properties`` config asks, MD included;
  :func:`report_lines` — its markdown table for a campaign report;
- :func:`read_run` — a trajectory's observables and run config.
"""

from mlmd.properties.bulk import (
    bulk_modulus_fluctuations,
    bulk_modulus_from_run,
    fit_eos,
    relaxed_pv_scan,
)
from mlmd.properties.config import PropertiesConfig, load_properties_config
from mlmd.properties.crystals import compare_crystals, relax_crystal
from mlmd.properties.elastic import elastic_constants
from mlmd.properties.glass_transition import GlassTransition, glass_transition
from mlmd.properties.green_kubo import GreenKubo, green_kubo
from mlmd.properties.observables import Run, read_run
from mlmd.properties.report import report_lines
from mlmd.properties.run import run_properties
from mlmd.properties.thermal import density_maximum, state_points, thermal_expansion
from mlmd.properties.viscosity import Viscosity, viscosity, viscosity_from_runs

__all__ = [
    "GlassTransition",
    "GreenKubo",
    "PropertiesConfig",
    "Run",
    "Viscosity",
    "bulk_modulus_fluctuations",
    "bulk_modulus_from_run",
    "compare_crystals",
    "density_maximum",
    "elastic_constants",
    "fit_eos",
    "glass_transition",
    "green_kubo",
    "load_properties_config",
    "read_run",
    "relax_crystal",
    "relaxed_pv_scan",
    "report_lines",
    "run_properties",
    "state_points",
    "thermal_expansion",
    "viscosity",
    "viscosity_from_runs",
]
