"""Read and check a material file: :func:`load_material`, and its reference: :func:`make_reference`.

Checks that need the whole file run here, each error naming the file, the dotted key and
the fix (:class:`~mlmd.errors.ConfigError`, exit 2 from the CLI): elements are chemical
symbols, the composition is a formula, pairs name elements of the composition, crystals
exist, hold only those elements and respect the minimum distances, recipes name known
crystals and random cells of whole formula units, and every reference name is a registered
backend. The backend's own settings are validated only by :func:`make_reference`, so a
material file parses on a machine without that backend's program.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from mlmd.config import from_mapping, load_toml
from mlmd.data.build import element_number, pair_symbols
from mlmd.errors import ConfigError, InputError
from mlmd.materials.schema import Material
from mlmd.reference.protocol import Reference

#: A formula unit larger than this makes random cells of whole units impractically big.
MAX_FORMULA_ATOMS = 500


@contextlib.contextmanager
def in_file(path: str, prefix: str = "") -> Iterator[None]:
    """Re-raise an InputError of the block as a ConfigError naming ``path`` (and the field
    under ``prefix``) when it names no file itself."""
    try:
        yield
    except InputError as exc:
        if exc.file is not None:
            raise
        field = ".".join(p for p in (prefix, exc.field) if p) or None
        raise ConfigError(exc.message, file=path, field=field, fix=exc.fix) from None


def load_material(path: str | Path) -> Material:
    """Parse and check the material file ``path`` (see :mod:`mlmd.materials`).

    Raises:
        ConfigError: unknown or missing keys, wrong types, and every check of the module
            docstring, naming the file, the key and the fix.
    """
    source = str(path)
    material = from_mapping(Material, load_toml(path), source=source)
    set_ = object.__setattr__
    set_(material, "path", source)
    set_(material, "formula", _formula(material.composition, source))
    set_(material, "elements", tuple(material.formula))
    set_(material, "species", tuple(sorted(element_number(s, "") for s in material.elements)))
    _check_pairs(material, "min_distance.pairs_A", material.min_distance.pairs_A, minimum=0.0)
    _check_pairs(material, "analysis.bond_cutoffs_A", material.analysis.bond_cutoffs_A)
    _check_ring_bond(material)
    _check_crystals(material)
    _check_start(material)
    _check_references(material)
    return material


def _formula(composition: dict[str, float], source: str) -> dict[str, int]:
    """Element → atoms per formula unit, smallest integers, from counts or fractions."""
    fix = "give atoms per formula unit (Si = 1, O = 2) or fractions summing to 1"
    if not composition:
        raise ConfigError("no elements", file=source, field="composition", fix=fix)
    for symbol, value in composition.items():
        with in_file(source):
            element_number(symbol, f"composition.{symbol}")
        if not value > 0:
            raise ConfigError(f"{value} must be > 0", file=source, field=f"composition.{symbol}")
    values = list(composition.values())
    if all(abs(v - round(v)) < 1e-9 for v in values):
        counts = [round(v) for v in values]
    else:
        total = sum(values)
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(
                f"not whole atom counts, and as fractions they sum to {total:g}, not 1",
                file=source,
                field="composition",
                fix=fix,
            )
        fractions = [Fraction(v).limit_denominator(1000) for v in values]
        if any(abs(float(f) - v) > 1e-6 for f, v in zip(fractions, values, strict=True)):
            raise ConfigError(
                "fractions are not ratios of small integers",
                file=source,
                field="composition",
                fix=fix,
            )
        lcm = math.lcm(*(f.denominator for f in fractions))
        counts = [int(f * lcm) for f in fractions]
    gcd = math.gcd(*counts)
    formula = {s: c // gcd for s, c in zip(composition, counts, strict=True)}
    if sum(formula.values()) > MAX_FORMULA_ATOMS:
        raise ConfigError(
            f"the formula unit has {sum(formula.values())} atoms (> {MAX_FORMULA_ATOMS})",
            file=source,
            field="composition",
            fix="round the composition (random cells hold whole formula units)",
        )
    return formula


def pair_key(material: Material, key: str, field: str) -> str:
    """``key`` ("O-Si", "SiO", ...) as "A-B" in the material's element order."""
    with in_file(material.path):
        a, b = pair_symbols(key, field)
    for s in (a, b):
        if s not in material.elements:
            raise ConfigError(
                f"{s} is not in the composition ({', '.join(material.elements)})",
                file=material.path,
                field=field,
                fix="fix the pair or the composition",
            )
    a, b = sorted((a, b), key=material.elements.index)
    return f"{a}-{b}"


def _check_pairs(
    material: Material, table: str, pairs: dict[str, float], minimum: float | None = None
) -> None:
    seen: dict[str, str] = {}
    for key, value in pairs.items():
        field = f"{table}.{key}"
        norm = pair_key(material, key, field)
        if norm in seen:
            raise ConfigError(
                f"the same pair as {seen[norm]!r}", file=material.path, field=field, fix="keep one"
            )
        seen[norm] = key
        if not (value >= minimum if minimum is not None else value > 0):
            bound = f"≥ {minimum}" if minimum is not None else "> 0"
            raise ConfigError(f"{value} must be {bound} Å", file=material.path, field=field)


def _check_ring_bond(material: Material) -> None:
    ring = material.analysis.ring_bond
    if ring is None:
        return
    bonds = {pair_key(material, k, "") for k in material.analysis.bond_cutoffs_A}
    if pair_key(material, ring, "analysis.ring_bond") not in bonds:
        raise ConfigError(
            f"no bond cutoff for the ring bond {ring!r}",
            file=material.path,
            field="analysis.bond_cutoffs_A",
            fix=f"add {ring!r} = CUTOFF_A",
        )


def _check_crystals(material: Material) -> None:
    from ase.neighborlist import neighbor_list

    from mlmd.data import frame_to_atoms
    from mlmd.materials.structures import crystal_structure, min_distances_A

    table = min_distances_A(material)
    for name in material.crystals:
        field = f"crystals.{name}"
        frame = crystal_structure(material, name, repeat=(1, 1, 1))
        foreign = sorted({int(z) for z in frame.numbers} - set(material.species))
        if foreign:
            raise ConfigError(
                f"holds elements {foreign} (atomic numbers) outside the composition",
                file=material.path,
                field=field,
                fix="fix the crystal or the composition",
            )
        i, j, d = neighbor_list("ijd", frame_to_atoms(frame), max(table.values()))
        for pair, dmin in table.items():
            za, zb = (element_number(s, "") for s in pair.split("-"))
            sel = ((frame.numbers[i] == za) & (frame.numbers[j] == zb)) | (
                (frame.numbers[i] == zb) & (frame.numbers[j] == za)
            )
            if sel.any() and d[sel].min() < dmin - 1e-6:
                raise ConfigError(
                    f"{pair} atoms {d[sel].min():.3f} Å apart, closer than the minimum distance "
                    f"{dmin:.3f} Å: a wrong recipe or cell?",
                    file=material.path,
                    field=field,
                    fix=f"check the crystal, or lower min_distance.pairs_A.{pair}",
                )


def _check_start(material: Material) -> None:
    for name, recipe in material.start.items():
        for k, src in enumerate(recipe.sources):
            field = f"start.{name}.sources[{k}]"
            if src.crystal is not None and src.crystal not in material.crystals:
                raise ConfigError(
                    f"unknown crystal {src.crystal!r}",
                    file=material.path,
                    field=f"{field}.crystal",
                    fix=f"use one of {', '.join(sorted(material.crystals)) or '(no [crystals])'}",
                )
            unit = material.atoms_per_formula
            if src.random_atoms is not None and src.random_atoms % unit:
                raise ConfigError(
                    f"{src.random_atoms} atoms is not a whole number of formula units ({unit})",
                    file=material.path,
                    field=f"{field}.random_atoms",
                    fix=f"use a multiple of {unit}",
                )


def _check_references(material: Material) -> None:
    from mlmd.reference.registry import available

    if material.reference not in material.references:
        raise ConfigError(
            f"{material.reference!r} is not a table of [references]",
            file=material.path,
            field="reference",
            fix=f"use one of {', '.join(sorted(material.references)) or '(add [references.NAME])'}",
        )
    for label, spec in material.references.items():
        if spec.name not in available():
            raise ConfigError(
                f"unknown reference backend {spec.name!r}",
                file=material.path,
                field=f"references.{label}.name",
                fix=f"choose one of {', '.join(available())}",
            )


def make_reference(
    material: Material, label: str | None = None, *, ranks: int | None = None
) -> Reference:
    """The reference ``label`` of ``material`` (default: its ``reference``), built through
    ``get_reference(name, config=settings, ranks=ranks)``; its errors come back naming the
    material file and ``references.LABEL.settings``. A backend that tells its ``species``
    (atomic numbers) must cover the material's elements."""
    from mlmd.reference.registry import get_reference

    label = material.reference if label is None else label
    if label not in material.references:
        raise ConfigError(
            f"no reference {label!r}",
            file=material.path,
            field="references",
            fix=f"use one of {', '.join(sorted(material.references))}",
        )
    spec = material.references[label]
    with in_file(material.path, f"references.{label}.settings"):
        try:
            reference = get_reference(spec.name, config=dict(spec.settings), ranks=ranks)
        except InputError as exc:
            if exc.file and exc.file.startswith("<"):  # "<cp2k config>": the mapping we gave
                raise InputError(exc.message, field=exc.field, fix=exc.fix) from None
            raise
    species = getattr(reference, "species", None)  # backends that know their elements
    missing = sorted(set(material.species) - {int(z) for z in species or material.species})
    if missing:
        raise ConfigError(
            f"the {spec.name} reference knows only atomic numbers {sorted(species)}, not {missing}",
            file=material.path,
            field=f"references.{label}",
            fix="give it settings for every element of the composition",
        )
    return reference
