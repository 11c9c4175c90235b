"""Temperature/pressure schedules: linear between knots (times in ps, called with fs),
constant outside them; malformed knots are refused."""

from __future__ import annotations

import pytest

from mlmd.md.schedule import Schedule


def test_linear_between_knots_and_constant_outside():
    melt_quench = Schedule.of([0, 10, 30], [3000, 3000, 300])  # hold, then quench
    assert melt_quench(0.0) == 3000.0 and melt_quench(10_000.0) == 3000.0
    assert melt_quench(20_000.0) == pytest.approx(1650.0, rel=1e-15)  # halfway down (fs)
    assert melt_quench(-5.0) == 3000.0 and melt_quench(1e9) == 300.0
    assert Schedule.constant(2.5)(123.0) == 2.5


@pytest.mark.parametrize(
    ("time_ps", "values", "message"),
    [([0, 1], [300.0], "as many times as values"), ([], [], "at least one"),
     ([0, 2, 1], [1.0, 2.0, 3.0], "must not decrease")],
)  # fmt: skip
def test_malformed_knots_are_refused(time_ps, values, message):
    with pytest.raises(ValueError, match=message):
        Schedule.of(time_ps, values)
