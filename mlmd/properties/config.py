"""``mlmd properties CONFIG.toml``: which properties, at which state points, from which MD.

One file, parsed strictly (:mod:`mlmd.config`) before any MD runs; a table per property that
should be computed. Every property either runs its own MD segments with the ``[md]`` settings
and the start ``[structure]`` (or its own ``structure`` table), or analyses existing
trajectories given as ``trajectories`` (no MD then)::

    output = "props"                       # directory of summary.json, curves, MD segments

    [md]                                   # shared MD settings (as in an MD config)
    potential = "teacher"
    timestep_fs = 1.0
    thermo_every = 10                      # observables interval (steps)

    [structure]                            # start structure (mlmd.md.config.StructureConfig,
    builder = "random_sio2"                #  or trajectory = "run.h5": its last frame)
    n_atoms = 192
    density_g_cm3 = 2.2

    [viscosity]                            # Langevin NVT equilibration, then production
    temperatures_K = [3500.0]              #  (Nosé–Hoover chain, τ = 1 ps; or "nve")
    replicas = 4
    equilibration_ps = 10.0
    production_ps = 100.0
    pressure_tensor_every = 2
    replica_groups = 1                     # replicas side by side on this many rank groups

    [bulk_modulus]                         # NPT fluctuations and an MD-averaged P–V scan
    temperature_K = 300.0
    production_ps = 50.0
    pv_strains = [-0.01, 0.0, 0.01]        # linear strains of the NVT scan ([] = none)

    [elastic]                              # 0 K strain–stress, ions relaxed
    [thermal_expansion]                    # NPT temperature scan of the start structure
    temperatures_K = [300.0, 500.0, 700.0, 900.0]
    [density_curve]                        # the same for a liquid, with its maximum
    temperatures_K = [2500.0, 3000.0, 3500.0, 4000.0]
    [glass_transition]                     # NPT linear quench; kink of H(T) and V(T)
    start_K = 3500.0
    end_K = 1000.0
    rate_K_per_ps = 10.0
    [crystals]                             # relaxed seed crystals vs a reference potential
    structures = ["quartz", "cristobalite"]
    reference = "teacher"

Units are in the names; times in ps, intervals in MD steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from mlmd.config import from_toml
from mlmd.md.config import StructureConfig

Device = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class StartConfig(StructureConfig):
    """A start structure: the MD structure options (:class:`~mlmd.md.config.StructureConfig`,
    every key of it), or ``trajectory``: the last frame of an H5MD trajectory."""

    SOURCES: ClassVar[tuple[str, ...]] = ("trajectory", *StructureConfig.SOURCES)

    trajectory: str | None = None


@dataclass(frozen=True)
class MDSettings:
    """What every MD segment shares (the keys of an MD config of the same name)."""

    potential: str = "teacher"
    device: Device = "auto"
    timestep_fs: float = 1.0
    seed: int = 1
    skin_A: float = 1.0
    torch_threads: int = 0
    decomposition: tuple[int, int, int] | None = None
    thermo_every: int = 10
    damping_fs: float = 100.0
    barostat_damping_fs: float = 500.0
    compressibility_per_GPa: float = 0.03

    def __post_init__(self) -> None:
        for name in ("timestep_fs", "damping_fs", "barostat_damping_fs"):
            if getattr(self, name) <= 0:
                raise ValueError(f"md.{name} must be positive")
        if self.thermo_every < 1:
            raise ValueError("md.thermo_every must be ≥ 1")


def _positive(obj, *names: str) -> None:
    for name in names:
        if getattr(obj, name) <= 0:
            raise ValueError(f"{type(obj).__name__}: {name} must be positive")


@dataclass(frozen=True)
class ViscosityConfig:
    """Green–Kubo runs. Production under a Nosé–Hoover chain of time ``production_damping_fs``
    by default: a global thermostat leaves GK viscosities unchanged (Basconi & Shirts, J. Chem.
    Theory Comput. 9, 2887 (2013)), while NVE replicas of N atoms started from canonical states
    differ in mean T by ~T·√(2/3N) (±4 % at 192 atoms: 3440–3590 K measured at 3500 K).

    ``replica_groups``: under ``mpiexec -n N`` the ranks form this many groups of N/groups
    ranks; replica r runs on group r mod groups, so small systems use the ranks for
    independent replicas rather than for a domain decomposition that does not pay."""

    temperatures_K: tuple[float, ...] = (3500.0,)
    replicas: int = 4
    equilibration_ps: float = 10.0
    production_ps: float = 100.0
    production: Literal["nose_hoover_chain", "nve"] = "nose_hoover_chain"
    production_damping_fs: float = 1000.0
    pressure_tensor_every: int = 2
    blocks_per_replica: int = 2
    replica_groups: int = 1
    structure: StartConfig | None = None
    trajectories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _positive(self, "replicas", "production_ps", "pressure_tensor_every")
        _positive(self, "blocks_per_replica", "production_damping_fs", "replica_groups")


@dataclass(frozen=True)
class BulkModulusConfig:
    temperature_K: float = 300.0
    pressure_GPa: float = 0.0
    equilibration_ps: float = 5.0
    production_ps: float = 50.0
    n_blocks: int = 5
    pv_strains: tuple[float, ...] = (-0.01, -0.005, 0.0, 0.005, 0.01)
    pv_ps: float = 10.0
    structure: StartConfig | None = None
    trajectories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _positive(self, "temperature_K", "production_ps", "pv_ps")
        if any(abs(s) > 0.05 for s in self.pv_strains):
            raise ValueError("bulk_modulus.pv_strains must lie within ±0.05")


@dataclass(frozen=True)
class ElasticConfig:
    strain: float = 0.005
    relax_ions: bool = True
    fmax_eV_A: float = 1e-3
    structure: StartConfig | None = None


@dataclass(frozen=True)
class ScanConfig:
    """An NPT temperature scan: each temperature held ``hold_ps`` (the first
    ``equilibration_ps`` of it discarded), reached by a ``ramp_ps`` linear ramp."""

    temperatures_K: tuple[float, ...] = (300.0, 500.0, 700.0, 900.0)
    pressure_GPa: float = 0.0
    hold_ps: float = 20.0
    equilibration_ps: float = 5.0
    ramp_ps: float = 2.0
    structure: StartConfig | None = None
    trajectories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _positive(self, "hold_ps")
        if self.equilibration_ps >= self.hold_ps:
            raise ValueError("equilibration_ps must be shorter than hold_ps")


@dataclass(frozen=True)
class GlassTransitionConfig:
    start_K: float = 3500.0
    end_K: float = 1000.0
    rate_K_per_ps: float = 10.0
    pressure_GPa: float = 0.0
    hold_ps: float = 5.0
    structure: StartConfig | None = None
    trajectories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _positive(self, "rate_K_per_ps")
        if self.start_K == self.end_K:
            raise ValueError("glass_transition.start_K and end_K must differ")


@dataclass(frozen=True)
class CrystalsConfig:
    structures: tuple[str, ...] = ("quartz",)
    reference: str | None = None
    fmax_eV_A: float = 1e-4


@dataclass(frozen=True)
class PropertiesConfig:
    """The whole ``mlmd properties`` config (see module docstring)."""

    output: str = "properties"
    md: MDSettings = field(default_factory=MDSettings)
    structure: StartConfig | None = None
    viscosity: ViscosityConfig | None = None
    bulk_modulus: BulkModulusConfig | None = None
    elastic: ElasticConfig | None = None
    thermal_expansion: ScanConfig | None = None
    density_curve: ScanConfig | None = None
    glass_transition: GlassTransitionConfig | None = None
    crystals: CrystalsConfig | None = None

    def __post_init__(self) -> None:
        te = self.thermal_expansion  # checked here, before any MD: its fit needs three points
        if te is not None and not te.trajectories and len(set(te.temperatures_K)) < 3:
            raise ValueError(
                f"thermal_expansion.temperatures_K: {len(set(te.temperatures_K))} temperatures;"
                " a thermal expansion with an error needs ≥ 3"
            )

    def sections(self) -> list[str]:
        """The property tables present, in run order."""
        return [name for name in PROPERTIES if getattr(self, name) is not None]


#: Property tables in the order they run: the quench comes before the glass properties, so
#: they can start from its trajectory (``structure = {trajectory = ...}``).
PROPERTIES = (
    "crystals",
    "glass_transition",
    "elastic",
    "bulk_modulus",
    "thermal_expansion",
    "density_curve",
    "viscosity",
)


def load_properties_config(path: str | Path) -> PropertiesConfig:
    """Parse ``path`` strictly; an empty selection is an error naming the tables."""
    cfg = from_toml(PropertiesConfig, path)
    if not cfg.sections():
        from mlmd.errors import ConfigError

        raise ConfigError(
            "no property table", file=str(path), fix=f"add one of [{'], ['.join(PROPERTIES)}]"
        )
    return cfg
