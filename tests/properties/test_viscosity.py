"""Green–Kubo viscosity from H5MD pressure-tensor observables in mlmd's layout."""

import numpy as np
import pytest
from ase.units import _k as KB

from mlmd.errors import InputError
from mlmd.properties.viscosity import shear_components, viscosity, viscosity_from_runs
from tests.properties.synthetic import isotropic_pressure_tensor, write_trajectory

DT, TAU, SIGMA, V, T = 2.0, 150.0, 0.8, 5000.0, 3500.0


def expected_Pa_s() -> float:
    """V/(kT) · (σ²/2) τ in SI: every shear estimator's ACF is (σ²/2) e^{−t/τ}."""
    return V * 1e-30 / (KB * T) * (0.5 * SIGMA**2 * 1e18) * TAU * 1e-15


def nvt_run(tmp_path, name, n, seed, *, ptensor=True, kind="nose_hoover_chain"):
    rng = np.random.default_rng(seed)
    steps = np.arange(n) * 2
    obs = {
        "volume": (np.full(n, V), steps, "angstrom^3"),
        "temperature": (T + rng.normal(0, 30, n), steps, "K"),
    }
    if ptensor:
        obs["pressure_tensor"] = (
            isotropic_pressure_tensor(
                n, dt_fs=DT, tau_fs=TAU, sigma_GPa=SIGMA, mean_GPa=5.5, rng=rng
            ),
            steps,
            "GPa",
        )
    config = {"ensemble": {"kind": kind, "temperature_K": T}, "timestep_fs": 1.0}
    return write_trajectory(tmp_path / name, config, obs, dt_fs=1.0)


def test_shear_components_of_a_known_tensor():
    p = np.array([[[1.0, 2.0, 3.0], [2.2, 5.0, 4.0], [3.0, 4.0, 9.0]]])
    c = shear_components(p)
    assert c["xy"][0] == pytest.approx(2.1)
    assert c["(xx-yy)/2"][0] == -2.0 and c["(zz-xx)/2"][0] == 4.0


def test_viscosity_from_two_replicas(tmp_path):
    paths = [nvt_run(tmp_path, f"r{k}.h5", 40_000, k) for k in range(2)]
    eta = viscosity_from_runs(paths)
    assert abs(eta.value_Pa_s - expected_Pa_s()) < 3 * eta.error_Pa_s
    assert eta.error_Pa_s < 0.1 * expected_Pa_s()
    assert eta.temperature_K == pytest.approx(T, abs=2)
    summary = eta.summary()
    assert summary["unit"] == "Pa s" and set(summary["components_Pa_s"]) == {
        "xy",
        "xz",
        "yz",
        "(xx-yy)/2",
        "(yy-zz)/2",
        "(zz-xx)/2",
    }
    for value in summary["components_Pa_s"].values():  # each estimator is unbiased
        assert value == pytest.approx(expected_Pa_s(), rel=0.35)
    assert summary["sampled_ps"] == pytest.approx(160.0)


def test_window_selects_samples(tmp_path):
    path = nvt_run(tmp_path, "r.h5", 40_000, 3)
    eta = viscosity_from_runs([path], window="time_ps:20:")
    assert eta.sampled_ps == pytest.approx(60.0, abs=0.01)


def test_array_api_matches_file_api(tmp_path):
    rng = np.random.default_rng(5)
    p = [
        isotropic_pressure_tensor(
            40_000, dt_fs=DT, tau_fs=TAU, sigma_GPa=SIGMA, mean_GPa=0.0, rng=rng
        )
        for _ in range(2)
    ]
    eta = viscosity(p, DT, V, T)
    assert abs(eta.value_Pa_s - expected_Pa_s()) < 3 * eta.error_Pa_s


def test_no_pressure_tensor_is_a_clear_error(tmp_path):
    path = nvt_run(tmp_path, "r.h5", 2000, 0, ptensor=False)
    with pytest.raises(InputError) as err:
        viscosity_from_runs([path])
    text = str(err.value)
    assert "r.h5" in text and "/observables/pressure_tensor" in text
    assert "output.pressure_tensor_every" in text


def test_npt_run_is_refused(tmp_path):
    path = nvt_run(tmp_path, "r.h5", 2000, 0, kind="npt")
    with pytest.raises(InputError, match="fixed volume"):
        viscosity_from_runs([path])


def test_too_short_for_the_plateau(tmp_path):
    path = nvt_run(tmp_path, "short.h5", 600, 0)
    with pytest.raises(InputError, match="too short for the plateau") as err:
        viscosity_from_runs([path])
    assert "short.h5" in str(err.value)
