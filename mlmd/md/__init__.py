"""Domain-decomposed MPI molecular dynamics with mlmd potentials.

Public API: :func:`run_md` (config → summary), :class:`MDConfig` / :func:`load_config`,
the state (:class:`MDState`), the decomposition (:mod:`mlmd.md.domain`: ``exchange``,
``borders``, ``forward``, ``reverse``), the integrator registry (:data:`INTEGRATORS`, each
with its ``[ensemble]`` config in :mod:`mlmd.md.ensemble`; :func:`make_integrator`),
:class:`Engine` (``start`` / ``resume`` / ``step``: the step in LAMMPS order),
:class:`MDSafetyError` and the H5MD writer.
"""

from mlmd.md.config import MDConfig, config_from_mapping, load_config
from mlmd.md.engine import Engine, MDSafetyError
from mlmd.md.h5md import H5MDWriter
from mlmd.md.integrators import INTEGRATORS, make_integrator
from mlmd.md.runner import run_md
from mlmd.md.state import MDState

__all__ = [
    "INTEGRATORS",
    "Engine",
    "H5MDWriter",
    "MDConfig",
    "MDSafetyError",
    "MDState",
    "config_from_mapping",
    "load_config",
    "make_integrator",
    "run_md",
]
