"""Green–Kubo integral, plateau rule and block errors on series whose integral is known."""

import numpy as np
import pytest

from mlmd.errors import InputError
from mlmd.properties.green_kubo import green_kubo
from tests.properties.synthetic import ornstein_uhlenbeck

TAU, SIGMA, DT = 100.0, 2.0, 10.0  # fs, arbitrary unit, fs


def test_ornstein_uhlenbeck_integral_within_its_error():
    """∫ σ² e^{−t/τ} dt = σ² τ: the estimate is within 2.5σ (seeded), σ is a few %, and the
    plateau window starts after the decay (so the tail is not cut off)."""
    rng = np.random.default_rng(7)
    replicas = [{"x": ornstein_uhlenbeck(50_000, DT, TAU, SIGMA, rng)} for _ in range(2)]
    result = green_kubo(replicas, DT, blocks_per_series=4)
    exact = SIGMA**2 * TAU
    assert abs(result.value - exact) < 2.5 * result.error
    assert 0.01 * exact < result.error < 0.1 * exact
    assert result.window_fs[0] >= 3 * TAU
    assert result.n_blocks == 8
    assert result.acf[0] == pytest.approx(SIGMA**2, rel=0.05)


def test_errors_are_calibrated_over_seeds():
    """Across 40 independent runs the pulls (estimate − exact)/σ have mean ≈ 0 and spread ≈ 1
    (a rule that stopped too early would show a negative mean)."""
    exact = SIGMA**2 * TAU
    pulls = []
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        x = [{"x": ornstein_uhlenbeck(20_000, DT, TAU, SIGMA, rng)} for _ in range(2)]
        r = green_kubo(x, DT)
        pulls.append((r.value - exact) / r.error)
    assert abs(np.mean(pulls)) < 0.5
    assert 0.7 < np.std(pulls) < 1.5


def test_weighted_components_combine():
    """Two components of one process with weights 0.25/0.75 give the weighted integral."""
    rng = np.random.default_rng(3)

    def ou():
        return ornstein_uhlenbeck(40_000, DT, TAU, 1.0, rng)

    reps = [{"a": ou(), "b": 2 * ou()} for _ in range(2)]
    r = green_kubo(reps, DT, weights={"a": 0.25, "b": 0.75})
    assert abs(r.value - (0.25 + 0.75 * 4) * TAU) < 3 * r.error
    assert r.component_values["b"] == pytest.approx(4 * TAU, rel=0.2)


def test_too_short_for_the_plateau():
    rng = np.random.default_rng(1)
    x = [{"x": ornstein_uhlenbeck(400, DT, 40 * TAU, SIGMA, rng)}]
    with pytest.raises(InputError, match="too short for the plateau"):
        green_kubo(x, DT, blocks_per_series=4, name="run.h5")


def test_too_few_blocks():
    """One replica is cut into ≥ 4 blocks whatever is asked; blocks under 64 samples fail."""
    x = [{"x": np.random.default_rng(0).normal(size=4000)}]
    assert green_kubo(x, DT, blocks_per_series=2).n_blocks == 4
    with pytest.raises(InputError, match="too few"):
        green_kubo([{"x": x[0]["x"][:200]}], DT)


def test_a_fixed_window_replaces_the_rule():
    """``plateau_fs`` = the rule's own window gives the rule's value and error; a run too short
    for the rule still has a value at a given window (and its curve); a window beyond the
    largest lag is refused."""
    rng = np.random.default_rng(5)
    reps = [{"x": ornstein_uhlenbeck(20_000, DT, TAU, SIGMA, rng)} for _ in range(2)]
    auto = green_kubo(reps, DT)
    fixed = green_kubo(reps, DT, plateau_fs=auto.window_fs)
    assert fixed.fixed_window and not auto.fixed_window
    assert fixed.window_fs == auto.window_fs
    assert fixed.value == pytest.approx(auto.value) and fixed.error == pytest.approx(auto.error)
    short = [{"x": ornstein_uhlenbeck(400, DT, 40 * TAU, SIGMA, rng)}]
    at = green_kubo(short, DT, plateau_fs=(200.0, 400.0))
    assert at.window_fs == (200.0, 400.0) and at.error > 0
    assert at.value == pytest.approx(at.running[20:41].mean())
    with pytest.raises(InputError, match="plateau window .* outside the lags"):
        green_kubo(short, DT, plateau_fs=(200.0, 5000.0), name="run.h5")
