"""One structure with its (optional) reference labels, and its content key.

Units: positions and cell in Å, energy in eV, forces in eV/Å, stress in eV/Å³ with ASE's
sign (stress = (1/V) ∂E/∂ε; positive under tension). Missing labels are NaN, and
``status`` says why (see :data:`STATUSES`). Whatever else a structure came with (extxyz
``info`` such as ``config_type``, extra per-atom arrays such as charges) travels in
``info`` and ``arrays`` and is stored with it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

#: Label states a frame can be in. Only ``ok`` frames carry labels that may be trained on.
STATUSES = (
    "unlabelled",
    "ok",
    "scf_not_converged",
    "failed",
    "timeout",
    "crashed",
    "missing_output",
    "unphysical",  # a label outside physical bounds (mlmd.reference.bounds): never trained on
)


#: What a frame key looks like (:func:`frame_key`): keys name work directories, so a dataset
#: refuses anything else on read and on write (:mod:`mlmd.data.validation`).
KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


def frame_key(numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray) -> str:
    """Content hash of a structure: sha256 over (numbers, positions, cell, pbc), 32 hex chars.

    Positions and cell are rounded to 1e-8 Å first, so a float64 round trip through text
    formats gives the same key.
    """
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(numbers, dtype=np.int64).tobytes())
    for arr in (positions, cell):
        h.update(
            np.ascontiguousarray(np.round(np.asarray(arr, dtype=np.float64), 8) + 0.0).tobytes()
        )
    h.update(np.ascontiguousarray(pbc, dtype=np.bool_).tobytes())
    return h.hexdigest()[:32]


@dataclass(frozen=True, eq=False)
class Frame:
    """A structure and its labels. Arrays are float64 (positions, cell, labels) and int64."""

    numbers: np.ndarray  # [n] atomic numbers
    positions: np.ndarray  # [n, 3] Å
    cell: np.ndarray  # [3, 3] Å, rows are lattice vectors
    pbc: np.ndarray  # [3] bool
    energy: float = float("nan")  # eV
    forces: np.ndarray | None = None  # [n, 3] eV/Å, NaN when missing
    stress: np.ndarray | None = None  # [3, 3] eV/Å³, NaN when missing
    status: str = "unlabelled"
    source: str = ""  # where the frame came from (builder, file, md run, ...)
    weight: float = 1.0  # training weight
    key: str = field(default="")
    info: dict[str, Any] = field(default_factory=dict)  # per-frame metadata (JSON values)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # extra per-atom [n, ...]

    def __post_init__(self) -> None:
        n = len(self.numbers)
        set_ = object.__setattr__
        set_(self, "numbers", np.asarray(self.numbers, dtype=np.int64).reshape(n))
        set_(self, "positions", np.asarray(self.positions, dtype=np.float64).reshape(n, 3))
        set_(self, "cell", np.asarray(self.cell, dtype=np.float64).reshape(3, 3))
        set_(self, "pbc", np.broadcast_to(np.asarray(self.pbc, dtype=bool), (3,)).copy())
        forces = np.full((n, 3), np.nan) if self.forces is None else self.forces
        stress = np.full((3, 3), np.nan) if self.stress is None else self.stress
        set_(self, "forces", np.asarray(forces, dtype=np.float64).reshape(n, 3))
        set_(self, "stress", np.asarray(stress, dtype=np.float64).reshape(3, 3))
        set_(self, "energy", float(self.energy))
        set_(self, "weight", float(self.weight))
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; valid: {', '.join(STATUSES)}")
        if not self.key:
            set_(self, "key", frame_key(self.numbers, self.positions, self.cell, self.pbc))
        set_(self, "info", dict(self.info))
        arrays = {str(k): np.asarray(v) for k, v in self.arrays.items()}
        for name, arr in arrays.items():
            if arr.ndim == 0 or arr.shape[0] != n:
                raise ValueError(f"per-atom array {name!r} has shape {arr.shape}, not ({n}, ...)")
        set_(self, "arrays", arrays)

    @property
    def n_atoms(self) -> int:
        return len(self.numbers)

    @property
    def volume(self) -> float:
        """Cell volume in Å³."""
        return float(abs(np.linalg.det(self.cell)))

    @property
    def has_stress(self) -> bool:
        return bool(np.isfinite(self.stress).all())

    def with_labels(
        self,
        *,
        energy: float = float("nan"),
        forces: np.ndarray | None = None,
        stress: np.ndarray | None = None,
        status: str = "ok",
    ) -> Frame:
        """A copy carrying new labels (the structure and key unchanged)."""
        return replace(self, energy=energy, forces=forces, stress=stress, status=status)

    def unlabelled(self) -> Frame:
        """A copy with every label dropped and status ``unlabelled``."""
        return replace(self, energy=float("nan"), forces=None, stress=None, status="unlabelled")
