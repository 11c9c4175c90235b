"""A campaign's MD runs, worked out from its settings and its material before anything runs.

:func:`plan_campaign` turns a :class:`~mlmd.workflow.config.CampaignConfig` and a
:class:`~mlmd.materials.Material` into every MD config the campaign will run (exploration
each round, production per quench rate and replica), each parsed strictly by
:func:`mlmd.md.config.config_from_mapping` then. Paths that exist only once earlier steps
ran (the model, the start dataset, the output directory) are filled in at submission by
:func:`with_paths`; they do not change what is checked.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from mlmd.data import Frame
from mlmd.errors import ConfigError
from mlmd.md.config import config_from_mapping
from mlmd.workflow.config import CampaignConfig

#: Stand-ins for paths known only at submission (see :func:`with_paths`).
MODEL, STARTS, OUTPUT = "<model>", "<starts>", "<output>"
#: Stand-in for the reference's MD potential (set by the task that runs the reference).
REFERENCE = "<reference>"


@dataclass(frozen=True)
class MDRun:
    """One planned MD run: its name in the status, and its config mapping."""

    tag: str
    config: dict

    @property
    def steps(self) -> int:
        return int(self.config["steps"])


@dataclass(frozen=True)
class Plan:
    """Every MD run of a campaign (exploration runs are the same each round), and the checked
    configs of its later stages (:mod:`mlmd.workflow.plan_stages`; None: stage off)."""

    explore: tuple[MDRun, ...]
    production: tuple[MDRun, ...]
    schedule: dict  # the production melt–quench schedule at the first rate (for reports)
    reference_md: tuple[MDRun, ...] = ()  # the reference's own MD (first data)
    validation: object = None  # mlmd.validate.ValidateConfig
    glass_rows: dict | None = None  # plan_stages.glass_rows_spec: the glass's material rows
    stop: object = None  # mlmd.validate.APosterioriSpec of the rounds' stopping rule
    properties: dict | None = None  # the mlmd properties mapping


def melt_quench(cfg: CampaignConfig, material):
    """The material's ``[melt_quench]`` with the campaign's overrides in place."""
    p, mq = cfg.production, material.melt_quench
    given = {
        "melt_K": p.melt_K,
        "melt_GPa": p.melt_GPa,
        "melt_hold_ps": p.melt_hold_ps,
        "anneal_ps": p.anneal_ps,
    }
    if p.quench_rates_K_ps:
        given["quench_rates_K_ps"] = tuple(p.quench_rates_K_ps)
    return dataclasses.replace(mq, **{k: v for k, v in given.items() if v is not None})


def plan_campaign(cfg: CampaignConfig, material) -> Plan:
    """Every MD config of the campaign, each checked (a ConfigError names the run), after
    the names the campaign takes from the material (recipe, crystal) are checked."""
    _check_names(cfg, material)
    _check_cell_sizes(cfg, material)
    mq = melt_quench(cfg, material)
    explore = tuple(
        MDRun(f"run{r}-{path}", _explore_md(cfg, mq, r, path))
        for r, path in _cycled(cfg.explore.paths, cfg.explore.runs)
    )
    production = tuple(
        MDRun(f"{rate:g}K/ps-r{rep}", _production_md(cfg, mq, rate, rep))
        for rate in mq.quench_rates_K_ps
        for rep in range(cfg.production.replicas)
    )
    reference = tuple(
        MDRun(f"ref{r}-{path}", _reference_md(cfg, mq, r, path))
        for r, path in _cycled(cfg.reference_md.paths, cfg.reference_md.runs)
    )
    for run in (*explore, *production, *reference):
        config_from_mapping(run.config, source=f"campaign MD run {run.tag}")
    return Plan(explore, production, mq.schedule(mq.quench_rates_K_ps[0]), reference)


def _check_cell_sizes(cfg: CampaignConfig, material) -> None:
    """Every random cell the campaign will build holds whole formula units (an InputError
    naming the option; Cu64Zr36: multiples of 25 atoms)."""
    from mlmd.materials.structures import formula_counts

    sizes = {"explore.atoms": cfg.explore.atoms}
    if cfg.reference_md.runs:
        sizes["reference_md.atoms"] = cfg.reference_md.atoms
    if cfg.production.start == "random":
        sizes["production.atoms"] = cfg.production.atoms
    if cfg.validation.enabled:
        sizes["validation.atoms"] = cfg.validation.atoms
        sizes["validation.replica_atoms"] = cfg.validation.replica_atoms
    for field_name, n_atoms in sizes.items():
        if n_atoms:
            formula_counts(material, n_atoms, field=field_name)


def _check_names(cfg: CampaignConfig, material) -> None:
    """The start recipe and the production crystal exist in the material file."""
    wanted = [("start.recipe", cfg.start.recipe, material.start, "start")]
    if cfg.production.start == "crystal" and cfg.production.crystal:
        wanted.append(("production.crystal", cfg.production.crystal, material.crystals, "crystals"))
    if cfg.production.start == "crystal" and not material.crystals:
        wanted.append(("production.start", "crystal", {}, "crystals"))
    for key, name, table, section in wanted:
        if name not in table:
            raise ConfigError(
                f"campaign setting {key} = {name!r} is not in the material's [{section}]",
                file=material.path,
                field=section,
                fix=f"use one of {', '.join(sorted(table)) or '(none: add one, or use random)'}",
            )


def _cycled(paths: tuple[str, ...], runs: int) -> list[tuple[int, str]]:
    """(run, path) for ``runs`` runs, the paths cycled."""
    return [(r, paths[r % len(paths)]) for r in range(runs)]


def _explore_md(cfg: CampaignConfig, mq, run: int, path: str) -> dict:
    """Exploration run ``run`` along ``path`` with the ensemble: frames above sigma_lo are
    collected, the run stops (as exploration should) past 3 × sigma_hi."""
    e = cfg.explore
    config = _path_md(cfg, mq, path, steps=e.steps, frames=e.frames, run=run)
    config["uncertainty"] = {
        "every": e.check_every,
        "threshold_eV_A": e.sigma_lo_eV_A,
        "stop_threshold_eV_A": 3 * e.sigma_hi_eV_A,
        "dataset": OUTPUT + "/candidates.h5",
    }
    return config


def _reference_md(cfg: CampaignConfig, mq, run: int, path: str) -> dict:
    """Reference-MD run ``run`` along ``path`` (:class:`~mlmd.workflow.config.ReferenceMDConfig`):
    the potential is the reference's (:data:`REFERENCE`, set where it runs)."""
    r = cfg.reference_md
    config = _path_md(cfg, mq, path, steps=r.steps, frames=r.frames, run=run)
    return {**config, "potential": REFERENCE, "seed": 10_000 + cfg.seed * 1000 + run}


def _path_md(cfg: CampaignConfig, mq, path: str, *, steps: int, frames: int, run: int) -> dict:
    """An MD config of ``steps`` steps along one of :data:`~mlmd.workflow.config.EXPLORE_PATHS`
    from start structure ``run``, writing ``frames`` trajectory frames: ``langevin`` at the
    explore temperatures (cycled), ``melt`` the compressed melt (NPT at melt_K, melt_GPa),
    ``melt_quench`` the production schedule at its fastest rate compressed to ``steps``."""
    p = cfg.production
    thermostat = {"damping_fs": p.thermostat_fs}
    npt = {"kind": "npt", **thermostat, "barostat_damping_fs": p.barostat_fs}
    schedule = None
    if path == "langevin":
        temps = cfg.explore.temperatures_K or mq.explore_temperatures_K or (mq.melt_K,)
        start_K = temps[run % len(temps)]
        ensemble = {"kind": "langevin", "temperature_K": start_K, **thermostat}
    else:
        start_K = mq.melt_K
        ensemble = {**npt, "temperature_K": start_K, "pressure_GPa": mq.melt_GPa}
    if path == "melt_quench":
        full = mq.schedule(max(mq.quench_rates_K_ps))
        scale = steps * mq.timestep_fs / 1000.0 / full["time_ps"][-1]
        schedule = {**full, "time_ps": [t * scale for t in full["time_ps"]]}
    every = frame_interval(steps, frames)
    config = {
        "potential": MODEL,
        "steps": steps,
        "timestep_fs": mq.timestep_fs,
        "seed": cfg.seed * 100 + run,
        "initial_temperature_K": start_K,
        "structure": {"dataset": STARTS, "index": run},
        "ensemble": ensemble,
        "output": {
            "directory": OUTPUT + "/md",
            "trajectory_every": every,
            "thermo_every": every,
            "checkpoint_every": checkpoint_interval(steps, every),
        },
    }
    return config if schedule is None else {**config, "schedule": schedule}


def _production_md(cfg: CampaignConfig, mq, rate_K_ps: float, replica: int) -> dict:
    """NPT melt → linear quench → anneal of production start ``replica``."""
    p = cfg.production
    schedule = mq.schedule(rate_K_ps)
    steps_per_ps = 1000.0 / mq.timestep_fs
    steps = int(round(schedule["time_ps"][-1] * steps_per_ps))
    window_steps = min(mq.anneal_ps, mq.melt_hold_ps) * steps_per_ps  # glass and liquid
    every = frame_interval(window_steps, p.glass_frames)
    return {
        "potential": MODEL,
        "steps": steps,
        "timestep_fs": mq.timestep_fs,
        "seed": 1000 + replica + 100 * cfg.seed,
        "initial_temperature_K": mq.melt_K,
        "structure": {"dataset": STARTS, "index": replica},
        "ensemble": {
            "kind": "npt",
            "temperature_K": mq.melt_K,
            "pressure_GPa": mq.melt_GPa,
            "damping_fs": p.thermostat_fs,
            "barostat_damping_fs": p.barostat_fs,
        },
        "schedule": schedule,
        "output": {
            "directory": OUTPUT + "/md",
            "trajectory_every": every,
            "thermo_every": every,
            "checkpoint_every": checkpoint_interval(steps, every),
        },
        "uncertainty": {"every": every},
    }


def member_train_config(cfg: CampaignConfig, *, final: bool, init_from: str = ""):
    """The :class:`~mlmd.train.config.TrainConfig` each member of a round trains with: the
    campaign's ``[train]`` with its seed offset by the campaign's, continued from
    ``init_from`` (a model directory; "" from scratch) and, for the ``final`` model, the
    ``final_time_budget_s`` when one is set."""
    train = dataclasses.replace(cfg.train, seed=cfg.train.seed + cfg.seed, init_from=init_from)
    if final and cfg.final_time_budget_s:
        train = dataclasses.replace(train, time_budget_s=cfg.final_time_budget_s)
    return train


def frame_interval(window_steps: float, frames: int) -> int:
    """Steps between trajectory frames so a window of ``window_steps`` holds ≥ ``frames``."""
    return max(int(math.floor(window_steps / frames)), 1)


def checkpoint_interval(steps: int, output_every: int) -> int:
    """Steps between checkpoints of a run of ``steps`` steps: about every 10 % of it, never
    more often than its output (``output_every``), so a killed run loses at most ~10 %."""
    return max(steps // 10, output_every)


def with_paths(config: dict, *, model: str, starts: str, output: str) -> dict:
    """``config`` with the stand-ins replaced by real paths (strings anywhere inside)."""
    swap = {MODEL: model, STARTS: starts}

    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, str):
            return swap.get(value, value.replace(OUTPUT, output, 1))
        return value

    return fill(config)


def production_starts(cfg: CampaignConfig, material) -> list[Frame]:
    """One start structure per production replica: the seed crystal repeated to at least
    ``production.atoms`` atoms in a near-cubic supercell, or random insertion at the
    material's nominal density (seeded per replica)."""
    from mlmd.materials import crystal_structure, random_structure

    p = cfg.production
    if p.start == "random":
        return [
            random_structure(material, p.atoms, seed=cfg.seed * 1000 + r) for r in range(p.replicas)
        ]
    name = p.crystal or next(iter(material.crystals), "")
    unit = crystal_structure(material, name, (1, 1, 1))
    frame = crystal_structure(material, name, supercell(unit.cell, len(unit.numbers), p.atoms))
    return [frame] * p.replicas


def explore_starts(cfg: CampaignConfig, material) -> list[Frame]:
    """One random cell of ``explore.atoms`` atoms per exploration run, at the material's
    nominal density (each its own seed)."""
    return _random_cells(material, cfg.explore.atoms, cfg.explore.runs, cfg.seed * 1000 + 500)


def reference_md_starts(cfg: CampaignConfig, material) -> list[Frame]:
    """One random cell of ``reference_md.atoms`` atoms per reference-MD run (own seeds)."""
    r = cfg.reference_md
    return _random_cells(material, r.atoms, r.runs, cfg.seed * 1000 + 700)


def _random_cells(material, atoms: int, count: int, first_seed: int) -> list[Frame]:
    from mlmd.materials import random_structure

    return [random_structure(material, atoms, seed=first_seed + k) for k in range(count)]


def supercell(cell: np.ndarray, atoms_per_cell: int, atoms: int) -> tuple[int, int, int]:
    """Repeats (a, b, c) of a cell with ``atoms_per_cell`` atoms giving ≥ ``atoms`` atoms,
    the supercell as close to cubic as whole repeats allow (the thinnest direction grows)."""
    cells = -(-atoms // atoms_per_cell)
    volume = abs(np.linalg.det(cell))
    widths = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    side = (cells * volume) ** (1 / 3)
    repeat = np.maximum(np.floor(side / widths), 1).astype(int)
    while repeat.prod() < cells:
        repeat[np.argmin(repeat * widths)] += 1
    return tuple(int(r) for r in repeat)
