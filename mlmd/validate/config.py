"""The validation settings: state points, MD lengths, analysis choices, tolerances, targets.

One TOML file (``mlmd validate MODEL --config validate.toml``), parsed strictly by
:mod:`mlmd.config` (an unknown key is an error naming it and the valid ones)::

    [md]                        # the same for the model's and the reference's runs
    timestep_fs = 1.0
    damping_fs = 100.0          # Langevin time constant 1/γ (also the NPT thermostat)
    output_every_fs = 50.0      # trajectory frames and thermo samples
    reference_seeds = 2         # reference runs per state point (≥ 2: the noise floor)

    [liquid]                    # NVT at fixed density and the melt temperature
    temperature_K = 3500.0
    equilibration_ps = 2.0
    sampling_ps = 8.0
    [liquid.structure]          # an mlmd MD [structure] table (builder, dataset or extxyz)
    builder = "random_sio2"
    n_atoms = 1152
    density_g_cm3 = 2.2

    [glass]                     # NPT melt–quench; compared over the last schedule segment
    time_ps = [0, 4, 20, 24]
    temperature_K = [4000, 4000, 300, 300]
    pressure_GPa = [4, 4, 0, 0]

    [tolerances]                # see Tolerances
    pressure_GPa = 0.3

    [aposteriori]               # see APosterioriSpec
    frames_per_phase = 10

Defaults are issue 12's production check (1152 atoms, 3500 K, 2.2 g/cm³, 2 ps + 8 ps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlmd.config import from_mapping, load_toml
from mlmd.md.config import StructureConfig

PHASES = ("liquid", "supercooled", "glass")


def _default_structure() -> StructureConfig:
    return StructureConfig(builder="random_sio2", n_atoms=1152, density_g_cm3=2.2)


@dataclass(frozen=True)
class MDSpec:
    """MD settings shared by the model's and the reference's runs.

    Attributes:
        timestep_fs: integration step.
        damping_fs: thermostat time constant (Langevin 1/γ; NPT's thermostat too).
        output_every_fs: interval of trajectory frames and thermo samples.
        reference_seeds: reference runs per state point; their spread is the noise floor.
        seed: base seed; the model's run uses ``seed``, reference run k ``seed + 1 + k``.
        device: ``auto`` | ``cpu`` | ``cuda`` for mlmd's runs.
        torch_threads: CPU threads per run (0: OMP_NUM_THREADS, else all cores).
    """

    timestep_fs: float = 1.0
    damping_fs: float = 100.0
    output_every_fs: float = 50.0
    reference_seeds: int = 2
    seed: int = 1
    device: Literal["auto", "cpu", "cuda"] = "auto"
    torch_threads: int = 0

    def __post_init__(self) -> None:
        for name in ("timestep_fs", "damping_fs", "output_every_fs"):
            if getattr(self, name) <= 0:
                raise ValueError(f"md.{name} must be positive")
        if self.reference_seeds < 2:
            raise ValueError("md.reference_seeds must be ≥ 2 (two reference runs give the noise)")
        if self.seed < 0 or self.torch_threads < 0:
            raise ValueError("md.seed and md.torch_threads must be ≥ 0")

    @property
    def output_every(self) -> int:
        """The output interval in steps (at least 1)."""
        return max(1, round(self.output_every_fs / self.timestep_fs))


@dataclass(frozen=True)
class LiquidSpec:
    """The liquid: NVT (Langevin) at the start structure's density and ``temperature_K``;
    compared over the ``sampling_ps`` after ``equilibration_ps``."""

    enabled: bool = True
    temperature_K: float = 3500.0
    equilibration_ps: float = 2.0
    sampling_ps: float = 8.0
    structure: StructureConfig = field(default_factory=_default_structure)

    def __post_init__(self) -> None:
        if self.temperature_K <= 0 or self.sampling_ps <= 0 or self.equilibration_ps < 0:
            raise ValueError(
                "liquid.temperature_K and liquid.sampling_ps must be positive, "
                "liquid.equilibration_ps ≥ 0"
            )


@dataclass(frozen=True)
class GlassSpec:
    """The glass: an NPT melt–quench schedule (piecewise linear, as mlmd's ``[schedule]``),
    compared over its last segment (the anneal)."""

    enabled: bool = True
    time_ps: tuple[float, ...] = (0.0, 4.0, 20.0, 24.0)
    temperature_K: tuple[float, ...] = (4000.0, 4000.0, 300.0, 300.0)
    pressure_GPa: tuple[float, ...] = (4.0, 4.0, 0.0, 0.0)
    barostat_damping_fs: float = 1000.0
    compressibility_per_GPa: float = 0.05
    structure: StructureConfig = field(default_factory=_default_structure)

    def __post_init__(self) -> None:
        n = len(self.time_ps)
        if n < 2 or len(self.temperature_K) != n or len(self.pressure_GPa) != n:
            raise ValueError(
                "glass.time_ps, glass.temperature_K and glass.pressure_GPa need the same "
                "number (≥ 2) of entries"
            )
        if any(b < a for a, b in zip(self.time_ps, self.time_ps[1:], strict=False)):
            raise ValueError("glass.time_ps must not decrease")
        if self.time_ps[-1] <= self.time_ps[-2]:
            raise ValueError("glass: the last schedule segment (the anneal) must be longer than 0")

    @property
    def anneal_ps(self) -> tuple[float, float]:
        """The comparison window: the last schedule segment."""
        return self.time_ps[-2], self.time_ps[-1]


@dataclass(frozen=True)
class AnalysisSpec:
    """How the trajectories are analysed (the same for every run).

    Attributes:
        dr_A: g(r) bin width; r_max is half the smallest box width of all runs.
        angle_bin_deg: bond-angle histogram bin.
        angle_bonds: pairs whose bonds make the compared bond angles; empty: every unlike
            pair (A–B–A angles: O–Si–O, Si–O–Si), or the one species' own bonds.
        cutoffs_A: bond cutoffs per pair ``{"Si-O": 2.3}``; pairs not given use the first
            minimum of the first reference run's g(r) (the same cutoff for every run).
        diffusion_blocks: blocks of the sampling window for the error of D; D is the MSD
            slope over the second half of one block's lags, from all time origins.
        fsdp_q_max_A: |Q| range of the direct S(Q) of the glass (its FSDP position).
    """

    dr_A: float = 0.02
    angle_bin_deg: float = 1.0
    angle_bonds: tuple[str, ...] = ()
    cutoffs_A: dict[str, float] = field(default_factory=dict)
    diffusion_blocks: int = 4
    fsdp_q_max_A: float = 4.0

    def __post_init__(self) -> None:
        if self.dr_A <= 0 or self.angle_bin_deg <= 0 or self.fsdp_q_max_A <= 1.0:
            raise ValueError("analysis.dr_A, angle_bin_deg must be positive, fsdp_q_max_A > 1")
        if not 2 <= self.diffusion_blocks <= 10:
            raise ValueError("analysis.diffusion_blocks must be between 2 and 10")


@dataclass(frozen=True)
class Tolerances:
    """Pass/fail limits of the verdict (issue 12's defaults).

    Attributes:
        noise_allowance: a distance passes when ≤ this × the reference-vs-reference distance
            (1.5: one pair of reference runs estimates the noise only roughly).
        first_peak_A: least tolerance of a g(r) first-peak position (also ≥ allowance × the
            references' own difference); 0.05 Å ≈ the seed-to-seed scatter of Si–Si.
        diffusion_relative: |D_ML − D_ref| / D_ref per species.
        pressure_GPa: |P_ML − P_ref|.
        energy_meV_atom: |E_pot,ML − E_pot,ref| per atom.
        density_relative: glass density, |Δρ| / ρ_ref.
        angle_deg: glass mean bond angle of every type.
        fsdp_A: glass first sharp diffraction peak position, Å⁻¹.
        coordination_fraction: glass fraction of centres with the reference's most common
            coordination (SiO4 for silica).
    """

    noise_allowance: float = 1.5
    first_peak_A: float = 0.05
    diffusion_relative: float = 0.20
    pressure_GPa: float = 0.3
    energy_meV_atom: float = 10.0
    density_relative: float = 0.015
    angle_deg: float = 2.0
    fsdp_A: float = 0.03
    coordination_fraction: float = 0.01

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"tolerances.{name} must be positive")


@dataclass(frozen=True)
class APosterioriSpec:
    """Reference single points on frames production visits, per phase.

    Attributes:
        enabled: run part (a).
        frames_from: ``trajectories`` (frames of the given production trajectories, or of
            the model's glass run), ``replicas`` (small-cell ML-MD replicas of the glass
            schedule, labelled by the reference: for DFT), ``auto`` (trajectories for an
            in-process reference such as the teacher, replicas otherwise).
        frames_per_phase: frames drawn evenly from each phase's window.
        glass_transition_K: quench frames above it are ``supercooled``; None: the kink of
            the quench's enthalpy, else the middle of its temperature range.
        liquid_msd_A2: a run held at one temperature (no T_g given) is ``liquid`` when its
            atoms' mean squared displacement over the window exceeds this, else ``glass``
            (a glass only vibrates: ~0.1–0.3 Å²).
        replica_structure: start of the replicas (72–96 atoms).
        force_rmse_eV_A, energy_rmse_meV_atom: target errors per phase.
    """

    enabled: bool = True
    frames_from: Literal["auto", "trajectories", "replicas"] = "auto"
    frames_per_phase: int = 10
    glass_transition_K: float | None = None
    liquid_msd_A2: float = 1.0
    replica_structure: StructureConfig = field(
        default_factory=lambda: StructureConfig(builder="random_sio2", n_atoms=96)
    )
    force_rmse_eV_A: dict[str, float] = field(
        default_factory=lambda: {"liquid": 0.15, "supercooled": 0.15, "glass": 0.10}
    )
    energy_rmse_meV_atom: dict[str, float] = field(
        default_factory=lambda: {"liquid": 10.0, "supercooled": 10.0, "glass": 10.0}
    )

    def __post_init__(self) -> None:
        if self.frames_per_phase < 2:
            raise ValueError("aposteriori.frames_per_phase must be ≥ 2")
        for table in ("force_rmse_eV_A", "energy_rmse_meV_atom"):
            bad = sorted(set(getattr(self, table)) - set(PHASES))
            if bad:
                raise ValueError(f"aposteriori.{table}: unknown phase {bad[0]!r}; use {PHASES}")


@dataclass(frozen=True)
class ValidateConfig:
    """Everything ``mlmd validate`` does (see the module docstring)."""

    md: MDSpec = field(default_factory=MDSpec)
    liquid: LiquidSpec = field(default_factory=LiquidSpec)
    glass: GlassSpec = field(default_factory=GlassSpec)
    analysis: AnalysisSpec = field(default_factory=AnalysisSpec)
    tolerances: Tolerances = field(default_factory=Tolerances)
    aposteriori: APosterioriSpec = field(default_factory=APosterioriSpec)


def load_validate_config(path: str | Path | None) -> ValidateConfig:
    """The config of a TOML file (a ``[validate]`` table or top-level tables); defaults if None."""
    if path is None:
        return ValidateConfig()
    data = load_toml(path)
    if "validate" in data and len(data) == 1:
        return from_mapping(ValidateConfig, data["validate"], source=str(path), prefix="validate")
    return from_mapping(ValidateConfig, data, source=str(path))
