"""A glass campaign's settings: strict frozen dataclasses, parsed and checked in the campaign
process before anything is submitted (a misspelled key or an impossible size is an error
naming the preset or file and the dotted key, exit 2, not a worker's traceback an hour in).

The material (elements, crystals, melt–quench schedule, references, experiment) is a
material file (:mod:`mlmd.materials`); this is everything else: how big, how long, how many.
A value left at ``None`` (or an empty tuple) takes the material's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlmd.atomic import write_text
from mlmd.config import from_mapping, load_toml, to_mapping
from mlmd.train.config import TrainConfig

#: What an exploration run can do (see :class:`ExploreConfig`).
EXPLORE_PATHS = ("melt_quench", "melt", "langevin")


def _positive(owner: str, **values: float) -> None:
    for name, value in values.items():
        if value is not None and not value > 0:
            raise ValueError(f"{owner}.{name} = {value} must be > 0")


def _check_paths(owner: str, paths: tuple[str, ...]) -> None:
    """ValueError for an empty ``paths`` or one not in :data:`EXPLORE_PATHS`."""
    bad = [p for p in paths if p not in EXPLORE_PATHS] or ([] if paths else [""])
    if bad:
        raise ValueError(f"{owner}.paths: {bad[0]!r}; use some of {', '.join(EXPLORE_PATHS)}")


@dataclass(frozen=True)
class StartConfig:
    """``[start]``: the first, unlabelled frames (a ``[start.RECIPE]`` of the material)."""

    recipe: str = "small"
    frames: int = 0  # 0: the recipe's own count

    def __post_init__(self) -> None:
        if self.frames < 0:
            raise ValueError(f"start.frames = {self.frames} must be ≥ 0 (0: the recipe's)")


@dataclass(frozen=True)
class ExploreConfig:
    """``[explore]``: short MD with the ensemble each round; frames whose force spread (max
    over atoms, eV/Å) is above ``sigma_lo`` are candidates, and at most ``select_cap`` of those
    inside the trust window [sigma_lo, sigma_hi] go to the reference.

    ``paths`` (cycled over the runs) say what each run does:

    - ``melt_quench``: the production path itself in a small cell: the production schedule
      (melt hold at melt_K and melt_GPa, quench, anneal at glass_K and glass_GPa, NPT)
      compressed in time to ``steps``;
    - ``melt``: the compressed melt, NPT at melt_K and melt_GPa;
    - ``langevin``: fixed-temperature Langevin NVT at ``temperatures_K`` (cycled).

    Runs start from random cells of ``atoms`` atoms at the material's nominal density (one
    per run), or from the start frames (``atoms`` = 0). Each writes ``frames`` trajectory
    frames: the production-like frames of the rounds' a-posteriori check.
    """

    runs: int = 4
    steps: int = 300
    paths: tuple[str, ...] = ("langevin",)
    atoms: int = 0
    temperatures_K: tuple[float, ...] = ()  # (): the material's explore_temperatures_K
    check_every: int = 20  # steps between two spread checks
    frames: int = 20
    sigma_lo_eV_A: float = 0.05
    sigma_hi_eV_A: float = 1.5
    select_cap: int = 8

    def __post_init__(self) -> None:
        if self.runs < 0 or self.steps < 1 or self.check_every < 1 or self.select_cap < 1:
            raise ValueError("explore.runs ≥ 0, steps, check_every and select_cap ≥ 1")
        _check_paths("explore", self.paths)
        if self.atoms < 0 or self.frames < 1:
            raise ValueError("explore.atoms must be ≥ 0 (0: the start frames), frames ≥ 1")
        _positive("explore", sigma_lo_eV_A=self.sigma_lo_eV_A)
        if not self.sigma_hi_eV_A > self.sigma_lo_eV_A:
            raise ValueError("explore.sigma_hi_eV_A must be above sigma_lo_eV_A")
        if min(self.temperatures_K, default=1.0) <= 0:
            raise ValueError("explore.temperatures_K must be > 0")


@dataclass(frozen=True)
class ReferenceMDConfig:
    """``[reference_md]``: the reference's own MD along the production path, whose frames
    are labelled and join the start frames before the first model trains (as AIMD seeds a
    DeePMD data set). Only where the reference runs MD (the teacher, lammps); a reference
    that cannot (DFT) skips it, with a note in the status and the report.

    Each of ``runs`` runs (``paths`` cycled, as :class:`ExploreConfig`'s: ``melt_quench``
    is the production schedule compressed to ``steps``) starts from its own random cell of
    ``atoms`` atoms at the material's nominal density and writes ``frames`` frames, every
    one of them labelled: the freshly inserted cell, the melt, the supercooled liquid and
    the glass the model will meet in production.
    """

    runs: int = 0
    steps: int = 4000
    paths: tuple[str, ...] = ("melt_quench",)
    atoms: int = 96
    frames: int = 100

    def __post_init__(self) -> None:
        if self.runs < 0 or self.steps < 1 or self.atoms < 2 or self.frames < 1:
            raise ValueError("reference_md.runs ≥ 0, steps ≥ 1, atoms ≥ 2, frames ≥ 1")
        _check_paths("reference_md", self.paths)


@dataclass(frozen=True)
class ProductionConfig:
    """``[production]``: the melt–quench runs with the final model (replicas × rates).

    The schedule is the material's ``[melt_quench]`` with any value given here in its place.
    The trajectory interval is chosen so the anneal (the glass window) holds at least
    ``glass_frames`` frames, and the melt hold (the liquid window) at least as many.
    """

    atoms: int = 1000
    start: str = "crystal"  # "crystal" (a supercell of `crystal`) or "random" (insertion)
    crystal: str = ""  # a [crystals.NAME] of the material; "": its first
    replicas: int = 1
    quench_rates_K_ps: tuple[float, ...] = ()
    melt_K: float | None = None
    melt_GPa: float | None = None
    melt_hold_ps: float | None = None
    anneal_ps: float | None = None
    glass_frames: int = 20
    thermostat_fs: float = 100.0  # Langevin/NPT thermostat time constant
    barostat_fs: float = 1000.0

    def __post_init__(self) -> None:
        if self.start not in ("crystal", "random"):
            raise ValueError(f"production.start = {self.start!r}: use 'crystal' or 'random'")
        if self.atoms < 1 or self.replicas < 1 or self.glass_frames < 2:
            raise ValueError("production.atoms and replicas must be ≥ 1, glass_frames ≥ 2")
        _positive(
            "production",
            melt_K=self.melt_K,
            melt_hold_ps=self.melt_hold_ps,
            anneal_ps=self.anneal_ps,
            thermostat_fs=self.thermostat_fs,
            barostat_fs=self.barostat_fs,
        )
        if min(self.quench_rates_K_ps, default=1.0) <= 0:
            raise ValueError("production.quench_rates_K_ps must be > 0")


def _issue12_force_targets() -> dict[str, float]:
    return {"liquid": 0.15, "supercooled": 0.15, "glass": 0.10}


def _energy_targets() -> dict[str, float]:
    return {"liquid": 10.0, "supercooled": 10.0, "glass": 10.0}


@dataclass(frozen=True)
class ValidationConfig:
    """``[validation]``: the final model against its reference (:mod:`mlmd.validate`), a
    stage of every campaign.

    (b) Where the reference can run MD (teacher, lammps): the reference beside the model at
    the study's state points, from the same random cell of ``atoms`` atoms at the material's
    nominal density: the liquid (Langevin NVT at ``liquid_K``, default the melt temperature)
    and the glass (the production schedule at its fastest rate), ``reference_seeds`` reference
    runs giving the noise floor. (a) A-posteriori errors per phase on ``frames_per_phase``
    frames of the production runs (a reference that runs in process) or of small-cell ML-MD
    replicas of the glass schedule (``replica_atoms``; DFT), against the per-phase targets.
    ``tolerances`` are :class:`mlmd.validate.Tolerances` keys (issue 12's defaults).
    Material rows of the glass (:mod:`mlmd.workflow.glass_rows`): the mean coordination of
    every bonded pair within ``coordination_mean_tolerance`` neighbours, and the fraction of
    full icosahedra around each species of ``icosahedra_centres`` (Voronoi over
    ``voronoi_frames`` frames of the anneal) within ``icosahedral_fraction_tolerance``.
    """

    enabled: bool = True
    atoms: int = 192
    liquid_K: float | None = None
    equilibration_ps: float = 2.0
    sampling_ps: float = 8.0
    glass: bool = True
    reference_seeds: int = 2
    output_every_fs: float = 50.0
    frames_per_phase: int = 10
    replica_atoms: int = 96
    force_rmse_eV_A: dict[str, float] = field(default_factory=_issue12_force_targets)
    energy_rmse_meV_atom: dict[str, float] = field(default_factory=_energy_targets)
    tolerances: dict[str, float] = field(default_factory=dict)
    coordination_mean_tolerance: float = 0.05
    icosahedra_centres: list[str] = field(default_factory=list)
    icosahedral_fraction_tolerance: float = 0.03
    voronoi_frames: int = 5

    def __post_init__(self) -> None:
        if self.voronoi_frames < 1:
            raise ValueError("validation.voronoi_frames must be ≥ 1")
        if self.atoms < 2 or self.replica_atoms < 2 or self.frames_per_phase < 2:
            raise ValueError("validation.atoms, replica_atoms and frames_per_phase must be ≥ 2")
        _positive(
            "validation",
            liquid_K=self.liquid_K,
            sampling_ps=self.sampling_ps,
            output_every_fs=self.output_every_fs,
            coordination_mean_tolerance=self.coordination_mean_tolerance,
            icosahedral_fraction_tolerance=self.icosahedral_fraction_tolerance,
        )


@dataclass(frozen=True)
class StopConfig:
    """``[stop]``: active learning stops adding rounds once a round's model is inside the
    validation's per-phase target errors (``[validation]`` force_rmse_eV_A,
    energy_rmse_meV_atom) on ``frames_per_phase`` frames of its own exploration runs
    (production-like: give ``explore.paths`` a ``melt_quench``), labelled by the reference:
    validation (a) on production-like frames. ``iterations`` stays the maximum."""

    enabled: bool = False
    frames_per_phase: int = 4

    def __post_init__(self) -> None:
        if self.frames_per_phase < 2:
            raise ValueError("stop.frames_per_phase must be ≥ 2")


@dataclass(frozen=True)
class CampaignConfig:
    """A whole glass campaign (see the module docstring).

    Attributes:
        material: the material file.
        reference: a label of the material's ``[references]``; "": its default.
        iterations: active-learning rounds (train → explore → select → label → merge).
        members: ensemble members per training.
        seed: base seed of everything random (start frames, MD, training).
        reference_md: the reference's own MD as first data (:class:`ReferenceMDConfig`).
        train: how each member trains (:class:`~mlmd.train.config.TrainConfig`).
        continue_training: each round's members start from the previous round's (member i
            from member i: ``train.init_from``), so the final model has trained for every
            round's budget; the first round starts from scratch.
        final_time_budget_s: each member's ``train.time_budget_s`` for the final model, the
            one production and validation run (0: the rounds' budget). The rounds' models
            only explore, so a study can train them briefly and the final model long.
        properties: optional property stages with the final model: tables of a
            ``mlmd properties`` config (:class:`mlmd.properties.PropertiesConfig`) without
            ``output``, ``md.potential`` and ``structure``, which the campaign sets (the
            model, and the production glass: the last frame of the first run).
    """

    material: str
    reference: str = ""
    iterations: int = 2
    members: int = 4
    seed: int = 0
    start: StartConfig = field(default_factory=StartConfig)
    reference_md: ReferenceMDConfig = field(default_factory=ReferenceMDConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    continue_training: bool = False
    final_time_budget_s: float = 0.0
    explore: ExploreConfig = field(default_factory=ExploreConfig)
    production: ProductionConfig = field(default_factory=ProductionConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    properties: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.iterations < 0 or self.members < 1 or self.seed < 0:
            raise ValueError("iterations and seed must be ≥ 0, members ≥ 1")
        if not self.final_time_budget_s >= 0:
            raise ValueError("final_time_budget_s must be ≥ 0 (0: train.time_budget_s)")


def campaign_config(data: dict[str, Any], source: str) -> CampaignConfig:
    """Parse a campaign mapping strictly (``source`` names it in errors)."""
    return from_mapping(CampaignConfig, data, source=source)


def load_campaign_toml(path: str | Path) -> CampaignConfig:
    """Parse a campaign TOML file strictly."""
    return campaign_config(load_toml(path), str(path))


def write_json(path: str | Path, config: Any) -> str:
    """Write a config dataclass (or mapping) as JSON into a step's directory; returns the
    path. What a worker reads back with :func:`load_campaign_json` / :func:`load_train_json`."""
    write_text(path, json.dumps(to_mapping(config), indent=2, sort_keys=True))
    return str(path)


def load_campaign_json(path: str | Path) -> CampaignConfig:
    return campaign_config(json.loads(Path(path).read_text()), str(path))


def load_train_json(path: str | Path) -> TrainConfig:
    return from_mapping(TrainConfig, json.loads(Path(path).read_text()), source=str(path))


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """TOML text of a config mapping (scalars, lists and nested tables; ``None`` values are
    left out: they are the defaults). What ``mlmd md run`` reads."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) and v is not None}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = [f"[{prefix}]"] if prefix and scalars else []
    lines += [f"{k} = {json.dumps(to_mapping(v))}" for k, v in scalars.items()]
    for k, v in tables.items():
        lines.append(to_toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(lines) + "\n"


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s keys in its place, tables merged key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
