"""The species of an analysed trajectory, and strict parsing of the species names users give.

:class:`Species` fixes one order of the trajectory's species (heaviest element first,
anonymous ``type<k>`` kinds last) and each atom's index into it (``kind``). Pair keys such as
``--cutoff Si-O=2.3`` or ``ring_bond = "Si-O"`` are parsed by :func:`parse_pair`: exactly
``A-B`` with A and B species of the trajectory, else an :class:`~mlmd.errors.InputError` that
names the option and lists the species (a key like ``SiO`` or ``Si-Xx`` is never ignored).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from mlmd.analysis.trajectory import species_labels
from mlmd.errors import InputError


def species_order(numbers: np.ndarray) -> np.ndarray:
    """Distinct species, heaviest first (Si before O), anonymous types after elements."""
    kinds = np.unique(numbers)
    return np.array(sorted(kinds, key=lambda z: (z <= 0, -abs(z) if z > 0 else -z)))


@dataclasses.dataclass(frozen=True)
class Species:
    """``labels`` [S] species names in analysis order, ``kind`` [N] each atom's index into
    them, ``counts`` {label: atoms}."""

    labels: list[str]
    kind: np.ndarray
    counts: dict[str, int]

    @classmethod
    def of(cls, numbers: np.ndarray) -> Species:
        order = species_order(np.asarray(numbers))
        labels = species_labels(order)
        lookup = {int(z): k for k, z in enumerate(order)}
        kind = np.array([lookup[int(z)] for z in numbers], dtype=np.int64)
        counts = {label: int((kind == k).sum()) for k, label in enumerate(labels)}
        return cls(labels, kind, counts)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """Every unordered pair (a, b), a before b in the species order, a = b included."""
        return [(a, b) for k, a in enumerate(self.labels) for b in self.labels[k:]]


def parse_pair(key: str, labels: list[str], option: str) -> tuple[str, str]:
    """``"A-B"`` → (A, B), both species of the trajectory; else an InputError naming
    ``option``."""
    a, sep, b = str(key).partition("-")
    a, b = a.strip(), b.strip()
    known = ", ".join(labels)
    if not sep or not a or not b or "-" in b:
        raise InputError(
            f"'{key}' is not a species pair A-B",
            field=option,
            fix=f"write it as A-B with species of the trajectory ({known}), e.g. "
            f"{labels[0]}-{labels[-1]}",
        )
    for name in (a, b):
        if name not in labels:
            raise InputError(
                f"'{name}' (in '{key}') is not a species of the trajectory",
                field=option,
                fix=f"use its species: {known}",
            )
    return a, b


def pair_values(
    values: Mapping[str, float], labels: list[str], option: str
) -> dict[tuple[str, str], float]:
    """{"A-B": x} → {(A, B): x, (B, A): x}, strictly (see :func:`parse_pair`); A-B and B-A
    given with different values is an error; values must be positive and finite."""
    out: dict[tuple[str, str], float] = {}
    for key, value in values.items():
        a, b = parse_pair(key, labels, option)
        value = float(value)
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{key} = {value} must be a positive length", field=option)
        for pair in ((a, b), (b, a)):
            if pair in out and out[pair] != value:
                raise InputError(
                    f"{a}-{b} is given twice with different values",
                    field=option,
                    fix="give it once",
                )
            out[pair] = value
    return out


def split_species(text: str, labels: list[str]) -> list[str] | None:
    """Split a run of species names (``"SiOSi"``, ``"sio"``) into labels of the trajectory:
    the unique way to read it exactly, else case-insensitively; None when there is none or
    more than one."""
    for fold in (False, True):
        found = _splits(text.lower() if fold else text, labels, fold)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None
    return None


def _splits(text: str, labels: list[str], fold: bool) -> list[list[str]]:
    if not text:
        return [[]]
    out = []
    for label in labels:
        name = label.lower() if fold else label
        if text.startswith(name):
            out += [[label, *rest] for rest in _splits(text[len(name) :], labels, fold)]
    return out
