"""``[ensemble]`` configs: one frozen dataclass per integrator, holding only its own keys.

The ``kind`` key picks the integrator (:data:`mlmd.md.integrators.INTEGRATORS`); the rest of
the table is parsed strictly into that integrator's config, so a key another integrator
takes (``barostat_damping_fs`` for ``langevin``) is an error naming the valid keys. Every
config has the target ``temperature_K`` (NVE uses it for the initial velocities when
``initial_temperature_K`` is not given); those with a barostat also have ``pressure_GPa``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


def _positive(obj, *names: str) -> None:
    for name in names:
        if getattr(obj, name) <= 0:
            raise ValueError(f"ensemble.{name} must be positive")


@dataclass(frozen=True)
class NVEConfig:
    """Velocity Verlet."""

    kind: Literal["nve"] = "nve"
    temperature_K: float = 300.0

    has_barostat = False

    def __post_init__(self) -> None:
        if self.temperature_K < 0:
            raise ValueError("ensemble.temperature_K must not be negative")


@dataclass(frozen=True)
class LangevinConfig:
    """BAOAB Langevin; ``damping_fs`` = 1/γ."""

    kind: Literal["langevin"] = "langevin"
    temperature_K: float = 300.0
    damping_fs: float = 100.0

    has_barostat = False

    def __post_init__(self) -> None:
        NVEConfig.__post_init__(self)
        _positive(self, "damping_fs")


@dataclass(frozen=True)
class NoseHooverChainConfig:
    """Nosé–Hoover chain; ``damping_fs`` = τ."""

    kind: Literal["nose_hoover_chain"] = "nose_hoover_chain"
    temperature_K: float = 300.0
    damping_fs: float = 100.0
    chain_length: int = 3

    has_barostat = False

    def __post_init__(self) -> None:
        LangevinConfig.__post_init__(self)
        if self.chain_length < 1:
            raise ValueError("ensemble.chain_length must be at least 1")


@dataclass(frozen=True)
class NPTConfig:
    """BAOAB Langevin + stochastic cell rescaling."""

    kind: Literal["npt"] = "npt"
    temperature_K: float = 300.0
    pressure_GPa: float = 0.0
    damping_fs: float = 100.0
    barostat_damping_fs: float = 1000.0
    compressibility_per_GPa: float = 0.03
    coupling: Literal["isotropic", "per_axis"] = "isotropic"

    has_barostat = True

    def __post_init__(self) -> None:
        LangevinConfig.__post_init__(self)
        _positive(self, "barostat_damping_fs", "compressibility_per_GPa")


@dataclass(frozen=True)
class BerendsenConfig:
    """Berendsen weak coupling (equilibration only); ``barostat = true`` also couples P."""

    kind: Literal["berendsen"] = "berendsen"
    temperature_K: float = 300.0
    pressure_GPa: float = 0.0
    damping_fs: float = 100.0
    barostat: bool = False
    barostat_damping_fs: float = 1000.0
    compressibility_per_GPa: float = 0.03

    @property
    def has_barostat(self) -> bool:
        return self.barostat

    def __post_init__(self) -> None:
        NPTConfig.__post_init__(self)


#: Any integrator's config (the ``ensemble`` field of :class:`mlmd.md.config.MDConfig`).
EnsembleConfig = NVEConfig | LangevinConfig | NoseHooverChainConfig | NPTConfig | BerendsenConfig
