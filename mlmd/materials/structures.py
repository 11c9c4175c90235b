"""Structures of a material: random cells and seed crystals, through :mod:`mlmd.data.build`."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase.data import covalent_radii

from mlmd.data import Frame
from mlmd.data.build import (
    bulk_crystal,
    element_number,
    random_cell,
    read_structure,
    repeat_frame,
    spacegroup_crystal,
)
from mlmd.errors import ConfigError, InputError
from mlmd.materials.load import in_file, pair_key
from mlmd.materials.schema import Material


def min_distances_A(material: Material) -> dict[str, float]:
    """Minimum distance (Å) of every pair "A-B" (element order of the file): the file's
    ``min_distance.pairs_A``, else factor × (covalent radius A + covalent radius B)."""
    given = {
        pair_key(material, k, f"min_distance.pairs_A.{k}"): v
        for k, v in material.min_distance.pairs_A.items()
    }
    out = {}
    for i, a in enumerate(material.elements):
        for b in material.elements[i:]:
            radii = covalent_radii[element_number(a, "")] + covalent_radii[element_number(b, "")]
            out[f"{a}-{b}"] = given.get(f"{a}-{b}", material.min_distance.factor * float(radii))
    return out


def formula_counts(material: Material, n_atoms: int, field: str = "atoms") -> dict[str, int]:
    """Atoms per element of an ``n_atoms`` cell of whole formula units."""
    unit = material.atoms_per_formula
    if (
        isinstance(n_atoms, bool)
        or not isinstance(n_atoms, int)
        or n_atoms < unit
        or n_atoms % unit
    ):
        below = max(unit, (n_atoms // unit) * unit) if isinstance(n_atoms, int) else unit
        raise InputError(
            f"{n_atoms} atoms is not a whole number ≥ 1 of {material.name} formula units "
            f"({unit} atoms each)",
            field=field,
            fix=f"use a multiple of {unit}, e.g. {below} or {below + unit}",
        )
    return {s: n * (n_atoms // unit) for s, n in material.formula.items()}


def random_structure(
    material: Material, n_atoms: int, density_g_cm3: float | None = None, seed: int = 0
) -> Frame:
    """``n_atoms`` of ``material`` at random in a cubic box at ``density_g_cm3`` (default
    ``density.nominal_g_cm3``), every pair at least its minimum distance apart."""
    density = material.density.nominal_g_cm3 if density_g_cm3 is None else density_g_cm3
    return random_cell(
        formula_counts(material, n_atoms),
        density,
        min_distances_A(material),
        seed=seed,
        source=f"random:{material.name}:{n_atoms}@{density:g}g/cm3:seed{seed}",
    )


def crystal_structure(material: Material, name: str, repeat: Sequence[int] | None = None) -> Frame:
    """Seed crystal ``name`` of ``material`` repeated ``repeat`` times (default: its own
    ``repeat``). A file is read relative to the material file's folder."""
    if name not in material.crystals:
        raise ConfigError(
            f"unknown crystal {name!r}",
            file=material.path,
            field="crystals",
            fix=f"use one of {', '.join(sorted(material.crystals)) or '(no [crystals])'}",
        )
    spec = material.crystals[name]
    with in_file(material.path, f"crystals.{name}"):
        if spec.file is not None:
            path = Path(spec.file)
            path = path if path.is_absolute() else Path(material.path).parent / path
            try:
                cell = read_structure(path, spec.index, spec.format)
            except InputError as exc:
                raise ConfigError(
                    f"{exc.message} ({path})",
                    file=material.path,
                    field=f"crystals.{name}.file",
                    fix=exc.fix,
                ) from None
        elif spec.spacegroup is not None:
            cell = spacegroup_crystal(
                spec.symbols, spec.basis, spec.spacegroup, spec.cellpar, spec.setting
            )
        else:
            cell = bulk_crystal(
                "".join(spec.symbols),
                spec.bulk,
                a=spec.a_A,
                c=spec.c_A,
                cubic=spec.cubic,
                orthorhombic=spec.orthorhombic,
            )
        reps = tuple(spec.repeat if repeat is None else repeat)
        frame = repeat_frame(cell, reps)
    source = f"crystal:{material.name}:{name}:{'x'.join(map(str, reps))}"
    return dataclasses.replace(frame, source=source)


def repeat_for_atoms(
    frame: Frame, min_atoms: int, max_aspect: float = 1.35
) -> tuple[int, int, int]:
    """The repeat (a, b, c) of ``frame`` holding the fewest atoms ≥ ``min_atoms`` among those
    whose supercell edges differ by at most ``max_aspect`` (longest / shortest edge; ties:
    the more cubic). Edges are the cell vector lengths times the repeat."""
    if isinstance(min_atoms, bool) or not isinstance(min_atoms, int) or min_atoms < 1:
        raise InputError(f"{min_atoms} atoms asked", field="atoms", fix="ask for 1 or more")
    lengths = np.linalg.norm(frame.cell, axis=1)
    edge = (min_atoms / frame.n_atoms * np.prod(lengths)) ** (1 / 3)  # a cube's edge, Å
    top = [max(1, math.ceil(max_aspect * edge / length)) + 1 for length in lengths]
    best: tuple[int, float, tuple[int, int, int]] | None = None
    for reps in itertools.product(*(range(1, t + 1) for t in top)):
        n = math.prod(reps) * frame.n_atoms
        edges = lengths * reps
        aspect = float(edges.max() / edges.min())
        if n >= min_atoms and (aspect <= max_aspect or n == frame.n_atoms):
            if best is None or (n, aspect) < best[:2]:
                best = (n, aspect, reps)  # type: ignore[assignment]
    assert best is not None  # the loop reaches cube-like repeats of every size
    return best[2]
