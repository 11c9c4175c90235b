"""Phases of a production run from its stored schedule: liquid, supercooled, glass.

mlmd keeps a run's resolved config in the trajectory (``/parameters`` attrs ``config``,
CONTRACTS §1), whose ``[schedule]`` is piecewise linear in (time_ps, temperature_K). With
its segments:

- ``liquid``: the second half of the melt hold (the first segment held at the highest
  temperature; its first half melts the start structure);
- ``supercooled``: the quench (the descending segments) while T ≥ T_g;
- ``glass``: the anneal (the last segment, held at the final temperature, after the quench).

A run without a temperature schedule is one phase over its second half: ``liquid`` above
T_g (or when T_g is not given), else ``glass``. Windows are in ps.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from mlmd.errors import InputError


def stored_config(trajectory: Path) -> dict:
    """The run config stored in an mlmd H5MD trajectory."""
    try:
        with h5py.File(trajectory, "r") as f:
            return json.loads(f["parameters"].attrs["config"])
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(
            f"no stored run config ({type(exc).__name__}: {exc})",
            file=str(trajectory),
            field="parameters/config",
            fix="give a trajectory written by `mlmd md run`",
        ) from None


def phase_windows(config: dict, glass_transition_K: float | None = None) -> dict[str, tuple]:
    """``{phase: (start_ps, end_ps)}`` of the phases the schedule has (module docstring)."""
    schedule = config.get("schedule") or {}
    times = list(schedule.get("time_ps") or [])
    temps = list(schedule.get("temperature_K") or [])
    if len(times) < 2 or not temps:
        end = config["steps"] * config.get("timestep_fs", 1.0) / 1e3
        t = config.get("ensemble", {}).get("temperature_K", 0.0)
        above = glass_transition_K is None or t > glass_transition_K
        return {"liquid" if above else "glass": (0.5 * end, end)}
    segments = list(zip(times, times[1:], temps, temps[1:], strict=False))
    out: dict[str, tuple] = {}
    hold = next((s for s in segments if s[2] == s[3] == max(temps) and s[1] > s[0]), None)
    if hold is not None:
        out["liquid"] = (0.5 * (hold[0] + hold[1]), hold[1])
    falling = [k for k, s in enumerate(segments) if s[3] < s[2]]
    if falling:
        t0, t1 = segments[falling[0]][0], segments[falling[-1]][1]
        hi, lo = segments[falling[0]][2], segments[falling[-1]][3]
        tg = 0.5 * (hi + lo) if glass_transition_K is None else glass_transition_K
        if tg < hi:
            span = [(a, b, ta, tb) for a, b, ta, tb in segments if a >= t0 and b <= t1]
            out["supercooled"] = (t0, _crossing(span, max(tg, lo)))
        last = segments[-1]
        if last[2] == last[3] == temps[-1] and last[1] > last[0] and last[0] >= t1:
            out["glass"] = (last[0], last[1])
    return out


def _crossing(segments, temperature_K: float) -> float:
    """Time (ps) at which the falling schedule reaches ``temperature_K``."""
    for a, b, ta, tb in segments:
        if tb <= temperature_K <= ta and ta > tb:
            return a + (b - a) * (ta - temperature_K) / (ta - tb)
    return segments[-1][1]


def frames_in(times_ps: np.ndarray, window: tuple[float, float], n: int) -> np.ndarray:
    """Indices of at most ``n`` frames spread evenly over those with time in ``window``."""
    inside = np.flatnonzero((times_ps >= window[0] - 1e-6) & (times_ps <= window[1] + 1e-6))
    if len(inside) <= n:
        return inside
    return inside[np.unique(np.round(np.linspace(0, len(inside) - 1, n)).astype(int))]
