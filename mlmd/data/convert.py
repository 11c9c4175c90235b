"""Frames ↔ ASE ``Atoms``: labels, statuses and everything else a structure carries.

Labels travel as ASE calculator results (a ``SinglePointCalculator``): ``energy`` (eV),
``forces`` [n,3] (eV/Å) and ``stress`` in ASE's Voigt order (xx, yy, zz, yz, xz, xy; eV/Å³,
ASE sign). A frame's status, source and weight travel in ``atoms.info`` as ``mlmd_status``,
``mlmd_source`` and ``mlmd_weight``.

Where the labels are is a :class:`LabelKeys`: by default ASE's own names; MACE-style files
keep them in ``REF_energy`` (info), ``REF_forces`` (per-atom array) and ``REF_stress`` (info),
GAP-style files a ``virial`` (info, eV; stress = −virial / volume). A label is looked up in
the calculator results first, then in ``info`` (energy, stress, virial) or ``arrays``
(forces). A stress may be 3×3, 9 numbers (row-major) or 6 (Voigt).

Everything else is kept: the remaining ``info`` keys (``config_type``, ...) become
``Frame.info``, the remaining per-atom arrays (charges, momenta, ...) ``Frame.arrays``, and
calculator results that are not labels (``free_energy``, ``energies``, ``magmoms``, ...) join
them under their own names. :func:`label_like_leftovers` names the keys that look like a
label but were not taken as one, so a caller can say so instead of dropping them silently.

Status of a structure without ``mlmd_status``: ``ok`` when it has an energy and forces,
``unlabelled`` when it has neither, ``missing_output`` when it has one without the other
(kept with NaN for the missing part, never trained on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress

from mlmd.data.frame import STATUSES, Frame
from mlmd.errors import InputError

#: ``atoms.info`` keys that are the frame's own fields, not extra info.
MLMD_INFO = ("mlmd_status", "mlmd_source", "mlmd_weight")
_STRUCTURE_ARRAYS = ("numbers", "positions")
#: What a key that holds a label of each kind looks like (for :func:`label_like_leftovers`).
_LABEL_LIKE = {
    "energy": re.compile(r"energy", re.I),
    "forces": re.compile(r"force", re.I),
    "stress": re.compile(r"stress|virial", re.I),
}


@dataclass(frozen=True)
class LabelKeys:
    """Names of the labels in ``atoms.info`` / ``atoms.arrays`` / calculator results.

    Attributes:
        energy: total energy (eV). forces: per-atom forces [n, 3] (eV/Å).
        stress: stress (eV/Å³, ASE sign). virial: virial (eV), used when there is no stress.
    """

    energy: str = "energy"
    forces: str = "forces"
    stress: str = "stress"
    virial: str = "virial"


#: ASE's own names (the default everywhere).
ASE_KEYS = LabelKeys()


def _label_status(energy: float, forces: np.ndarray) -> str:
    has_e, has_f = bool(np.isfinite(energy)), bool(np.isfinite(forces).all())
    if has_e and has_f:
        return "ok"
    if not has_e and not np.isfinite(forces).any():
        return "unlabelled"
    return "missing_output"


def _take(name: str, *sources: dict[str, Any]) -> Any:
    """Pop ``name`` from the first source that has it (None if none has)."""
    for source in sources:
        if name in source:
            return source.pop(name)
    return None


def _as_3x3(value: Any, key: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape == (6,):
        return voigt_6_to_full_3x3_stress(arr)
    if arr.size == 9:
        return arr.reshape(3, 3)
    raise InputError(
        f"shape {arr.shape}: expected 3×3, 9 or 6 (Voigt) numbers", field=key, fix="fix it"
    )


def _stress(stress: Any, virial: Any, atoms: Atoms, keys: LabelKeys) -> np.ndarray:
    """The stress (eV/Å³) from a stress, else from a virial (−W/V); NaN when neither."""
    if stress is not None:
        out = _as_3x3(stress, keys.stress)
        if virial is not None:
            implied = -_as_3x3(virial, keys.virial) / atoms.get_volume()
            if not np.allclose(out, implied, rtol=1e-6, atol=1e-12):
                raise InputError(
                    f"'{keys.stress}' and '{keys.virial}' disagree (stress ≠ −virial/volume)",
                    field=keys.virial,
                    fix="drop one of them from the file",
                )
        return out
    if virial is not None:
        if not atoms.pbc.all() or atoms.cell.rank < 3:
            raise InputError("a virial needs a periodic cell", field=keys.virial)
        return -_as_3x3(virial, keys.virial) / atoms.get_volume()
    return np.full((3, 3), np.nan)


def _extras(atoms: Atoms, results: dict, info: dict, arrays: dict) -> tuple[dict, dict]:
    """(info, arrays) extras: what is left, plus non-label calculator results."""
    for name, value in results.items():  # free_energy, energies, magmoms, dipole, ...
        per_atom = isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == len(atoms)
        (arrays if per_atom else info).setdefault(name, value)
    for key in MLMD_INFO:
        info.pop(key, None)
    return info, arrays


def frame_from_atoms(
    atoms: Atoms,
    *,
    status: str | None = None,
    source: str | None = None,
    keys: LabelKeys = ASE_KEYS,
) -> Frame:
    """A :class:`Frame` from ASE ``Atoms``, its stored calculator results, info and arrays.

    Only stored results are read (``atoms.calc.results``); nothing is computed. ``status``
    overrides both ``atoms.info["mlmd_status"]`` and the rule in the module docstring.

    Raises:
        InputError: a label of the wrong shape or type, an unknown status (the field named).
    """
    n = len(atoms)
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    info = dict(atoms.info)
    arrays = {k: v for k, v in atoms.arrays.items() if k not in _STRUCTURE_ARRAYS}
    energy = _take(keys.energy, results, info)
    forces = _take(keys.forces, results, arrays)
    stress = _stress(
        _take(keys.stress, results, info), _take(keys.virial, results, info), atoms, keys
    )
    energy = np.nan if energy is None else _number(energy, keys.energy)
    forces = np.full((n, 3), np.nan) if forces is None else _forces(forces, n, keys.forces)
    if status is None:
        status = str(info["mlmd_status"]) if "mlmd_status" in info else None
    status = _label_status(energy, forces) if status is None else status
    if status not in STATUSES:
        raise InputError(
            f"unknown status {status!r}", field="mlmd_status", fix=f"use one of {STATUSES}"
        )
    if source is None:
        raw = info.get("mlmd_source", "")
        source = ("T" if raw else "F") if isinstance(raw, (bool, np.bool_)) else str(raw)
    weight = _number(info.get("mlmd_weight", 1.0), "mlmd_weight")
    extra_info, extra_arrays = _extras(atoms, results, info, arrays)
    return Frame(
        numbers=atoms.numbers,
        positions=atoms.positions,
        cell=atoms.cell[:],
        pbc=atoms.pbc,
        energy=energy,
        forces=forces,
        stress=stress,
        status=status,
        source=source,
        weight=weight,
        info=extra_info,
        arrays=extra_arrays,
    )


def _number(value: Any, key: str) -> float:
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a number", field=key, fix="fix that value") from None


def _forces(value: Any, n: int, key: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64).reshape(n, 3)
    except (TypeError, ValueError):
        shape = np.shape(value)
        raise InputError(f"shape {shape}, expected ({n}, 3)", field=key, fix="fix it") from None


def label_like_leftovers(frame: Frame) -> dict[str, str]:
    """``{extra key: label kind}`` for info/array keys that look like a label the frame
    does not have (e.g. ``REF_energy`` when the energy was looked up as ``energy``)."""
    missing = {
        "energy": not np.isfinite(frame.energy),
        "forces": not np.isfinite(frame.forces).all(),
        "stress": not frame.has_stress,
    }
    found = {}
    for key in [*frame.info, *frame.arrays]:
        for kind, pattern in _LABEL_LIKE.items():
            if missing[kind] and pattern.search(key):
                found[key] = kind
    return found


def frame_to_atoms(frame: Frame) -> Atoms:
    """ASE ``Atoms`` with a ``SinglePointCalculator`` holding the frame's finite labels, and
    the frame's info and extra arrays."""
    atoms = Atoms(numbers=frame.numbers, positions=frame.positions, cell=frame.cell, pbc=frame.pbc)
    for name, values in frame.arrays.items():
        atoms.new_array(name, np.array(values))
    results: dict[str, object] = {}
    if np.isfinite(frame.energy):
        results["energy"] = frame.energy
    if np.isfinite(frame.forces).all():
        results["forces"] = frame.forces.copy()
    if frame.has_stress:
        results["stress"] = full_3x3_to_voigt_6_stress(frame.stress)
    if results:
        atoms.calc = SinglePointCalculator(atoms, **results)
    atoms.info.update(frame.info)
    atoms.info.update(mlmd_status=frame.status, mlmd_source=frame.source, mlmd_weight=frame.weight)
    return atoms
