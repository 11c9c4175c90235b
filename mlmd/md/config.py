"""The MD run configuration: frozen dataclasses parsed strictly from TOML (:mod:`mlmd.config`).

A config file is one MD run::

    steps = 20000
    timestep_fs = 1.0
    potential = "teacher"          # a registered name, a model directory or an export
    device = "auto"                # auto | cpu | cuda (one GPU per rank by local rank)
    seed = 1
    skin_A = 1.0

    [structure]                    # exactly one of: dataset, extxyz, builder
    builder = "random_sio2"
    n_atoms = 3000
    density_g_cm3 = 2.2

    [ensemble]                     # only the keys of this kind (mlmd.md.ensemble)
    kind = "npt"                   # nve | langevin | nose_hoover_chain | npt | berendsen
    temperature_K = 4000.0
    pressure_GPa = 0.0

    [schedule]                     # piecewise linear, (time_ps[k], value[k])
    time_ps = [0, 10, 30]
    temperature_K = [4000, 4000, 300]

    [output]
    directory = "melt_quench"      # one run per directory (`mlmd md run` locks it)
    trajectory_every = 500
    pressure_tensor_every = 0      # > 0: /observables/pressure_tensor [T, 3, 3] GPa

Relative paths are taken relative to the working directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from mlmd.config import from_mapping, load_toml
from mlmd.md.ensemble import EnsembleConfig, NVEConfig
from mlmd.md.integrators import parse_ensemble


@dataclass(frozen=True)
class StructureConfig:
    """Start structure: a dataset frame, an extxyz file, or a builder of mlmd.data.build.

    ``SOURCES`` are the keys that say where it comes from: exactly one is given (a subclass
    with another source, e.g. :class:`mlmd.properties.config.StartConfig`, extends them)."""

    SOURCES: ClassVar[tuple[str, ...]] = ("dataset", "extxyz", "builder")

    dataset: str | None = None
    index: int = 0
    extxyz: str | None = None
    builder: Literal["random_sio2", "sio2_crystal"] | None = None
    n_atoms: int = 0
    density_g_cm3: float = 2.2
    crystal: str = "cristobalite"
    repeat: tuple[int, int, int] = (1, 1, 1)
    seed: int = 0

    def __post_init__(self) -> None:
        given = [k for k in self.SOURCES if getattr(self, k) is not None]
        if len(given) != 1:
            names = ", ".join(f"'{k}'" for k in self.SOURCES[:-1]) + f" or '{self.SOURCES[-1]}'"
            raise ValueError(f"give exactly one of {names} (got {', '.join(given) or 'none'})")
        if self.builder == "random_sio2" and self.n_atoms <= 0:
            raise ValueError("builder 'random_sio2' needs n_atoms > 0")


@dataclass(frozen=True)
class ScheduleConfig:
    """Piecewise-linear targets; an absent list keeps the ensemble's constant value."""

    time_ps: tuple[float, ...] = ()
    temperature_K: tuple[float, ...] | None = None
    pressure_GPa: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("temperature_K", "pressure_GPa"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.time_ps):
                raise ValueError(f"schedule.{name} needs one value per schedule.time_ps entry")
        if any(b < a for a, b in zip(self.time_ps, self.time_ps[1:], strict=False)):
            raise ValueError("schedule.time_ps must not decrease")


@dataclass(frozen=True)
class OutputConfig:
    """Where and how often to write (intervals in steps; 0 switches an output off)."""

    directory: str = "md_out"
    trajectory_every: int = 100
    thermo_every: int = 100
    checkpoint_every: int = 1000
    velocities: bool = False
    forces: bool = False
    pressure_tensor_every: int = 0  # /observables/pressure_tensor [T, 3, 3] GPa; 0 = off

    def __post_init__(self) -> None:
        names = ("trajectory_every", "thermo_every", "checkpoint_every", "pressure_tensor_every")
        for name in names:
            if getattr(self, name) < 0:
                raise ValueError(f"output.{name} must be ≥ 0")


@dataclass(frozen=True)
class UncertaintyConfig:
    """Ensemble spread monitoring (used when the potential is an ensemble)."""

    every: int = 10
    threshold_eV_A: float | None = None
    stop_threshold_eV_A: float | None = None
    dataset: str | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("uncertainty.every must be ≥ 1")
        if self.threshold_eV_A is not None and self.dataset is None:
            raise ValueError(
                "uncertainty.threshold_eV_A needs uncertainty.dataset to collect frames"
            )


@dataclass(frozen=True)
class SafetyConfig:
    """Thresholds of the safety checks, reduced across ranks every ``check_every`` steps (and
    at the last step): closest pair (Å), kinetic temperature (K), non-finite forces."""

    check_every: int = 10
    min_distance_A: float = 0.5
    max_temperature_K: float = 1.0e5

    def __post_init__(self) -> None:
        if self.check_every < 1:
            raise ValueError("safety.check_every must be ≥ 1")


@dataclass(frozen=True)
class MDConfig:
    """One MD run (see module docstring)."""

    structure: StructureConfig
    steps: int
    potential: str = "teacher"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    timestep_fs: float = 1.0
    seed: int = 0
    initial_temperature_K: float | None = None
    skin_A: float = 1.0
    decomposition: tuple[int, int, int] | None = None
    torch_threads: int = 0  # CPU threads per rank; 0 = OMP_NUM_THREADS, else cores / ranks
    ensemble: EnsembleConfig = field(default_factory=NVEConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    uncertainty: UncertaintyConfig = field(default_factory=UncertaintyConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError("steps must be ≥ 0")
        if self.timestep_fs <= 0:
            raise ValueError("timestep_fs must be positive")
        if self.skin_A < 0:
            raise ValueError("skin_A must be ≥ 0")
        if self.seed < 0:
            raise ValueError("seed must be ≥ 0")
        if self.schedule.pressure_GPa is not None and not self.ensemble.has_barostat:
            raise ValueError(
                f"schedule.pressure_GPa does not apply to kind = {self.ensemble.kind!r} "
                "(no barostat): use kind = 'npt' or remove it"
            )


def load_config(path: str | Path) -> MDConfig:
    """Parse an MD TOML file strictly (errors name the file and the key)."""
    return config_from_mapping(load_toml(path), source=str(path))


def config_from_mapping(data: dict | MDConfig, source: str = "<md config>") -> MDConfig:
    """An :class:`MDConfig` from a mapping; ``[ensemble]`` goes to its integrator's config."""
    if isinstance(data, dict) and "ensemble" in data:
        data = {**data, "ensemble": parse_ensemble(data["ensemble"], source)}
    return from_mapping(MDConfig, data, source=source)
