"""extxyz files ↔ frames, through ASE's reader and ASE's key=value writer.

Reading takes the labels where :class:`~mlmd.data.convert.LabelKeys` says they are (ASE's
names by default; ``REF_energy``/``REF_forces``/``REF_stress`` for MACE-style files, a
``virial`` for GAP-style ones) and keeps every other info key and per-atom array with the
frame. Keys that look like a label but were not taken as one are reported (a warning naming
the key and the option to use), never dropped silently.

Writing puts the labels under the same kind of keys (default: ASE's), the frame's info and
extra arrays next to them, and every float with 17 significant digits (ASE's own writer
keeps 8 decimals for per-atom columns), so ``read_extxyz(write_extxyz(frames))`` returns the
same float64 numbers bit for bit. Importing a structure with an energy but no forces is an
error unless ``require_forces=False``.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from ase.io.extxyz import key_val_dict_to_str
from ase.symbols import chemical_symbols

from mlmd.atomic import atomic_output
from mlmd.data.ase_io import ase_read
from mlmd.data.convert import ASE_KEYS, MLMD_INFO, LabelKeys, frame_from_atoms, label_like_leftovers
from mlmd.data.frame import Frame
from mlmd.errors import InputError

log = logging.getLogger(__name__)

_OPTION = {
    "energy": "--energy-key",
    "forces": "--forces-key",
    "stress": "--stress-key/--virial-key",
}
_TYPE = {"f": "R", "i": "I", "u": "I", "b": "L", "U": "S", "S": "S"}


def read_images(path: str | os.PathLike[str], *, field: str | None = None) -> list:
    """Every structure of the extxyz file ``path`` as ASE ``Atoms``, read serially
    (:func:`mlmd.data.ase_io.ase_read`: never an MPI collective, even under mpiexec with
    mpi4py loaded, where ``ase.io.read`` on one rank waits for the others forever). A missing
    file or one that is not extxyz is an InputError naming the file (and ``field``, the
    config key that named it, if given)."""
    if not Path(path).is_file():
        raise InputError("extxyz file not found", file=str(path), field=field,
                         fix="check the path")  # fmt: skip
    try:
        return ase_read(path, index=":", format="extxyz")
    except Exception as exc:  # ASE raises many types on malformed text
        raise InputError(
            f"not a readable extxyz file ({type(exc).__name__}: {exc})",
            file=str(path),
            field=field,
            fix="export it as extended XYZ (e.g. ase.io.write(..., format='extxyz'))",
        ) from None


def read_extxyz(
    path: str | os.PathLike[str],
    *,
    require_forces: bool = True,
    source: str | None = None,
    keys: LabelKeys = ASE_KEYS,
) -> list[Frame]:
    """Read every structure of an extxyz file as frames (see the module docstring).

    Args:
        path: the file.
        require_forces: structures with an energy must have forces (else InputError).
        source: source label of the frames (default ``"<file name>:<index>"``; a frame's
            ``mlmd_source`` in the file wins).
        keys: where the labels are.
    """
    path = Path(path)
    images = read_images(path)
    if not images:
        raise InputError("no structures in the file", file=str(path), fix="check the file")
    frames, leftovers = [], Counter()
    for i, atoms in enumerate(images):
        default = f"{path.name}:{i}" if source is None else source
        try:
            frame = frame_from_atoms(
                atoms, source=None if "mlmd_source" in atoms.info else default, keys=keys
            )
        except InputError as exc:
            raise InputError(
                exc.message, file=str(path), field=f"structure {i}: {exc.field}", fix=exc.fix
            ) from None
        _check_read(frame, path, i, require_forces)
        leftovers.update(label_like_leftovers(frame).items())
        frames.append(frame)
    for (key, kind), count in sorted(leftovers.items()):
        log.warning(
            "%s: %d structure(s) have no %s label but carry %r: kept as extra data, not as a "
            "label (to use it: %s %s)", path, count, kind, key, _OPTION[kind], key,
        )  # fmt: skip
    return frames


def _check_read(frame: Frame, path: Path, i: int, require_forces: bool) -> None:
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
            fix="add a forces column (or name it with --forces-key), or import with "
            "--allow-missing-forces (kept as NaN with status 'missing_output', never trained on)",
        )


def write_extxyz(
    frames: Iterable[Frame],
    path: str | os.PathLike[str],
    *,
    keys: LabelKeys = ASE_KEYS,
    virial: bool = False,
) -> int:
    """Write frames to an extxyz file atomically (full float64 precision); returns the count.

    Args:
        keys: the names to write the labels under.
        virial: write the stress as a virial (eV, −σ·V) under ``keys.virial``.
    """
    count = 0
    with atomic_output(path) as tmp, open(tmp, "w") as fh:
        for frame in frames:
            fh.write(_frame_text(frame, keys, virial))
            count += 1
        fh.flush()
    return count


def _fmt(x: float) -> str:
    return repr(float(x))


def _column(name: str, values: np.ndarray) -> tuple[str, list[list[str]]]:
    """(``name:T:ncols`` of the Properties string, the column's text per atom)."""
    kind = _TYPE.get(values.dtype.kind)
    if kind is None or values.ndim > 2:
        raise InputError(
            f"per-atom array of {values.dtype} with shape {values.shape} cannot go to extxyz",
            field=f"arrays.{name}",
        )
    rows = values.reshape(len(values), -1)
    if kind == "R":
        text = [[_fmt(x) for x in row] for row in rows]
    elif kind == "L":
        text = [["T" if x else "F" for x in row] for row in rows]
    else:
        text = [[str(x) for x in row] for row in rows]
    if kind == "S" and any(not t or any(c.isspace() for c in t) for row in text for t in row):
        raise InputError("strings with spaces cannot be an extxyz column", field=f"arrays.{name}")
    return f"{name}:{kind}:{rows.shape[1]}", text


def _info(frame: Frame, keys: LabelKeys, virial: bool) -> dict[str, object]:
    labels: dict[str, object] = {}
    if np.isfinite(frame.energy):
        labels[keys.energy] = float(frame.energy)
    if frame.has_stress:
        key = keys.virial if virial else keys.stress
        value = -frame.stress * frame.volume if virial else frame.stress.copy()
        # ASE reads 9 numbers under "stress"/"virial" as 3×3; other keys stay 9 numbers
        labels[key] = value if key in ("stress", "virial") else value.reshape(9)
    taken = {*labels, "Lattice", "Properties", "pbc", *MLMD_INFO}
    clash = sorted(taken & set(frame.info))
    if clash:
        raise InputError(
            f"frame {frame.key}: info key {clash[0]!r} is also a label or field name here",
            field=f"info.{clash[0]}",
            fix="export the labels under other names (--energy-key/--stress-key/--virial-key)",
        )
    source = frame.source.replace("\n", " ").replace('"', "'")
    info = {**labels, **frame.info, "mlmd_status": frame.status}
    if source:  # ASE's key=value writer cannot write an empty value
        info["mlmd_source"] = source
    info["mlmd_weight"] = float(frame.weight)
    info["pbc"] = frame.pbc
    return info


def _frame_text(frame: Frame, keys: LabelKeys, virial: bool) -> str:
    columns = [("species", [[chemical_symbols[int(z)]] for z in frame.numbers])]
    columns.append(("pos:R:3", [[_fmt(x) for x in row] for row in frame.positions]))
    if np.isfinite(frame.forces).any():
        columns.append((f"{keys.forces}:R:3", [[_fmt(x) for x in row] for row in frame.forces]))
    for name, values in frame.arrays.items():
        if name in (keys.forces, "species", "pos"):
            raise InputError(
                f"frame {frame.key}: per-atom array {name!r} is also a label or column name",
                field=f"arrays.{name}",
                fix="export the forces under another name (--forces-key)",
            )
        columns.append(_column(name, np.asarray(values)))
    props = ":".join(["species:S:1"] + [spec for spec, _ in columns[1:]])
    head = ""
    if frame.cell.any():
        head = 'Lattice="' + " ".join(_fmt(x) for x in frame.cell.reshape(9)) + '" '
    lines = [
        str(frame.n_atoms),
        f"{head}Properties={props} {key_val_dict_to_str(_info(frame, keys, virial))}",
    ]
    for a in range(frame.n_atoms):
        lines.append(" ".join(t for _, text in columns for t in text[a]))
    return "\n".join(lines) + "\n"
