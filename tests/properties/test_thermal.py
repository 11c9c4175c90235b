"""NPT temperature scans: holds of a schedule, state points, thermal expansion, ρ maximum."""

import numpy as np
import pytest

from mlmd.errors import InputError
from mlmd.properties.observables import read_run
from mlmd.properties.segments import stepped_schedule
from mlmd.properties.thermal import (
    density_maximum,
    hold_segments,
    state_points,
    thermal_expansion,
)
from tests.properties.synthetic import write_trajectory


def test_thermal_expansion_of_a_linear_volume():
    t = np.array([300.0, 500.0, 700.0, 900.0])
    v = 1000.0 * (1 + 2e-5 * (t - 600.0))
    fit = thermal_expansion(t, v + np.array([0.01, -0.01, 0.01, -0.01]), np.full(4, 0.02))
    assert fit.alpha_per_K == pytest.approx(2e-5, rel=0.01)
    assert 0 < fit.alpha_err_per_K < 2e-7 and fit.reference_K == pytest.approx(600.0)
    with pytest.raises(InputError, match="≥ 3"):
        thermal_expansion(t[:2], v[:2], np.full(2, 0.02))
    with pytest.raises(InputError, match="positive error"):
        thermal_expansion(t, v, np.zeros(4))


def test_density_maximum_of_a_parabola():
    t = np.linspace(3000.0, 5000.0, 9)
    rho = 2.2 - 1e-8 * (t - 4200.0) ** 2
    top = density_maximum(t, rho, np.full(9, 1e-4))
    assert top.resolved and top.t_max_K == pytest.approx(4200.0, abs=1.0)
    assert top.density_max_g_cm3 == pytest.approx(2.2, abs=1e-6) and top.t_max_err_K < 50
    edge = density_maximum(t, 2.5 - 1e-4 * t, np.full(9, 1e-4))
    assert not edge.resolved and "lowest T" in edge.reason
    flat = density_maximum(t, 2.2 + np.where(np.arange(9) == 4, 1e-3, 0.0), np.full(9, 1e-2))
    assert not flat.resolved and "curvature" in flat.reason


def test_holds_and_state_points_of_a_stepped_scan(tmp_path):
    schedule, holds = stepped_schedule([300.0, 600.0, 900.0], hold_ps=10.0, ramp_ps=2.0)
    assert holds == [(300.0, 0.0, 10.0), (600.0, 12.0, 22.0), (900.0, 24.0, 34.0)]
    config = {
        "steps": 34000,
        "timestep_fs": 1.0,
        "ensemble": {"kind": "npt", "temperature_K": 300.0},
        "schedule": schedule,
    }
    assert hold_segments(config, min_ps=1.0) == holds
    steps = np.arange(0, 34001, 10)
    target = np.interp(steps / 1e3, schedule["time_ps"], schedule["temperature_K"])
    volume = 1000.0 * (1 + 1e-5 * (target - 300.0))
    noise = np.random.default_rng(0).normal(0.0, 0.05, len(steps))
    obs = {
        "volume": (volume + noise, steps, "angstrom^3"),
        "density": (2.2 * 1000.0 / (volume + noise), steps, "g cm-3"),
    }
    run = read_run(write_trajectory(tmp_path / "scan.h5", config, obs))
    points = state_points(run, equilibration_ps=3.0)
    assert [p.temperature_K for p in points] == [300.0, 600.0, 900.0]
    assert points[1].start_ps == 15.0 and points[1].n_samples == 701
    fit = thermal_expansion(
        [p.temperature_K for p in points],
        [p.volume_A3 for p in points],
        [p.volume_err_A3 for p in points],
    )
    assert fit.alpha_per_K == pytest.approx(1e-5 / 1.003, rel=0.02)


def test_state_points_refuse_a_fixed_volume_run(tmp_path):
    path = write_trajectory(
        tmp_path / "nvt.h5",
        {"ensemble": {"kind": "langevin"}},
        {"volume": (np.full(10, 1.0), np.arange(10), "angstrom^3")},
    )
    with pytest.raises(InputError, match="needs NPT"):
        state_points(read_run(path), 1.0)
