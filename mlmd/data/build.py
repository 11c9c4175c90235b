"""Starting structures for SiO2: random insertion at a given density, and crystals.

Both return an unlabelled :class:`~mlmd.data.frame.Frame` (Å; Si listed before O for the
random box, in ASE's order for crystals). Recipes and minimum distances follow
``shared/notes/sio2.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from ase.spacegroup import crystal

from mlmd.data.frame import Frame
from mlmd.errors import InputError
from mlmd.units import AMU_PER_A3_TO_G_PER_CM3

#: Default minimum separations for random insertion, Å.
SIO2_MIN_DIST: dict[str, float] = {"SiO": 1.4, "OO": 2.2, "SiSi": 2.8}
_SI, _O = atomic_numbers["Si"], atomic_numbers["O"]


def sio2_box_length_A(n_atoms: int, density_g_cm3: float) -> float:
    """Edge (Å) of the cubic box holding ``n_atoms`` of SiO2 at ``density_g_cm3``."""
    n_si = n_atoms // 3
    mass_amu = n_si * atomic_masses[_SI] + 2 * n_si * atomic_masses[_O]
    return float((mass_amu * AMU_PER_A3_TO_G_PER_CM3 / density_g_cm3) ** (1.0 / 3.0))


def _pair_table(min_dist: Mapping[str, float]) -> np.ndarray:
    """2×2 squared minimum distances, type 0 = Si, 1 = O."""
    table = np.zeros((2, 2))
    names = {"SiO": (0, 1), "OSi": (0, 1), "OO": (1, 1), "SiSi": (0, 0)}
    for key, value in min_dist.items():
        if key not in names:
            raise InputError(
                f"unknown pair {key!r}", field="min_dist", fix="use the keys SiO, OO, SiSi"
            )
        if not value >= 0:
            raise InputError(
                f"{key} = {value} must be ≥ 0 Å", field=f"min_dist.{key}", fix="give a distance"
            )
        i, j = names[key]
        table[i, j] = table[j, i] = float(value) ** 2
    return table


def random_sio2(
    n_atoms: int,
    density_g_cm3: float,
    seed: int = 0,
    min_dist: Mapping[str, float] | None = None,
    max_tries_per_atom: int = 20000,
) -> Frame:
    """Random SiO2 in a periodic cubic box, every pair at least its minimum distance apart.

    Atoms are inserted one at a time (Si first, then O) at uniform random positions; a
    candidate is kept when no atom within the largest minimum distance (found through a
    cell list of bins ≥ that distance wide, 27 neighbouring bins) is too close under the
    minimum-image convention.

    Args:
        n_atoms: total atoms, a multiple of 3 (exact SiO2 stoichiometry).
        density_g_cm3: mass density; sets the box edge.
        seed: random seed (same seed, same structure).
        min_dist: minimum separations in Å by pair ``SiO``, ``OO``, ``SiSi``
            (default :data:`SIO2_MIN_DIST`; missing pairs take the default).
        max_tries_per_atom: give up (InputError) after this many rejected candidates.
    """
    if not isinstance(n_atoms, (int, np.integer)) or n_atoms <= 0 or n_atoms % 3:
        raise InputError(
            f"n_atoms = {n_atoms} is not a positive multiple of 3 (SiO2 needs 1 Si : 2 O)",
            field="n_atoms",
            fix="use e.g. 192, 648, 1536 or 3000",
        )
    if not density_g_cm3 > 0:
        raise InputError(
            f"density {density_g_cm3} must be > 0 g/cm³",
            field="density_g_cm3",
            fix="silica glass is about 2.2 g/cm³",
        )
    d2 = _pair_table({**SIO2_MIN_DIST, **(min_dist or {})})
    length = sio2_box_length_A(n_atoms, density_g_cm3)
    n_bins = int(length // max(np.sqrt(d2.max()), 1e-9))
    n_bins = n_bins if n_bins >= 3 else 1  # fewer than 3 bins: every atom is a neighbour
    offsets = np.array(list(itertools.product((-1, 0, 1), repeat=3)) if n_bins > 1 else [[0] * 3])
    cap = 8
    bins = np.full((n_bins, n_bins, n_bins, cap), -1, dtype=np.int64)
    fill = np.zeros((n_bins,) * 3, dtype=np.int64)
    types = np.repeat([0, 1], [n_atoms // 3, 2 * n_atoms // 3])
    pos = np.zeros((n_atoms, 3))
    rng = np.random.default_rng(seed)
    for k in range(n_atoms):
        limits = d2[types[k]]
        for _ in range(max_tries_per_atom):
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
                f"could not place atom {k + 1} of {n_atoms} after {max_tries_per_atom} tries: "
                f"{density_g_cm3} g/cm³ is too dense for these minimum distances",
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
    numbers = np.where(types == 0, _SI, _O)
    return Frame(
        numbers=numbers,
        positions=pos,
        cell=np.eye(3) * length,
        pbc=True,
        source=f"random_sio2(n_atoms={n_atoms}, density_g_cm3={density_g_cm3}, seed={seed})",
    )


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


def sio2_crystal(name: str, repeat: Sequence[int] = (1, 1, 1)) -> Frame:
    """Alpha-quartz or ideal beta-cristobalite, repeated ``repeat`` times along a, b, c."""
    if name not in CRYSTALS:
        raise InputError(
            f"unknown crystal {name!r}", field="crystal", fix=f"use one of {sorted(CRYSTALS)}"
        )
    reps = tuple(int(r) for r in repeat)
    if len(reps) != 3 or min(reps) < 1:
        raise InputError(
            f"repeat {tuple(repeat)} must be three integers ≥ 1",
            field="repeat",
            fix="e.g. --repeat 3 3 3",
        )
    atoms = crystal(["Si", "O"], **CRYSTALS[name]).repeat(reps)  # type: ignore[arg-type]
    return Frame(
        numbers=atoms.numbers,
        positions=atoms.positions,
        cell=atoms.cell[:],
        pbc=True,
        source=f"sio2_crystal({name!r}, repeat={reps})",
    )
