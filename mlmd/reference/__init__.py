"""Reference calculations: label structures with energy, forces, stress and a status.

Public API::

    from mlmd.reference import get_reference, label_dataset
    ref = get_reference("cp2k", preset="fast", ranks=2)     # or "teacher"
    results = ref.label(frames, workdir)                      # list[Result]
    summary = label_dataset("in.h5", "out.h5", "teacher", workers=1)

Backends: ``cp2k`` (:mod:`mlmd.reference.cp2k`), ``teacher`` (:mod:`mlmd.reference.teacher`).
"""

from mlmd.reference.label import LabelSummary, label_dataset
from mlmd.reference.protocol import (
    CalculationCrashed,
    CalculationFailed,
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
    "CalculationTimeout",
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
