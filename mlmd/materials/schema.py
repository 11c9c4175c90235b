"""The tables of a material file as frozen dataclasses (parsed by :mod:`mlmd.config`).

Each class checks what it can alone in ``__post_init__`` (signs, orders); what needs the
whole file (elements named in pairs, crystals named by recipes, reference names) is checked
by :func:`mlmd.materials.load_material`, which also fills the derived fields of
:class:`Material` (``path``, ``formula``, ``elements``, ``species``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Vec3 = tuple[float, float, float]


def _invalid(key: str, message: str, fix: str) -> ValueError:
    """A check failed in ``__post_init__``: :func:`mlmd.config.from_mapping` turns it into a
    ConfigError naming the file and the table; the message names the key and the fix."""
    return ValueError(f"{key}: {message} (fix: {fix})")


@dataclass(frozen=True)
class Density:
    """``[density]``: g/cm³ of random cells."""

    nominal_g_cm3: float  # random production cells and ``mlmd build`` without --density
    random_g_cm3: tuple[float, float]  # (low, high) uniform range of random training cells

    def __post_init__(self) -> None:
        low, high = self.random_g_cm3
        if not 0 < low <= high:
            raise _invalid("random_g_cm3", f"[{low}, {high}] must be 0 < low ≤ high", "[low, high]")
        if not self.nominal_g_cm3 > 0:
            raise _invalid("nominal_g_cm3", "must be > 0", "give a density in g/cm³")


@dataclass(frozen=True)
class MinDistance:
    """``[min_distance]``: closest approach in random cells (and seed crystals), Å.

    A pair not in ``pairs_A`` gets ``factor`` × (covalent radius i + covalent radius j)
    (``ase.data.covalent_radii``, Cordero et al. 2008)."""

    factor: float = 0.75
    pairs_A: dict[str, float] = field(default_factory=dict)  # "Si-O" = 1.4

    def __post_init__(self) -> None:
        if not 0 < self.factor <= 2:
            raise _invalid("factor", f"{self.factor} must be in (0, 2]", "e.g. 0.75")


@dataclass(frozen=True)
class Crystal:
    """``[crystals.NAME]``: a seed crystal, from exactly one of a file, a space group or
    ``ase.build.bulk``; ``repeat`` is its default supercell."""

    file: str | None = None  # CIF, extxyz, ... (relative to the material file)
    index: int = 0  # which structure of the file
    format: str | None = None  # ASE format name when the suffix does not tell
    spacegroup: int | None = None  # ase.spacegroup.crystal: symbols, basis, cellpar, setting
    symbols: tuple[str, ...] = ()
    basis: tuple[Vec3, ...] = ()
    cellpar: tuple[float, float, float, float, float, float] | None = None  # Å, degrees
    setting: int = 1
    bulk: str | None = None  # ase.build.bulk crystal structure: diamond, fcc, hcp, ...
    a_A: float | None = None
    c_A: float | None = None
    cubic: bool = False
    orthorhombic: bool = False
    repeat: tuple[int, int, int] = (1, 1, 1)
    source: str = ""  # where the structure comes from (paper, database id)

    def __post_init__(self) -> None:
        given = [k for k in ("file", "spacegroup", "bulk") if getattr(self, k) is not None]
        if len(given) != 1:
            got = ", ".join(given) or "none"
            raise _invalid("file/spacegroup/bulk", f"{got} given", "give exactly one of them")
        if self.spacegroup is not None and (not self.basis or self.cellpar is None):
            raise _invalid("spacegroup", "needs basis and cellpar", "add them")
        if self.spacegroup is not None and len(self.symbols) != len(self.basis):
            n, k = len(self.symbols), len(self.basis)
            raise _invalid("symbols", f"{n} symbols for {k} basis sites", "one symbol per site")
        if self.bulk is not None and not self.symbols:
            raise _invalid("symbols", "a bulk crystal needs them", "e.g. ['Si'] or ['Cu', 'Zr']")
        if min(self.repeat) < 1:
            raise _invalid("repeat", f"{list(self.repeat)} must be integers ≥ 1", "e.g. [2, 2, 2]")


@dataclass(frozen=True)
class MeltQuench:
    """``[melt_quench]``: hold the melt, quench linearly in T and P, anneal the glass."""

    melt_K: float
    melt_hold_ps: float
    quench_rates_K_ps: tuple[float, ...]
    anneal_ps: float
    melt_GPa: float = 0.0
    glass_K: float = 300.0
    glass_GPa: float = 0.0
    timestep_fs: float = 1.0
    explore_temperatures_K: tuple[float, ...] = ()  # short exploration MD of small cells

    def __post_init__(self) -> None:
        if not self.melt_K > self.glass_K >= 0:
            raise _invalid(
                "melt_K",
                f"{self.melt_K} must be > glass_K ({self.glass_K}) ≥ 0",
                "fix the temperatures",
            )
        if not self.quench_rates_K_ps or min(self.quench_rates_K_ps) <= 0:
            raise _invalid("quench_rates_K_ps", "needs one or more rates > 0", "e.g. [1.0, 10.0]")
        for name in ("melt_hold_ps", "anneal_ps", "timestep_fs"):
            if not getattr(self, name) > 0:
                raise _invalid(name, "must be > 0", "give a positive value")
        if min(self.explore_temperatures_K, default=1.0) <= 0:
            raise _invalid("explore_temperatures_K", "must be > 0", "give temperatures in K")

    def schedule(self, rate_K_ps: float) -> dict[str, list[float]]:
        """Piecewise-linear targets of one melt–quench run (``[schedule]`` of an MD config):
        {"time_ps", "temperature_K", "pressure_GPa"}, 4 points each."""
        quench_ps = (self.melt_K - self.glass_K) / rate_K_ps
        t1 = self.melt_hold_ps
        t2 = t1 + quench_ps
        return {
            "time_ps": [0.0, t1, t2, t2 + self.anneal_ps],
            "temperature_K": [self.melt_K, self.melt_K, self.glass_K, self.glass_K],
            "pressure_GPa": [self.melt_GPa, self.melt_GPa, self.glass_GPa, self.glass_GPa],
        }


@dataclass(frozen=True)
class ReferenceSpec:
    """``[references.LABEL]``: a reference backend and its settings table, handed to
    ``mlmd.reference.registry.get_reference(name, config=settings)`` as it is."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentValue:
    """``[experiment.QUANTITY]``: a measured value for the report."""

    value: float
    uncertainty: float
    unit: str
    source: str
    temperature_K: float | None = None  # None: the glass at melt_quench.glass_K
    note: str = ""

    def __post_init__(self) -> None:
        if not self.uncertainty >= 0:
            raise _invalid(
                "uncertainty", f"{self.uncertainty} must be ≥ 0", "give the ± in the value's unit"
            )
        if not self.source.strip():
            raise _invalid("source", "is empty", "name the paper or database")


@dataclass(frozen=True)
class AnalysisHints:
    """``[analysis]``: what the structure analysis should look at."""

    bond_cutoffs_A: dict[str, float] = field(default_factory=dict)  # "Si-O" = 2.3
    rings: bool = False  # a network: ring statistics make sense
    ring_bond: str | None = None  # "former-bridge" link of the rings: "Si-O", or "Si-Si"

    def __post_init__(self) -> None:
        if self.rings and self.ring_bond is None:
            raise _invalid(
                "ring_bond", "rings = true needs it", "add ring_bond = 'Si-O' (former-bridge)"
            )
        if self.ring_bond is not None and not self.rings:
            raise _invalid("ring_bond", "given but rings = false", "set rings = true or drop it")


@dataclass(frozen=True)
class StartSource:
    """One entry of a recipe's ``sources``: a seed crystal or a random cell."""

    crystal: str | None = None
    repeat: tuple[int, int, int] | None = None  # None: the crystal's own repeat
    random_atoms: int | None = None
    density_g_cm3: tuple[float, float] | None = None  # None: density.random_g_cm3

    def __post_init__(self) -> None:
        if (self.crystal is None) == (self.random_atoms is None):
            raise _invalid(
                "crystal/random_atoms",
                "give exactly one",
                "{ crystal = NAME } or { random_atoms = N }",
            )
        if self.random_atoms is not None and (self.repeat is not None or self.random_atoms < 1):
            raise _invalid("random_atoms", "must be ≥ 1, with no repeat", "fix the source")
        if self.repeat is not None and min(self.repeat) < 1:
            raise _invalid("repeat", f"{list(self.repeat)} must be integers ≥ 1", "e.g. [2, 2, 2]")
        if (
            self.density_g_cm3 is not None
            and not 0 < self.density_g_cm3[0] <= self.density_g_cm3[1]
        ):
            raise _invalid(
                "density_g_cm3", "must be [low, high] with 0 < low ≤ high", "[low, high]"
            )


@dataclass(frozen=True)
class StartRecipe:
    """``[start.NAME]``: unlabelled first frames of a campaign. Frame i takes source
    i mod len(sources), a diagonal strain uniform in ±``strain`` per axis, and Gaussian
    displacements of ``rattle_A[i mod len(rattle_A)]`` Å per component."""

    sources: tuple[StartSource, ...]
    frames: int = 12
    strain: float = 0.05
    rattle_A: tuple[float, ...] = (0.02, 0.05, 0.08)

    def __post_init__(self) -> None:
        if not self.sources or self.frames < 1:
            raise _invalid("sources/frames", "needs one or more sources and frames ≥ 1", "add them")
        if not 0 <= self.strain < 0.5:
            raise _invalid("strain", f"{self.strain} must be in [0, 0.5)", "e.g. 0.05")
        if not self.rattle_A or min(self.rattle_A) < 0:
            raise _invalid("rattle_A", "needs one or more displacements ≥ 0 Å", "e.g. [0.02, 0.05]")


@dataclass(frozen=True)
class Material:
    """A whole material file. ``reference`` is the default label in ``references``.

    Derived by the loader (not keys of the file): ``path`` (the file), ``formula`` (element →
    atoms per formula unit, smallest integers), ``elements`` (symbols in file order) and
    ``species`` (atomic numbers, ascending, as potentials list them)."""

    name: str
    composition: dict[str, float]
    density: Density
    melt_quench: MeltQuench
    reference: str
    references: dict[str, ReferenceSpec]
    description: str = ""
    min_distance: MinDistance = field(default_factory=MinDistance)
    crystals: dict[str, Crystal] = field(default_factory=dict)
    start: dict[str, StartRecipe] = field(default_factory=dict)
    experiment: dict[str, ExperimentValue] = field(default_factory=dict)
    analysis: AnalysisHints = field(default_factory=AnalysisHints)
    path: str = field(default="", init=False)
    formula: dict[str, int] = field(default_factory=dict, init=False)
    elements: tuple[str, ...] = field(default=(), init=False)
    species: tuple[int, ...] = field(default=(), init=False)

    @property
    def atoms_per_formula(self) -> int:
        """Atoms in one formula unit (a random cell holds a multiple of it)."""
        return sum(self.formula.values())
