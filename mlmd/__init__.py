"""mlmd: first-principles data → machine-learned potentials → MPI molecular dynamics → analysis.

Internal units are Å, eV, amu, fs and K (see :mod:`mlmd.units`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlmd")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
