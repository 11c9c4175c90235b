"""Piecewise-linear schedules of temperature and pressure (melt, hold, quench, anneal)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Schedule:
    """A value (K or GPa) linear between knots ``(time_ps[k], values[k])``, constant outside.

    A schedule with one knot is a constant.
    """

    time_ps: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.time_ps) != len(self.values) or not self.time_ps:
            raise ValueError("a schedule needs as many times as values, at least one")
        if any(b < a for a, b in zip(self.time_ps, self.time_ps[1:], strict=False)):
            raise ValueError("schedule times must not decrease")

    @classmethod
    def constant(cls, value: float) -> Schedule:
        return cls((0.0,), (float(value),))

    @classmethod
    def of(cls, time_ps: Sequence[float], values: Sequence[float]) -> Schedule:
        return cls(tuple(float(t) for t in time_ps), tuple(float(v) for v in values))

    def __call__(self, time_fs: float) -> float:
        """The value at ``time_fs`` (fs)."""
        return float(np.interp(time_fs * 1e-3, self.time_ps, self.values))
