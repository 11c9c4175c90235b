"""Reference calculations: label structures with energy, forces, stress and a status.

Public API::

    from mlmd.reference import get_reference, label_dataset
    ref = get_reference("cp2k", preset="fast", ranks=2)     # or "qe", "xtb", "lammps", ...
    ref = get_reference("lammps", config={"pair_style": "sw", "pair_coeff": ["* * Si.sw Si"]})
    results = ref.label(frames, workdir)                      # list[Result]
    summary = label_dataset("in.h5", "out.h5", "teacher", workers=1)

Backends (each built from a plain mapping or a TOML file, strictly): ``cp2k``
(:mod:`mlmd.reference.cp2k`), ``qe`` (:mod:`mlmd.reference.qe`), ``xtb``
(:mod:`mlmd.reference.xtb`), ``lammps`` (:mod:`mlmd.reference.lammps`; reference MD in
:mod:`mlmd.reference.lammps_md`), ``teacher`` (:mod:`mlmd.reference.teacher`). The driver
turns labels beyond :class:`LabelBounds` into status ``unphysical`` and lets concurrent runs
on one output share its frames.
"""

from mlmd.reference.bounds import LabelBounds
from mlmd.reference.label import LabelOptions, label_dataset
from mlmd.reference.label_output import LabelSummary
from mlmd.reference.protocol import (
    CalculationCrashed,
    CalculationFailed,
    CalculationInterrupted,
    CalculationTimeout,
    ReadError,
    Reference,
    ReferenceSetupError,
    Result,
    SCFError,
)
from mlmd.reference.registry import available, get_reference, register

__all__ = [
    "CalculationCrashed",
    "CalculationFailed",
    "CalculationInterrupted",
    "CalculationTimeout",
    "LabelBounds",
    "LabelOptions",
    "LabelSummary",
    "ReadError",
    "Reference",
    "ReferenceSetupError",
    "Result",
    "SCFError",
    "available",
    "get_reference",
    "label_dataset",
    "register",
]
