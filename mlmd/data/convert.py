"""Frames ↔ ASE ``Atoms`` and extxyz files.

Labels travel as ASE calculator results (a ``SinglePointCalculator``): ``energy`` (eV),
``forces`` [n,3] (eV/Å) and ``stress`` in ASE's Voigt order (xx, yy, zz, yz, xz, xy; eV/Å³,
ASE sign). A frame's status, source and weight travel in ``atoms.info`` as ``mlmd_status``,
``mlmd_source`` and ``mlmd_weight``.

Status of an imported structure without ``mlmd_status``: ``ok`` when it has an energy and
forces, ``unlabelled`` when it has neither, ``missing_output`` when it has one without the
other (kept with NaN for the missing part, never trained on). Importing an extxyz file
with an energy but no forces is an error unless ``require_forces=False``.

extxyz export writes every float with 17 significant digits (ASE's own writer keeps 8
decimals for per-atom columns), so ``read_extxyz(write_extxyz(frames))`` returns the same
float64 numbers bit for bit; the header line is built by ASE's own key=value writer and the
file is read back by ASE's reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io.extxyz import key_val_dict_to_str
from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress
from ase.symbols import chemical_symbols

from mlmd.data.frame import STATUSES, Frame
from mlmd.errors import InputError


def _label_status(energy: float, forces: np.ndarray) -> str:
    has_e, has_f = bool(np.isfinite(energy)), bool(np.isfinite(forces).all())
    if has_e and has_f:
        return "ok"
    if not has_e and not np.isfinite(forces).any():
        return "unlabelled"
    return "missing_output"


def frame_from_atoms(
    atoms: Atoms, *, status: str | None = None, source: str | None = None
) -> Frame:
    """A :class:`Frame` from ASE ``Atoms`` and the results of its attached calculator.

    Only stored results are read (``atoms.calc.results``); nothing is computed. ``status``
    overrides both ``atoms.info["mlmd_status"]`` and the rule in the module docstring.
    """
    n = len(atoms)
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    energy = float(results.get("energy", np.nan))
    forces = np.asarray(results.get("forces", np.full((n, 3), np.nan)), dtype=np.float64)
    stress = np.asarray(results.get("stress", np.full((3, 3), np.nan)), dtype=np.float64)
    if stress.shape == (6,):
        stress = voigt_6_to_full_3x3_stress(stress)
    info = atoms.info
    if status is None:
        status = str(info["mlmd_status"]) if "mlmd_status" in info else None
    if status is None:
        status = _label_status(energy, forces)
    if status not in STATUSES:
        raise InputError(
            f"unknown status {status!r}", field="mlmd_status", fix=f"use one of {STATUSES}"
        )
    if source is None:
        raw = info.get("mlmd_source", "")
        source = ("T" if raw else "F") if isinstance(raw, (bool, np.bool_)) else str(raw)
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
        weight=float(info.get("mlmd_weight", 1.0)),
    )


def frame_to_atoms(frame: Frame) -> Atoms:
    """ASE ``Atoms`` with a ``SinglePointCalculator`` holding the frame's finite labels."""
    atoms = Atoms(numbers=frame.numbers, positions=frame.positions, cell=frame.cell, pbc=frame.pbc)
    results: dict[str, object] = {}
    if np.isfinite(frame.energy):
        results["energy"] = frame.energy
    if np.isfinite(frame.forces).all():
        results["forces"] = frame.forces.copy()
    if frame.has_stress:
        results["stress"] = full_3x3_to_voigt_6_stress(frame.stress)
    if results:
        atoms.calc = SinglePointCalculator(atoms, **results)
    atoms.info.update(mlmd_status=frame.status, mlmd_source=frame.source, mlmd_weight=frame.weight)
    return atoms


def read_extxyz(
    path: str | os.PathLike[str], *, require_forces: bool = True, source: str | None = None
) -> list[Frame]:
    """Read every structure of an extxyz file as frames (see the module docstring).

    Args:
        path: the file.
        require_forces: structures with an energy must have forces (else InputError).
        source: source label of the frames (default ``"<file name>:<index>"``; a frame's
            ``mlmd_source`` in the file wins).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=str(path), fix="check the path")
    try:
        images = ase.io.read(path, index=":", format="extxyz")
    except Exception as exc:  # ASE raises many types on malformed text
        raise InputError(
            f"not a readable extxyz file ({type(exc).__name__}: {exc})",
            file=str(path),
            fix="export it as extended XYZ (e.g. ase.io.write(..., format='extxyz'))",
        ) from None
    if not images:
        raise InputError("no structures in the file", file=str(path), fix="check the file")
    frames = []
    for i, atoms in enumerate(images):
        default = f"{path.name}:{i}" if source is None else source
        frame = frame_from_atoms(atoms, source=None if "mlmd_source" in atoms.info else default)
        where = f"structure {i}"
        if not np.isfinite(frame.positions).all():
            raise InputError(
                "non-finite (NaN/inf) positions",
                file=str(path),
                field=f"{where}: positions",
                fix="drop or repair that structure",
            )
        has_f = bool(np.isfinite(frame.forces).all())
        if (frame.status == "ok" and not has_f) or (
            require_forces and np.isfinite(frame.energy) and not has_f
        ):
            raise InputError(
                "energy present but forces missing",
                file=str(path),
                field=f"{where}: forces",
                fix="add a forces column, or import with --allow-missing-forces (kept as NaN "
                "with status 'missing_output', never trained on)",
            )
        frames.append(frame)
    return frames


def _fmt(x: float) -> str:
    return repr(float(x))


def write_extxyz(frames: Iterable[Frame], path: str | os.PathLike[str]) -> int:
    """Write frames to an extxyz file atomically (full float64 precision); returns the count."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    count = 0
    try:
        with open(tmp, "w") as fh:
            for frame in frames:
                fh.write(_frame_text(frame))
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _frame_text(frame: Frame) -> str:
    with_forces = bool(np.isfinite(frame.forces).any())
    props = "species:S:1:pos:R:3" + (":forces:R:3" if with_forces else "")
    head = ""
    if frame.cell.any():
        head = 'Lattice="' + " ".join(_fmt(x) for x in frame.cell.reshape(9)) + '" '
    info: dict[str, object] = {}
    if np.isfinite(frame.energy):
        info["energy"] = float(frame.energy)
    if frame.has_stress:
        info["stress"] = frame.stress.copy()
    source = frame.source.replace("\n", " ").replace('"', "'")
    info["mlmd_status"] = frame.status
    if source:  # ASE's key=value writer cannot write an empty value
        info["mlmd_source"] = source
    info["mlmd_weight"] = float(frame.weight)
    info["pbc"] = frame.pbc
    lines = [str(frame.n_atoms), f"{head}Properties={props} {key_val_dict_to_str(info)}"]
    cols = np.hstack([frame.positions, frame.forces]) if with_forces else frame.positions
    for z, row in zip(frame.numbers, cols, strict=True):
        lines.append(chemical_symbols[int(z)] + " " + " ".join(_fmt(x) for x in row))
    return "\n".join(lines) + "\n"
