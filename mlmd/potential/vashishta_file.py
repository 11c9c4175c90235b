"""Parameters of ``pair_style vashishta``: the NKV 1994 SiO2 set and LAMMPS file parsing.

A LAMMPS vashishta file is a sequence of entries: three element names and 14 numbers
(:data:`PARAMETER_NAMES`). :func:`parse_lammps_vashishta` reads one; :func:`check_entries`
validates a set of entries for given elements. Every problem is an :class:`InputError`
naming the file, the entry or line, and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ase.data import atomic_numbers

from mlmd.errors import InputError

#: Column names of one entry after the three element names (LAMMPS order and units:
#: H eV·Å^η, η, Zi e, Zj e, λ1 Å, D eV·Å⁴, λ4 Å, W eV·Å⁶, rc Å, B eV, γ Å, r0 Å, C, cosθ0).
PARAMETER_NAMES: tuple[str, ...] = (
    "H", "eta", "Zi", "Zj", "lambda1", "D", "lambda4",
    "W", "rc", "B", "gamma", "r0", "C", "costheta0",
)  # fmt: skip

_PAIR_KEYS = ("H", "eta", "ZiZj", "lambda1", "D", "lambda4", "W", "rc")
_NONNEGATIVE = ("H", "eta", "lambda1", "D", "lambda4", "W", "rc", "B", "gamma", "r0", "C")

#: Nakano, Kalia & Vashishta, J. Non-Cryst. Solids 171, 157 (1994): the entries of LAMMPS's
#: ``SiO.1994.vashishta`` (2015-10-14), in :data:`PARAMETER_NAMES` order.
NKV1994: dict[tuple[str, str, str], tuple[float, ...]] = {
    ("Si", "Si", "Si"): (0.80603, 11, 1.76, 1.76, 4.43, 0.0, 2.5,
                         0.0, 5.5, 0.0, 0.0, 0.0, 0.0, 0.0),
    ("O", "O", "O"): (730.17, 7, -0.88, -0.88, 4.43, 26.7447, 2.5,
                      0.0, 5.5, 0.0, 0.0, 0.0, 0.0, 0.0),
    ("O", "Si", "Si"): (160.849, 9, -0.88, 1.76, 4.43, 53.4894, 2.5,
                        0.0, 5.5, 19.972, 1.0, 2.60, 0.0, -0.77714596),
    ("Si", "O", "O"): (160.849, 9, 1.76, -0.88, 4.43, 53.4894, 2.5,
                       0.0, 5.5, 4.993, 1.0, 2.60, 0.0, -0.333333333333),
    ("Si", "O", "Si"): (0.0,) * 14,
    ("Si", "Si", "O"): (0.0,) * 14,
    ("O", "Si", "O"): (0.0,) * 14,
    ("O", "O", "Si"): (0.0,) * 14,
}  # fmt: skip


def check_entries(
    entries: Mapping[tuple[str, str, str], Sequence[float]], elements: list[str], source: str
) -> None:
    """Every ordered triple of ``elements`` present, 14 finite numbers each (non-negative
    where physics needs it), and the same two-body terms for ``a b b`` and ``b a a``."""
    for key, values in entries.items():
        if len(values) != len(PARAMETER_NAMES):
            raise InputError(
                f"entry {' '.join(key)} has {len(values)} parameters, expected "
                f"{len(PARAMETER_NAMES)} ({' '.join(PARAMETER_NAMES)})",
                file=source,
                field=" ".join(key),
                fix="give all 14 parameters",
            )
        for name, value in zip(PARAMETER_NAMES, values, strict=True):
            if not math.isfinite(float(value)) or (name in _NONNEGATIVE and float(value) < 0):
                raise InputError(
                    f"parameter {name} = {value} must be finite"
                    + (" and non-negative" if name in _NONNEGATIVE else ""),
                    file=source,
                    field=" ".join(key),
                    fix="correct the value",
                )
    missing = [
        " ".join((a, b, c))
        for a in elements
        for b in elements
        for c in elements
        if (a, b, c) not in entries
    ]
    if missing:
        raise InputError(
            f"missing entries for element triples {missing}",
            file=source,
            fix="give one entry for every ordered triple of the elements",
        )
    for a in elements:
        for b in elements:
            pa = dict(zip(PARAMETER_NAMES, map(float, entries[(a, b, b)]), strict=True))
            pb = dict(zip(PARAMETER_NAMES, map(float, entries[(b, a, a)]), strict=True))
            pa["ZiZj"], pb["ZiZj"] = pa["Zi"] * pa["Zj"], pb["Zi"] * pb["Zj"]
            differ = [k for k in _PAIR_KEYS if not math.isclose(pa[k], pb[k], rel_tol=1e-12)]
            if differ:
                raise InputError(
                    f"two-body parameters {differ} of {a} {b} {b} and {b} {a} {a} differ: the "
                    "pair energy would depend on which atom is the centre (LAMMPS then "
                    "depends on atom ids)",
                    file=source,
                    field=f"{a} {b} {b}",
                    fix="give both entries the same H, eta, Zi*Zj, lambda1, D, lambda4, W, rc",
                )


def parse_lammps_vashishta(text: str, source: str = "<string>") -> dict[tuple[str, ...], tuple]:
    """Entries ``{(el_i, el_j, el_k): 14 floats}`` of a LAMMPS vashishta file's text.

    Raises:
        InputError: naming ``source`` and the line: unknown element symbol, a value that is
            not a number, an entry cut short by the end of the file, or a duplicate entry.
    """
    tokens: list[tuple[str, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens.extend((word, number) for word in line.split("#", 1)[0].split())
    width = 3 + len(PARAMETER_NAMES)
    entries: dict[tuple[str, ...], tuple] = {}
    for start in range(0, len(tokens), width):
        chunk = tokens[start : start + width]
        line = chunk[0][1]
        if len(chunk) < width:
            raise InputError(
                f"entry starting at line {line} has {len(chunk)} words, expected {width} "
                "(3 element names and 14 numbers)",
                file=source,
                field=f"line {line}",
                fix="complete the entry or delete it",
            )
        for word, number in chunk[:3]:
            if word not in atomic_numbers or word == "X":
                raise InputError(
                    f"{word!r} is not a chemical element symbol",
                    file=source,
                    field=f"line {number}",
                    fix="entries start with three element symbols, e.g. 'Si O O'",
                )
        values = []
        for (word, number), name in zip(chunk[3:], PARAMETER_NAMES, strict=True):
            try:
                values.append(float(word))
            except ValueError:
                raise InputError(
                    f"parameter {name} = {word!r} is not a number",
                    file=source,
                    field=f"line {number}",
                    fix="each entry is 3 element names followed by 14 numbers",
                ) from None
        key = tuple(word for word, _ in chunk[:3])
        if key in entries:
            raise InputError(
                f"duplicate entry {' '.join(key)}",
                file=source,
                field=f"line {line}",
                fix="keep one entry per element triple",
            )
        entries[key] = tuple(values)
    if not entries:
        raise InputError(
            "no entries found", file=source, fix="give a LAMMPS pair_style vashishta file"
        )
    return entries
