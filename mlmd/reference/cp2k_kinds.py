"""Basis set and GTH pseudopotential per element from CP2K's own data files.

CP2K's ``BASIS_MOLOPT`` and ``GTH_POTENTIALS`` list, per element, entry headers such as
``Si DZVP-MOLOPT-SR-GTH DZVP-MOLOPT-SR-GTH-q4`` and ``Si GTH-PBE-q4 GTH-PBE``. For each
element of a dataset :func:`choose_kinds` picks

1. the basis: ``basis_sets[El]`` if given, else the settings' ``basis_set`` if the file has it
   for El, else the first of :data:`BASIS_FALLBACK` the file has for El (a ``basis_set`` the
   file lists for no element at all is a typo: an error, not a fallback);
2. the pseudopotential: ``potentials[El]`` if given, else the settings' ``pseudopotential``
   name if its entry has the valence N of the basis's ``-qN`` alias (``Si GTH-PBE-q4
   GTH-PBE``), else ``<pseudopotential>-qN`` (basis and potential must agree).

An element with no basis or no matching potential is a :class:`ReferenceSetupError` naming
the element, the file and the data directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ase.data import atomic_numbers

from mlmd.reference.protocol import ReferenceSetupError

#: Basis sets tried, in order, when the configured one is missing for an element.
BASIS_FALLBACK = ("DZVP-MOLOPT-SR-GTH", "DZVP-MOLOPT-GTH", "DZVP-GTH", "SZV-MOLOPT-SR-GTH")
_Q = re.compile(r"-q(\d+)$")


@dataclass(frozen=True)
class Kind:
    """The basis set and pseudopotential names CP2K gets for one element."""

    basis_set: str
    potential: str


@lru_cache(maxsize=16)
def entries(path: Path) -> dict[str, tuple[frozenset[str], ...]]:
    """Element → the name sets (a name and its aliases) of each entry in a CP2K basis or
    potential file."""
    found: dict[str, list[frozenset[str]]] = {}
    lines = [ln.split("#")[0].split() for ln in path.read_text(errors="replace").splitlines()]
    lines = [w for w in lines if w]
    for words, following in zip(lines, lines[1:], strict=False):
        if len(words) >= 2 and words[0] in atomic_numbers and not _is_number(words[1]):
            if _is_number(following[0]):  # a header is followed by its set count
                found.setdefault(words[0], []).append(frozenset(words[1:]))
    return {el: tuple(v) for el, v in found.items()}


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _valence(names: frozenset[str]) -> str | None:
    """The ``N`` of a ``-qN`` alias among ``names``, if any."""
    for name in names:
        match = _Q.search(name)
        if match:
            return match.group(1)
    return None


def _entry(element_entries: tuple[frozenset[str], ...], name: str) -> frozenset[str] | None:
    return next((e for e in element_entries if name in e), None)


def choose_kind(
    element: str,
    *,
    basis_set: str,
    pseudopotential: str,
    basis_file: Path,
    potential_file: Path,
    basis_override: str | None = None,
    potential_override: str | None = None,
) -> Kind:
    """The :class:`Kind` of ``element`` by the module's rule: the configured names where the
    files have them for ``element`` with matching valence, else the ``-qN`` or fallback
    entries (raises ReferenceSetupError naming element and file when there is none)."""
    table = entries(basis_file)
    bases = table.get(element, ())
    if not basis_override and not any(_entry(e, basis_set) for e in table.values()):
        raise ReferenceSetupError(
            f"basis set {basis_set} is in {basis_file} for no element",
            field="basis_set",
            fix="use a name the file lists (e.g. DZVP-MOLOPT-SR-GTH), or basis_set_file",
        )
    wanted = [basis_override] if basis_override else [basis_set, *BASIS_FALLBACK]
    basis = next((b for b in wanted if _entry(bases, b) is not None), None)
    if basis is None:
        raise ReferenceSetupError(
            f"no basis set {' or '.join(dict.fromkeys(wanted))} for {element} in {basis_file}",
            field=f"basis_sets.{element}",
            fix=f"set basis_sets.{element} to one the file lists for {element}, "
            "or basis_set_file / run.data_dir",
        )
    if potential_override:
        return Kind(basis, potential_override)
    potentials = entries(potential_file).get(element, ())
    q = _valence(_entry(bases, basis))
    plain = _entry(potentials, pseudopotential)
    if plain is not None and (q is None or f"{pseudopotential}-q{q}" in plain):
        return Kind(basis, pseudopotential)
    if q is not None and _entry(potentials, f"{pseudopotential}-q{q}") is not None:
        return Kind(basis, f"{pseudopotential}-q{q}")
    raise ReferenceSetupError(
        f"no pseudopotential {pseudopotential}{'-q' + q if q else ''} for {element} "
        f"in {potential_file}",
        field=f"potentials.{element}",
        fix=f"set potentials.{element} to one the file lists for {element}",
    )
