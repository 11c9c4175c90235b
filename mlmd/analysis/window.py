"""Analysis windows: which frames of a trajectory an analysis uses.

A :class:`Window` is one of

- ``all``: every frame (the default);
- ``time_ps:A:B``: frames with A ≤ t ≤ B ps (either bound may be empty: open);
- ``steps:A:B``: frames with A ≤ MD step ≤ B;
- ``segment:K``: the frames of schedule segment K of the MD run (K < 0 counts from the end,
  −1 = the last segment: the anneal of a melt–quench).

Segments come from the run config that mlmd stores in the trajectory (``/parameters``
attribute ``config``): the knots of ``[schedule] time_ps`` cut the run [0, steps ×
timestep_fs] into consecutive segments [t_k, t_k+1] (both ends included; a knot repeated or
outside the run adds none); a run without a schedule is one segment. Each segment carries
the targets at its ends (temperature_K, pressure_GPa), so a report can say "the anneal at
300 K and 0 GPa". ``--frames`` (a Python slice) then thins the frames inside the window.

Every summary records the window it used (:func:`WindowSelection.record`):
``{"kind", "start_ps", "end_ps", "frames", ...}``. A window with no frames is an
:class:`~mlmd.errors.InputError` naming the option (exit 2).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np

from mlmd.analysis.trajectory import TrajectoryReader
from mlmd.errors import InputError

Kind = Literal["all", "time_ps", "steps", "segment"]

#: CLI option of each window kind (error messages name it).
OPTION = {"all": "--frames", "time_ps": "--time-ps", "steps": "--steps", "segment": "--segment"}
#: Tolerance (ps) of time bounds: frames are written at times like 20.000000000004 ps.
TIME_TOL_PS = 1e-6


@dataclasses.dataclass(frozen=True)
class Window:
    """Which frames to analyse (see the module docstring). ``start``/``end`` are ps for
    ``time_ps`` and steps for ``steps`` (None = open); ``segment`` is K for ``segment``."""

    kind: Kind = "all"
    start: float | None = None
    end: float | None = None
    segment: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in OPTION:
            raise ValueError(f"unknown window kind {self.kind!r}; valid: {', '.join(OPTION)}")
        if self.kind == "segment" and self.segment is None:
            raise ValueError("a segment window needs its index")
        lo, hi = self.start, self.end
        if lo is not None and hi is not None and hi < lo:
            raise ValueError(f"window end {hi} is before its start {lo}")

    @classmethod
    def parse(cls, text: str | Window | None) -> Window:
        """``"time_ps:A:B"``, ``"steps:A:B"``, ``"segment:K"``, ``"all"`` (or a Window)."""
        if text is None or isinstance(text, Window):
            return text or cls()
        kind, _, rest = str(text).strip().partition(":")
        option = OPTION.get(kind, "window")
        try:
            if kind == "all" and not rest:
                return cls()
            if kind == "segment":
                return cls("segment", segment=int(rest))
            if kind in ("time_ps", "steps"):
                lo, sep, hi = rest.partition(":")
                if not sep:
                    raise ValueError("START:END")
                cast = float if kind == "time_ps" else int
                bounds = [cast(x) if x.strip() else None for x in (lo, hi)]
                if any(b is not None and not math.isfinite(b) for b in bounds):
                    raise ValueError("not finite")
                return cls(kind, start=bounds[0], end=bounds[1])
        except ValueError as exc:
            raise InputError(
                f"'{text}' is not a window ({exc})",
                field=option,
                fix="e.g. --time-ps 20:40, --steps 1000:5000, --segment -1",
            ) from None
        raise InputError(
            f"'{text}' is not a window",
            field="window",
            fix="time_ps:A:B, steps:A:B, segment:K or all",
        )

    def text(self) -> str:
        """The string form that :meth:`parse` reads back."""
        if self.kind == "all":
            return "all"
        if self.kind == "segment":
            return f"segment:{self.segment}"
        lo = "" if self.start is None else f"{self.start:g}"
        hi = "" if self.end is None else f"{self.end:g}"
        return f"{self.kind}:{lo}:{hi}"


@dataclasses.dataclass(frozen=True)
class Segment:
    """Schedule segment ``index`` of a run: [start_ps, end_ps] with targets at both ends
    (``temperature_K``/``pressure_GPa`` = (start, end); None when the run has no such target)."""

    index: int
    start_ps: float
    end_ps: float
    temperature_K: tuple[float, float] | None
    pressure_GPa: tuple[float, float] | None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _target(knots: list[float], values, constant, t_ps: float) -> float | None:
    if values:
        return float(np.interp(t_ps, knots, values))
    return None if constant is None else float(constant)


def segments(config: dict) -> list[Segment]:
    """The schedule segments of an MD run config (the mapping stored in the trajectory)."""
    schedule = config.get("schedule") or {}
    ensemble = config.get("ensemble") or {}
    knots = [float(t) for t in schedule.get("time_ps") or ()]
    end_ps = float(config.get("steps", 0)) * float(config.get("timestep_fs", 1.0)) / 1e3
    if end_ps <= 0 and knots:
        end_ps = knots[-1]
    inner = (t for t in knots if TIME_TOL_PS < t < end_ps - TIME_TOL_PS)
    bounds = sorted({0.0, end_ps, *inner})  # (a knot at the end is the end: no sliver)
    if len(bounds) == 1:
        bounds = [0.0, 0.0]
    out = []
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        ends = {}
        for name, key in (("temperature_K", "temperature_K"), ("pressure_GPa", "pressure_GPa")):
            a = _target(knots, schedule.get(key), ensemble.get(key), lo)
            b = _target(knots, schedule.get(key), ensemble.get(key), hi)
            ends[name] = None if a is None else (a, b)
        out.append(Segment(k, lo, hi, **ends))
    return out


def stored_run_config(reader: TrajectoryReader, needed_for: str, alternative: str = "") -> dict:
    """The MD run config that ``mlmd md run`` stores in its trajectory (``/parameters``
    attribute ``config``), whose schedule gives the segments. A trajectory without one (not
    written by mlmd) is an :class:`InputError` (exit 2) naming the file, that field, what
    needed it (``needed_for``, e.g. ``"--segment"``) and the fix, with ``alternative`` (a way
    that needs no config) when there is one."""
    config = reader.run_config()
    if config is None:
        fix = "give a trajectory written by `mlmd md run`"
        raise InputError(
            f"the trajectory stores no MD run config (its schedule), needed for {needed_for}",
            file=str(reader.path),
            field="parameters (attribute config)",
            fix=f"{fix}, or {alternative}" if alternative else fix,
        )
    return config


@dataclasses.dataclass(frozen=True)
class WindowSelection:
    """The frames of a window: ``selection`` (a slice over the trajectory's frames for the
    readers), the window, its bounds in ps and the segment (if any)."""

    window: Window
    selection: slice
    start_ps: float | None
    end_ps: float | None
    segment: Segment | None = None

    def record(self, steps: np.ndarray, times_fs: np.ndarray) -> dict:
        """The summary's ``window`` entry, given the steps and times of the analysed frames."""
        out = {
            "kind": self.window.kind,
            "text": self.window.text(),
            "start_ps": self.start_ps if self.start_ps is not None else times_fs[0] / 1e3,
            "end_ps": self.end_ps if self.end_ps is not None else times_fs[-1] / 1e3,
            "frames": int(len(steps)),
            "steps": [int(steps[0]), int(steps[-1])],
            "frame_time_ps": [float(times_fs[0] / 1e3), float(times_fs[-1] / 1e3)],
        }
        if self.segment is not None:
            out["segment"] = self.segment.to_dict()
        return out

    def label(self, record: dict) -> str:
        """One line for plots and reports: which frames these numbers come from."""
        head = {"all": "all frames", "time_ps": "time window", "steps": "step window"}
        if self.segment is not None:
            name = f"segment {self.segment.index}"
            t = self.segment.temperature_K
            if t is not None:
                name += f" ({t[0]:g}→{t[1]:g} K)" if t[0] != t[1] else f" ({t[0]:g} K)"
        else:
            name = head[self.window.kind]
        return f"{name}: {record['start_ps']:g}–{record['end_ps']:g} ps, {record['frames']} frames"


def _compose(lo: int, hi: int, frames: slice) -> slice:
    """The slice of ``range(lo, hi)[frames]`` over the whole trajectory."""
    r = range(lo, hi)[frames]
    stop = None if r.stop < 0 else r.stop
    return slice(r.start, stop, r.step)


def _segment(reader: TrajectoryReader, k: int) -> Segment:
    segs = segments(stored_run_config(reader, "--segment", alternative="use --time-ps A:B"))
    if not -len(segs) <= k < len(segs):
        listing = "; ".join(f"{s.index}: {s.start_ps:g}–{s.end_ps:g} ps" for s in segs)
        raise InputError(
            f"segment {k} does not exist: the run has {len(segs)} ({listing})",
            file=str(reader.path),
            field="--segment",
            fix=f"use 0..{len(segs) - 1} or −1 for the last",
        )
    return segs[k]


def select(reader: TrajectoryReader, window: Window | str | None, frames: slice) -> WindowSelection:
    """The frames of ``window`` (then thinned by ``frames``) in ``reader``'s trajectory."""
    window = Window.parse(window)
    if window.kind == "all":
        return WindowSelection(window, frames, None, None)
    steps, times_fs = reader.frame_times()
    t_ps = times_fs / 1e3
    seg = None
    if window.kind == "segment":
        seg = _segment(reader, int(window.segment))
        lo, hi, values, tol = seg.start_ps, seg.end_ps, t_ps, TIME_TOL_PS
    elif window.kind == "time_ps":
        lo, hi, values, tol = window.start, window.end, t_ps, TIME_TOL_PS
    else:
        lo, hi, values, tol = window.start, window.end, steps, 0
    inside = np.ones(len(values), dtype=bool)
    if lo is not None:
        inside &= values >= lo - tol
    if hi is not None:
        inside &= values <= hi + tol
    where = np.flatnonzero(inside)
    if len(where) == 0:
        _empty(reader, window, steps, t_ps)
    if not inside[where[0] : where[-1] + 1].all():
        raise InputError(
            "frame times are not increasing, so a window is not a contiguous range of frames",
            file=str(reader.path),
            field=OPTION[window.kind],
            fix="analyse with --frames instead",
        )
    selection = _compose(int(where[0]), int(where[-1]) + 1, frames)
    if not len(range(len(values))[selection]):
        _empty(reader, window, steps, t_ps, thinned=True)
    if window.kind == "steps":  # report the bounds in ps from the frames themselves
        lo = hi = None
    return WindowSelection(window, selection, lo, hi, seg)


def _empty(reader, window: Window, steps, t_ps, thinned: bool = False) -> None:
    span = (
        f"its {len(steps)} frames span {t_ps[0]:g}–{t_ps[-1]:g} ps (steps {steps[0]}–{steps[-1]})"
        if len(steps)
        else "it has no frames"
    )
    what = "after --frames thinning " if thinned else ""
    raise InputError(
        f"the window {window.text()} holds no frames {what}({span})",
        file=str(reader.path),
        field=OPTION[window.kind],
        fix="choose bounds inside the trajectory (for a killed run, an earlier segment)",
    )
