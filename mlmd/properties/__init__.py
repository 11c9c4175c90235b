"""Properties of melts, glasses and crystals from mlmd's MD, with uncertainties.

Public API (plain functions on arrays, trajectory files and frozen configs):

- :func:`glass_transition` — T_g ± σ from the kink of enthalpy or volume vs T in a quench
  (two-line fit), with the two lines and a ``resolved`` flag;
- :func:`green_kubo` — a Green–Kubo integral with its plateau rule and block errors;
- :func:`viscosity`, :func:`viscosity_from_runs` — shear viscosity from the pressure tensor
  of fixed-volume MD (arrays, or ``pressure_tensor`` observables of H5MD files);
- :func:`read_run` — a trajectory's observables and run config.
"""

from mlmd.properties.glass_transition import GlassTransition, glass_transition
from mlmd.properties.green_kubo import GreenKubo, green_kubo
from mlmd.properties.observables import Run, read_run
from mlmd.properties.viscosity import Viscosity, viscosity, viscosity_from_runs

__all__ = [
    "GlassTransition",
    "GreenKubo",
    "Run",
    "Viscosity",
    "glass_transition",
    "green_kubo",
    "read_run",
    "viscosity",
    "viscosity_from_runs",
]
