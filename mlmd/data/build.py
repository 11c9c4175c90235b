"""Starting structures for any composition: random insertion with minimum distances, crystals
from ASE builders or files, supercells.

Every builder returns an unlabelled :class:`~mlmd.data.frame.Frame` (Å, fully periodic).
Nothing here names a material: a material file (:mod:`mlmd.materials`) supplies the
composition, densities, minimum distances and crystal recipes. :func:`random_sio2` and
:func:`sio2_crystal` are the SiO2 shortcuts older code and ``mlmd build sio2`` call; they are
thin wrappers over the generic builders (recipes in ``shared/notes/sio2.md``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from ase.data import atomic_masses, atomic_numbers, chemical_symbols

from mlmd.data.frame import Frame
from mlmd.errors import InputError
from mlmd.units import AMU_PER_A3_TO_G_PER_CM3

#: Random sequential insertion of equal hard spheres jams near this packing fraction; a
#: species whose own minimum distance fills more of the box than this cannot be placed.
JAMMING_FRACTION = 0.38


def element_number(symbol: str, field: str) -> int:
    """Atomic number of ``symbol`` (InputError naming ``field`` for anything else)."""
    z = atomic_numbers.get(symbol) if isinstance(symbol, str) else None
    if not z:  # X (0) is ASE's dummy atom, not an element
        close = [s for s in chemical_symbols[1:] if s.lower() == str(symbol).lower()]
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"unknown element {symbol!r}", field=field, fix=f"{hint}use a chemical symbol"
        )
    return int(z)


def pair_symbols(key: str, field: str) -> tuple[str, str]:
    """The two elements of a pair key, written ``"Si-O"`` or ``"SiO"``."""
    parts = key.split("-") if "-" in key else re.findall(r"[A-Z][a-z]*", key)
    if len(parts) != 2 or "".join(parts) != key.replace("-", ""):
        raise InputError(
            f"{key!r} is not a pair of elements", field=field, fix="write pairs as 'Si-O'"
        )
    for symbol in parts:
        element_number(symbol, field)
    return parts[0], parts[1]


def box_length_A(counts: Mapping[str, int], density_g_cm3: float) -> float:
    """Edge (Å) of the cubic box holding ``counts`` atoms (symbol → number) at a density."""
    mass_amu = sum(n * atomic_masses[element_number(s, "counts")] for s, n in counts.items())
    return float((mass_amu * AMU_PER_A3_TO_G_PER_CM3 / density_g_cm3) ** (1.0 / 3.0))


def _pair_table(symbols: list[str], min_dist: Mapping[str, float]) -> np.ndarray:
    """[k, k] squared minimum distances (Å²) in the order of ``symbols``; every pair given."""
    k = len(symbols)
    table = np.full((k, k), np.nan)
    for key, value in min_dist.items():
        a, b = pair_symbols(key, f"min_dist.{key}")
        if a not in symbols or b not in symbols:
            raise InputError(
                f"pair {key!r} names an element that is not in the cell ({', '.join(symbols)})",
                field=f"min_dist.{key}",
                fix="drop the pair or fix the element",
            )
        if not value >= 0:
            raise InputError(
                f"{value} must be ≥ 0 Å", field=f"min_dist.{key}", fix="give a distance in Å"
            )
        i, j = symbols.index(a), symbols.index(b)
        table[i, j] = table[j, i] = float(value) ** 2
    missing = [
        f"{symbols[i]}-{symbols[j]}"
        for i, j in zip(*np.nonzero(np.isnan(table)), strict=True)
        if i <= j
    ]
    if missing:
        raise InputError(
            f"no minimum distance for {', '.join(missing)}", field="min_dist", fix="give every pair"
        )
    return table


def random_cell(
    counts: Mapping[str, int],
    density_g_cm3: float,
    min_dist: Mapping[str, float],
    *,
    seed: int = 0,
    max_tries_per_atom: int = 20000,
    source: str | None = None,
) -> Frame:
    """Atoms at random in a periodic cubic box, every pair at least its minimum distance apart.

    Species are inserted one block at a time, the species with the largest minimum distance
    to itself first (the hardest to place; ties keep the order of ``counts``), each atom at
    uniform random positions until a candidate has no atom too close under the minimum-image
    convention (found through a cell list of bins at least the largest distance wide).

    Args:
        counts: atoms per element symbol, e.g. ``{"Si": 64, "O": 128}``.
        density_g_cm3: mass density; sets the box edge.
        min_dist: minimum separation in Å of every pair, keys ``"Si-O"`` (or ``"SiO"``).
        seed: random seed (same seed, same structure).
        max_tries_per_atom: give up (InputError) after this many rejected candidates.
        source: the frame's provenance string (default: this call).

    Raises:
        InputError: bad counts, density or distances, or a box that cannot hold the atoms
            (checked before trying when one species alone would exceed
            :data:`JAMMING_FRACTION`).
    """
    symbols = [s for s, n in counts.items() if n]
    if not symbols or any(not isinstance(n, (int, np.integer)) or n < 0 for n in counts.values()):
        raise InputError(
            f"atom counts {dict(counts)} must be integers ≥ 0, not all 0", field="counts"
        )
    if not density_g_cm3 > 0:
        raise InputError(
            f"density {density_g_cm3} must be > 0 g/cm³",
            field="density_g_cm3",
            fix="give a density",
        )
    d2 = _pair_table(symbols, min_dist)
    length = box_length_A(counts, density_g_cm3)
    _check_packing(symbols, counts, d2, length**3, density_g_cm3)
    order = sorted(range(len(symbols)), key=lambda i: -d2[i, i])
    types = np.concatenate([np.full(int(counts[symbols[i]]), i) for i in order])
    rng = np.random.default_rng(seed)
    pos = _insert(types, d2, length, rng, max_tries=max_tries_per_atom, density=density_g_cm3)
    numbers = np.array([element_number(s, "counts") for s in symbols])[types]
    if source is None:
        formula = "".join(f"{s}{counts[s]}" for s in symbols)
        source = f"random_cell({formula}, density_g_cm3={density_g_cm3}, seed={seed})"
    return Frame(numbers=numbers, positions=pos, cell=np.eye(3) * length, pbc=True, source=source)


def _check_packing(symbols, counts, d2: np.ndarray, volume_A3: float, density: float) -> None:
    """InputError when one species' own minimum distance fills the box past jamming."""
    for i, s in enumerate(symbols):
        fraction = counts[s] * math.pi / 6.0 * d2[i, i] ** 1.5 / volume_A3
        if fraction > JAMMING_FRACTION:
            raise InputError(
                f"{counts[s]} {s} atoms {math.sqrt(d2[i, i]):.2f} Å apart fill {fraction:.2f} of "
                f"the box at {density} g/cm³ (random insertion jams near {JAMMING_FRACTION})",
                field="density_g_cm3",
                fix=f"lower the density or the {s}-{s} minimum distance",
            )


def _insert(types, d2, length, rng, *, max_tries: int, density: float) -> np.ndarray:
    """Positions [N, 3] Å of atoms of ``types`` inserted in order (see :func:`random_cell`)."""
    n_atoms = len(types)
    n_bins = int(length // max(np.sqrt(d2.max()), 1e-9))
    n_bins = n_bins if n_bins >= 3 else 1  # fewer than 3 bins: every atom is a neighbour
    offsets = np.array(list(itertools.product((-1, 0, 1), repeat=3)) if n_bins > 1 else [[0] * 3])
    cap = 8
    bins = np.full((n_bins, n_bins, n_bins, cap), -1, dtype=np.int64)
    fill = np.zeros((n_bins,) * 3, dtype=np.int64)
    pos = np.zeros((n_atoms, 3))
    for k in range(n_atoms):
        limits = d2[types[k]]
        for _ in range(max_tries):
            x = rng.random(3) * length
            b = np.minimum((x / length * n_bins).astype(np.int64), n_bins - 1)
            nb = (b + offsets) % n_bins
            near = bins[nb[:, 0], nb[:, 1], nb[:, 2]].reshape(-1)
            near = near[near >= 0]
            d = pos[near] - x
            d -= length * np.round(d / length)
            if np.all(np.einsum("ij,ij->i", d, d) >= limits[types[near]]):
                break
        else:
            raise InputError(
                f"could not place atom {k + 1} of {n_atoms} after {max_tries} tries: "
                f"{density} g/cm³ is too dense for these minimum distances",
                field="density_g_cm3",
                fix="lower the density or the minimum distances",
            )
        pos[k] = x
        if fill[tuple(b)] == cap:
            cap *= 2
            grown = np.full((n_bins, n_bins, n_bins, cap), -1, dtype=np.int64)
            grown[..., : cap // 2] = bins
            bins = grown
        bins[b[0], b[1], b[2], fill[tuple(b)]] = k
        fill[tuple(b)] += 1
    return pos


def _frame(atoms, source: str) -> Frame:
    return Frame(atoms.numbers, atoms.positions, atoms.cell[:], pbc=True, source=source)


def spacegroup_crystal(
    symbols: Sequence[str],
    basis: Sequence[Sequence[float]],
    spacegroup: int,
    cellpar: Sequence[float],
    setting: int = 1,
) -> Frame:
    """A crystal from its asymmetric unit (``ase.spacegroup.crystal``; cellpar a, b, c in Å
    and α, β, γ in degrees; fractional basis)."""
    from ase.spacegroup import crystal

    try:
        atoms = crystal(
            list(symbols),
            basis=[tuple(b) for b in basis],
            spacegroup=spacegroup,
            cellpar=list(cellpar),
            setting=setting,
        )
    except Exception as exc:  # ASE raises assorted errors on bad recipes
        raise InputError(
            f"ASE cannot build it ({exc})", field="spacegroup", fix="check the recipe"
        ) from None
    return _frame(atoms, f"spacegroup_crystal({''.join(symbols)}, {spacegroup})")


def bulk_crystal(name: str, crystalstructure: str, **kwargs: float | bool | None) -> Frame:
    """A crystal from ``ase.build.bulk`` (``a``, ``c`` in Å, ``cubic``, ``orthorhombic``)."""
    from ase.build import bulk

    try:
        atoms = bulk(name, crystalstructure, **{k: v for k, v in kwargs.items() if v is not None})
    except Exception as exc:  # ValueError, KeyError, RuntimeError from ASE
        raise InputError(
            f"ASE cannot build it ({exc})", field="bulk", fix="check the recipe"
        ) from None
    return _frame(atoms, f"bulk({name!r}, {crystalstructure!r})")


def read_structure(path: str | Path, index: int = 0, format: str | None = None) -> Frame:
    """One structure of a CIF, extxyz or any file ASE reads (serially,
    :func:`mlmd.data.ase_io.ase_read`: every MPI rank reads for itself). Labels in the file
    are dropped: the frame is unlabelled."""
    from mlmd.data.ase_io import ase_read

    path = Path(path)
    if not path.is_file():
        raise InputError("structure file not found", file=str(path), fix="check the path")
    try:
        atoms = ase_read(path, index=index, format=format)
    except Exception as exc:  # ASE's readers raise many kinds
        raise InputError(
            f"ASE cannot read it ({type(exc).__name__}: {exc})",
            file=str(path),
            fix="give a CIF or extxyz file (or the format)",
        ) from None
    if not atoms.pbc.all() or abs(np.linalg.det(atoms.cell[:])) < 1e-9:
        raise InputError("not a periodic crystal (no 3-D cell)", file=str(path), fix="add the cell")
    return _frame(atoms, f"file:{path.name}@{index}")


def repeat_frame(frame: Frame, repeat: Sequence[int]) -> Frame:
    """``frame`` repeated ``repeat`` = (a, b, c) times along its cell vectors."""
    reps = tuple(int(r) for r in repeat)
    if len(reps) != 3 or min(reps) < 1 or any(r != v for r, v in zip(reps, repeat, strict=True)):
        raise InputError(
            f"repeat {tuple(repeat)} must be three integers ≥ 1", field="repeat", fix="e.g. 3 3 3"
        )
    shifts = np.array(list(itertools.product(*(range(r) for r in reps)))) @ frame.cell
    positions = (frame.positions[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    return Frame(
        numbers=np.tile(frame.numbers, len(shifts)),
        positions=positions,
        cell=frame.cell * np.array(reps)[:, None],
        pbc=frame.pbc,
        source=f"{frame.source} x{reps[0]}x{reps[1]}x{reps[2]}",
    )


# --- SiO2 shortcuts (older code and ``mlmd build sio2``) -----------------------------------

#: Default SiO2 minimum separations for random insertion, Å (shared/notes/sio2.md).
SIO2_MIN_DIST: dict[str, float] = {"SiO": 1.4, "OO": 2.2, "SiSi": 2.8}

#: ASE ``crystal`` recipes (shared/notes/sio2.md).
CRYSTALS: dict[str, dict[str, object]] = {
    # alpha-quartz, Levien et al. 1980: 9 atoms, 2.646 g/cm³, Si–O 1.605/1.614 Å
    "quartz": {
        "basis": [(0.4697, 0.0, 2.0 / 3.0), (0.4135, 0.2669, 0.7858)],
        "spacegroup": 154,
        "cellpar": [4.916, 4.916, 5.4054, 90, 90, 120],
    },
    # beta-cristobalite, ideal cubic: 24 atoms, 2.175 g/cm³, Si–O 1.55 Å
    "cristobalite": {
        "basis": [(0.0, 0.0, 0.0), (0.125, 0.125, 0.125)],
        "spacegroup": 227,
        "setting": 1,
        "cellpar": [7.16, 7.16, 7.16, 90, 90, 90],
    },
}


def random_sio2(
    n_atoms: int,
    density_g_cm3: float,
    seed: int = 0,
    min_dist: Mapping[str, float] | None = None,
    max_tries_per_atom: int = 20000,
) -> Frame:
    """Random SiO2 (Si listed first): :func:`random_cell` with :data:`SIO2_MIN_DIST` (pairs in
    ``min_dist`` override it). ``n_atoms`` must be a positive multiple of 3."""
    if not isinstance(n_atoms, (int, np.integer)) or n_atoms <= 0 or n_atoms % 3:
        raise InputError(
            f"n_atoms = {n_atoms} is not a positive multiple of 3 (SiO2 needs 1 Si : 2 O)",
            field="n_atoms",
            fix="use e.g. 192, 648, 1536 or 3000",
        )
    n = n_atoms // 3
    return random_cell(
        {"Si": n, "O": 2 * n},
        density_g_cm3,
        {**SIO2_MIN_DIST, **(min_dist or {})},
        seed=seed,
        max_tries_per_atom=max_tries_per_atom,
        source=f"random_sio2(n_atoms={n_atoms}, density_g_cm3={density_g_cm3}, seed={seed})",
    )


def sio2_crystal(name: str, repeat: Sequence[int] = (1, 1, 1)) -> Frame:
    """Alpha-quartz or ideal beta-cristobalite, repeated ``repeat`` times along a, b, c."""
    if name not in CRYSTALS:
        raise InputError(
            f"unknown crystal {name!r}", field="crystal", fix=f"use one of {sorted(CRYSTALS)}"
        )
    cell = spacegroup_crystal(["Si", "O"], **CRYSTALS[name])  # type: ignore[arg-type]
    source = f"sio2_crystal({name!r}, repeat={tuple(int(r) for r in repeat)})"
    return dataclasses.replace(repeat_frame(cell, repeat), source=source)
