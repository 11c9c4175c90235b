"""H5MD ``unit`` attributes → factors to mlmd's internal units (Å, fs, Å/fs, eV/Å; GPa for
pressures, the unit of mlmd's pressure observables).

H5MD's units module writes units as strings such as ``"nm"``, ``"ps"``, ``"nm ps-1"`` or
``"kJ mol-1 nm-1"``; mlmd's writer (:mod:`mlmd.md.h5md`) uses that syntax too:
``"Angstrom"``, ``"fs"``, ``"Angstrom fs-1"``, forces in ``"kJ mol-1 Angstrom-1"`` (what
MDAnalysis reads). ``"LENGTH/TIME"`` is also understood. A missing attribute means internal
units. An unknown unit is an :class:`~mlmd.errors.InputError` naming the dataset.
"""

from __future__ import annotations

from ase import units as ase_units

from mlmd.errors import InputError

#: Length units → Å.
LENGTH = {
    "a": 1.0,
    "å": 1.0,
    "angstrom": 1.0,
    "ang": 1.0,
    "nm": 10.0,
    "pm": 0.01,
    "bohr": 0.52917721090380,
}
#: Time units → fs.
TIME = {"fs": 1.0, "ps": 1.0e3, "ns": 1.0e6}
#: Force units → eV/Å.
FORCE = {
    "ev angstrom-1": 1.0,
    "ev a-1": 1.0,
    "ev/angstrom": 1.0,
    "kj mol-1 angstrom-1": float(ase_units.kJ / ase_units.mol),
    "kj mol-1 a-1": float(ase_units.kJ / ase_units.mol),
    "kj mol-1 nm-1": float(ase_units.kJ / ase_units.mol) / 10.0,
    "kcal mol-1 angstrom-1": float(ase_units.kcal / ase_units.mol),
}

#: Pressure units → GPa.
PRESSURE = {
    "gpa": 1.0,
    "mpa": 1e-3,
    "kpa": 1e-6,
    "pa": 1e-9,
    "bar": 1e-4,
    "kbar": 0.1,
    "atm": 1.01325e-4,
}


def _text(unit: object) -> str | None:
    if unit is None:
        return None
    if isinstance(unit, bytes):
        unit = unit.decode()
    text = str(unit).strip()
    return text or None


def _lookup(table: dict[str, float], unit: str, file: str, field: str, what: str) -> float:
    key = unit.lower()
    if key not in table:
        raise InputError(
            f"unknown {what} unit '{unit}'",
            file=file,
            field=f"{field} (attribute unit)",
            fix=f"use one of {', '.join(sorted(table))}",
        )
    return table[key]


def length_factor(unit: object, file: str, field: str) -> float:
    """Factor converting lengths stored in ``unit`` to Å."""
    text = _text(unit)
    return 1.0 if text is None else _lookup(LENGTH, text, file, field, "length")


def time_factor(unit: object, file: str, field: str) -> float:
    """Factor converting times stored in ``unit`` to fs."""
    text = _text(unit)
    return 1.0 if text is None else _lookup(TIME, text, file, field, "time")


def velocity_factor(unit: object, file: str, field: str) -> float:
    """Factor converting velocities (``"nm ps-1"``, ``"Angstrom/fs"``, ...) to Å/fs."""
    text = _text(unit)
    if text is None:
        return 1.0
    if "/" in text:
        length, time = (p.strip() for p in text.split("/", 1))
    else:
        parts = text.split()
        if len(parts) != 2 or not parts[1].endswith("-1"):
            raise InputError(
                f"unknown velocity unit '{text}'",
                file=file,
                field=f"{field} (attribute unit)",
                fix="write it as 'LENGTH TIME-1' (e.g. 'nm ps-1') or 'LENGTH/TIME'",
            )
        length, time = parts[0], parts[1][:-2]
    return _lookup(LENGTH, length, file, field, "length") / _lookup(TIME, time, file, field, "time")


def force_factor(unit: object, file: str, field: str) -> float:
    """Factor converting forces stored in ``unit`` (``"kJ mol-1 Angstrom-1"``, ...) to eV/Å."""
    text = _text(unit)
    return 1.0 if text is None else _lookup(FORCE, " ".join(text.split()), file, field, "force")


def pressure_factor(unit: object, file: str, field: str) -> float:
    """Factor converting pressures stored in ``unit`` (``"GPa"``, ``"bar"``, ...) to GPa."""
    text = _text(unit)
    return 1.0 if text is None else _lookup(PRESSURE, text, file, field, "pressure")
