"""``run_properties(config)``: every property of a config, in order, into one summary.json.

Collective over the MPI communicator (like :func:`mlmd.md.runner.run_md`): MD segments run on
all ranks; analysis, ASE relaxations and file writing run on rank 0; every rank returns the
same summary. Each property writes into ``<output>/<property>/``; ``summary.json`` holds
``{"config": resolved config, "<property>": its summary, ...}``. Reruns reuse finished MD
segments (see :func:`mlmd.properties.segments.run_segment`).
"""

from __future__ import annotations

import json
from pathlib import Path

from mpi4py import MPI

from mlmd.config import from_mapping, to_mapping
from mlmd.errors import InputError
from mlmd.properties import stages_md, stages_static
from mlmd.properties.config import PROPERTIES, PropertiesConfig, load_properties_config
from mlmd.properties.segments import on_root, start_structure


def _config(config) -> PropertiesConfig:
    if isinstance(config, PropertiesConfig):
        return config
    if isinstance(config, dict):
        return from_mapping(PropertiesConfig, config, source="<properties config>")
    return load_properties_config(config)


def run_properties(
    config: PropertiesConfig | dict | str | Path,
    *,
    output: str | Path | None = None,
    only: list[str] | None = None,
    comm: MPI.Comm | None = None,
) -> dict:
    """Compute the properties of ``config`` (a :class:`PropertiesConfig`, mapping or TOML
    path); ``only`` restricts them to those names. Returns the summary (also written to
    ``<output>/summary.json``)."""
    from mlmd.md.process import set_threads

    cfg = _config(config)
    comm = comm or MPI.COMM_WORLD
    out = Path(output or cfg.output)
    names = [n for n in cfg.sections() if not only or n in only]
    unknown = sorted(set(only or ()) - set(PROPERTIES))
    if unknown or not names:
        raise InputError(
            f"nothing to compute for {only}" if not unknown else f"unknown property {unknown}",
            field="--only",
            fix=f"choose among the config's tables: {', '.join(cfg.sections())}",
        )
    set_threads(cfg.md.torch_threads, comm)
    summary = {"config": to_mapping(cfg)}
    for name in names:
        summary[name] = _one(cfg, name, out / name, comm)
        if comm.Get_rank() == 0:
            out.mkdir(parents=True, exist_ok=True)
            (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def _start(cfg: PropertiesConfig, section, comm):
    start = getattr(section, "structure", None) or cfg.structure
    if start is None:
        return None
    return on_root(start_structure, start, comm=comm)


def _one(cfg: PropertiesConfig, name: str, out: Path, comm) -> dict:
    section = getattr(cfg, name)
    md = cfg.md
    if name == "crystals":
        return on_root(stages_static.run_crystals, md, section, out, comm=comm)
    needs_start = name == "elastic" or not getattr(section, "trajectories", ())
    start = _start(cfg, section, comm) if needs_start else None
    if needs_start and start is None:
        raise InputError(
            f"[{name}] needs a start structure",
            field=f"{name}.structure",
            fix="add a [structure] table (or [<property>.structure], or trajectories = [...])",
        )
    if name == "elastic":
        return on_root(stages_static.run_elastic, md, section, out, start, comm=comm)
    if name in ("thermal_expansion", "density_curve"):
        return stages_md.run_scan(md, section, out, start, comm, kind=name)
    run = {
        "viscosity": stages_md.run_viscosity,
        "bulk_modulus": stages_md.run_bulk_modulus,
        "glass_transition": stages_md.run_glass_transition,
    }[name]
    return run(md, section, out, start, comm)
