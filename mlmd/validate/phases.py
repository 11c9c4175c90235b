"""Phases of a production run from its stored schedule: liquid, supercooled, glass.

mlmd keeps a run's resolved config in the trajectory (CONTRACTS §1); the analysis cuts its
``[schedule]`` into segments (:func:`mlmd.analysis.window.segments`, each with the target
temperature at both ends). From them:

- ``liquid``: the second half of the melt hold (the first segment held at the highest
  temperature; its first half melts the start structure);
- ``supercooled``: the quench (the falling segments) while T ≥ T_g (given; else the
  caller's fit, :func:`mlmd.validate.aposteriori.quench_glass_transition`; else the middle
  of the quench's temperature range);
- ``glass``: the anneal (the last segment, held at constant temperature after the quench).

A run held at one temperature is one phase over its second half: ``liquid`` above T_g (or
when T_g is not given), else ``glass``. Windows are (start, end) in ps; the liquid's end is
the supercooled's start, and a frame there is the liquid's (:func:`frames_in`'s ``claimed``).
"""

from __future__ import annotations

import numpy as np

from mlmd.analysis.window import segments


def phase_windows(config: dict, glass_transition_K: float | None = None) -> dict[str, tuple]:
    """``{phase: (start_ps, end_ps)}`` of the phases the run's schedule has."""
    segs = [s for s in segments(config) if s.end_ps > s.start_ps and s.temperature_K]
    if not segs:
        return {}
    falling = [s for s in segs if s.temperature_K[1] < s.temperature_K[0]]
    if not falling:
        t, end = segs[0].temperature_K[0], segs[-1].end_ps
        above = glass_transition_K is None or t > glass_transition_K
        return {"liquid" if above else "glass": (0.5 * end, end)}
    out: dict[str, tuple] = {}
    top = max(s.temperature_K[0] for s in segs)
    hold = next((s for s in segs if s.temperature_K == (top, top)), None)
    if hold is not None:
        out["liquid"] = (0.5 * (hold.start_ps + hold.end_ps), hold.end_ps)
    hi, lo = falling[0].temperature_K[0], falling[-1].temperature_K[1]
    tg = 0.5 * (hi + lo) if glass_transition_K is None else glass_transition_K
    if tg < hi:
        out["supercooled"] = (falling[0].start_ps, _crossing(falling, max(tg, lo)))
    last = segs[-1]
    if last.temperature_K[0] == last.temperature_K[1] and last.start_ps >= falling[-1].end_ps:
        out["glass"] = (last.start_ps, last.end_ps)
    return out


def quench_window(config: dict) -> tuple[float, float] | None:
    """(start_ps, end_ps) of the quench (the falling segments), or None."""
    segs = [s for s in segments(config) if s.end_ps > s.start_ps and s.temperature_K]
    falling = [s for s in segs if s.temperature_K[1] < s.temperature_K[0]]
    return (falling[0].start_ps, falling[-1].end_ps) if falling else None


def _crossing(falling, temperature_K: float) -> float:
    """Time (ps) at which the falling schedule reaches ``temperature_K``."""
    for s in falling:
        ta, tb = s.temperature_K
        if tb <= temperature_K <= ta:
            return s.start_ps + (s.end_ps - s.start_ps) * (ta - temperature_K) / (ta - tb)
    return falling[-1].end_ps


def in_window(times_ps: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Mask of the frames whose time (ps, shape (n_frames,)) lies in ``window``, ends
    included (to 1e-6 ps)."""
    return (times_ps >= window[0] - 1e-6) & (times_ps <= window[1] + 1e-6)


def frames_in(
    times_ps: np.ndarray, window: tuple[float, float], n: int, claimed: np.ndarray | None = None
) -> np.ndarray:
    """Indices of at most ``n`` frames spread evenly over those with time in ``window``,
    leaving out the ``claimed`` ones (a mask: e.g. the frames of an earlier phase's window,
    so that a frame on the boundary of two phases counts in one)."""
    inside = in_window(times_ps, window)
    if claimed is not None:
        inside &= ~claimed
    inside = np.flatnonzero(inside)
    if len(inside) <= n:
        return inside
    return inside[np.unique(np.round(np.linspace(0, len(inside) - 1, n)).astype(int))]
