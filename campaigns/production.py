"""MD configs of the SiO2 campaign's production runs, and a small TOML writer for them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campaigns.sio2_campaign import Sizes


def production_structure(s: Sizes, replica: int) -> dict:
    """The MD ``[structure]`` table of a production run: beta-cristobalite repeated to at least
    ``production_atoms`` (a start the model has seen), or random insertion."""
    if s.production_start == "random":
        return {
            "builder": "random_sio2",
            "n_atoms": s.production_atoms,
            "density_g_cm3": s.production_density,
            "seed": replica,
        }
    cells = -(-s.production_atoms // 24)  # 24 atoms per cubic cristobalite cell
    repeat = [max(1, int(cells ** (1 / 3)))] * 3
    axis = 0
    while repeat[0] * repeat[1] * repeat[2] < cells:
        repeat[axis] += 1
        axis = (axis + 1) % 3
    return {"builder": "sio2_crystal", "crystal": "cristobalite", "repeat": repeat}


def melt_quench_config(s: Sizes, rate_K_ps: float, replica: int, model_dir: str) -> dict:
    """An NPT melt → quench → anneal MD config (piecewise-linear temperature schedule)."""
    quench_ps = (s.melt_K - 300.0) / rate_K_ps
    times = [0.0, s.melt_ps, s.melt_ps + quench_ps, s.melt_ps + quench_ps + s.anneal_ps]
    steps = int(round(times[-1] * 1000))
    return {
        "potential": model_dir,
        "steps": steps,
        "timestep_fs": 1.0,
        "seed": 1000 + replica,
        "initial_temperature_K": s.melt_K,
        "structure": production_structure(s, replica),
        "ensemble": {
            "kind": "npt",
            "temperature_K": s.melt_K,
            "pressure_GPa": 0.0,
            "damping_fs": 100.0,
            "barostat_damping_fs": 1000.0,
        },
        # The melt is held compressed (a 4000 K liquid at 0 GPa boils into a foam) and released
        # to 0 GPa during the quench.
        "schedule": {
            "time_ps": times,
            "temperature_K": [s.melt_K, s.melt_K, 300.0, 300.0],
            "pressure_GPa": [s.melt_GPa, s.melt_GPa, 0.0, 0.0],
        },
        "output": {
            "trajectory_every": max(steps // 50, 1),
            "thermo_every": max(steps // 50, 1),
            "checkpoint_every": max(steps // 10, 1),
        },
        "uncertainty": {"every": 50},
    }


def to_toml(data: dict, prefix: str = "") -> str:
    """Minimal TOML writer for MD configs (scalars, lists and nested tables)."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = [f"[{prefix}]"] if prefix and scalars else []
    lines += [
        f"{k} = {json.dumps(list(v) if isinstance(v, tuple) else v)}" for k, v in scalars.items()
    ]
    for k, v in tables.items():
        lines.append(to_toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(lines) + "\n"
