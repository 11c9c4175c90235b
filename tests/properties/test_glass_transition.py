"""Two-line (hinge) fit of a quench: T_g ± σ, the two lines, and the unresolved flag."""

import numpy as np
import pytest

from mlmd.errors import InputError
from mlmd.properties.glass_transition import glass_transition

T = np.linspace(3500.0, 300.0, 800)  # a quench goes down in temperature
TG, B_GLASS, B_LIQUID = 1900.0, 1.0e-4, 3.0e-4


def quench_curve(noise: float, seed: int) -> np.ndarray:
    y = -6.9 + np.where(T < TG, B_GLASS, B_LIQUID) * (T - TG)
    return y + np.random.default_rng(seed).normal(0.0, noise, len(T))


def test_kink_found_with_its_uncertainty():
    r = glass_transition(T, quench_curve(0.01, 1))
    assert r.resolved and r.reason == ""
    assert abs(r.tg_K - TG) < 3 * r.tg_err_K and 2.0 < r.tg_err_K < 60.0
    assert abs(r.glass.slope - B_GLASS) < 4 * r.glass.slope_err
    assert abs(r.liquid.slope - B_LIQUID) < 4 * r.liquid.slope_err
    assert r.t_range_K == (300.0, 3500.0) and r.n_points == 800
    assert r.rms == pytest.approx(0.01, rel=0.1)
    assert r.predict(np.array([TG]))[0] == pytest.approx(-6.9, abs=0.01)
    d = r.as_dict()
    assert d["glass"]["slope"] == r.glass.slope and d["resolved"] is True


@pytest.mark.slow
def test_uncertainty_matches_the_scatter_for_white_noise():
    fits = [glass_transition(T, quench_curve(0.03, seed), seed=seed) for seed in range(24)]
    scatter = np.std([f.tg_K for f in fits])
    reported = np.mean([f.tg_err_K for f in fits])
    assert 0.7 < reported / scatter < 1.4


def test_straight_line_has_no_kink():
    y = 2.2 - 1e-5 * T + np.random.default_rng(2).normal(0.0, 1e-3, len(T))
    r = glass_transition(T, y)
    assert not r.resolved and "no kink" in r.reason


def test_kink_at_the_end_of_the_data_is_not_resolved():
    t = np.linspace(2000.0, 3500.0, 300)
    y = np.where(t < 2030, B_GLASS, B_LIQUID) * (t - 2030) + np.random.default_rng(0).normal(
        0, 0.003, len(t)
    )
    r = glass_transition(t, y)
    assert not r.resolved


@pytest.mark.parametrize(
    "t, y, match",
    [
        (np.arange(5.0), np.arange(5.0), "too few"),
        (np.arange(20.0), np.arange(19.0), "20 temperatures but 19"),
        (np.full(20, 300.0), np.arange(20.0), "too few"),
        (np.append(np.arange(20.0), np.nan), np.arange(21.0), "non-finite"),
    ],
)
def test_bad_input(t, y, match):
    with pytest.raises(InputError, match=match):
        glass_transition(t, y)
