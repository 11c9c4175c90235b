"""Statistics of the validation on synthetic data: block errors, L1 distances, MSD slope."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from mlmd.analysis.dynamics import fit_diffusion, msd_sum
from mlmd.analysis.thermo import block_error
from mlmd.validate.stats import (
    diffusion_window_ps,
    l1_distance,
    mean_and_error,
    mean_distance_to,
    noise_floor,
    relative_difference,
)


def test_block_error_of_white_noise_is_the_standard_error():
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, size=20000)
    err = block_error(values, n_blocks=10)
    assert err == pytest.approx(2.0 / math.sqrt(20000), rel=0.5)


def test_block_error_sees_correlation_that_the_naive_error_misses():
    rng = np.random.default_rng(1)
    x = np.zeros(20000)
    for t in range(1, len(x)):  # AR(1), correlation time ~ 200 samples
        x[t] = 0.995 * x[t - 1] + rng.normal()
    naive = x.std() / math.sqrt(len(x))
    assert block_error(x, n_blocks=5) > 4 * naive


def test_l1_distance_of_two_gaussians_is_analytic():
    x = np.arange(-10, 10, 0.001) + 0.0005
    d = 1.3
    value = l1_distance(x, norm.pdf(x), norm.pdf(x, loc=d))
    assert value == pytest.approx(2 * (2 * norm.cdf(d / 2) - 1), rel=1e-4)
    assert l1_distance(x, norm.pdf(x), norm.pdf(x)) == 0.0
    assert l1_distance(x, norm.pdf(x), norm.pdf(x, loc=d), x_max=0.0) < value


def test_l1_distance_rejects_curves_on_other_grids():
    with pytest.raises(ValueError, match="shared grid"):
        l1_distance(np.arange(5.0), np.zeros(5), np.zeros(4))


def test_noise_floor_is_the_mean_pairwise_distance():
    x = np.linspace(0, 1, 11)
    curves = [np.zeros(11), np.ones(11), 3 * np.ones(11)]

    def dist(a, b):
        return l1_distance(x, a, b)

    width = x[1] - x[0]
    assert noise_floor(curves, dist) == pytest.approx(11 * width * (1 + 3 + 2) / 3)
    assert mean_distance_to(np.ones(11), curves[::2], dist) == pytest.approx(11 * width * 1.5)
    with pytest.raises(ValueError):
        noise_floor(curves[:1], dist)


def test_msd_slope_of_a_random_walk_gives_its_diffusion_coefficient():
    """Brownian walkers with D = 0.05 Å²/ps sampled every 0.05 ps: D from the second half of a
    block's lags, origins averaged, matches within its error."""
    rng = np.random.default_rng(2)
    d_true, dt_ps, frames, atoms = 0.05, 0.05, 400, 300
    steps = rng.normal(scale=math.sqrt(2 * d_true * dt_ps), size=(frames, atoms, 3))
    x = np.cumsum(steps, axis=0)
    lo, hi = diffusion_window_ps(frames, dt_ps, n_blocks=4)
    assert (lo, hi) == pytest.approx((0.5 * 99 * dt_ps, 99 * dt_ps))
    lag_fs = np.arange(frames) * dt_ps * 1e3
    blocks = np.stack([msd_sum(x[b * 100 : (b + 1) * 100]) / atoms for b in range(4)])
    fit = fit_diffusion(lag_fs, msd_sum(x) / atoms, blocks, (lo * 1e3, hi * 1e3))
    assert fit.D_A2_per_ps == pytest.approx(d_true, rel=0.1)
    assert abs(fit.D_A2_per_ps - d_true) < 4 * fit.D_err_A2_per_ps + 0.02 * d_true


def test_diffusion_window_needs_enough_frames_per_block():
    with pytest.raises(ValueError, match="blocks"):
        diffusion_window_ps(10, 0.05, n_blocks=4)


def test_relative_difference_and_reference_mean():
    assert relative_difference(1.1, 1.0) == pytest.approx(0.1)
    assert relative_difference(0.0, 0.0) == 0.0
    assert relative_difference(1.0, 0.0) == math.inf
    mean, err = mean_and_error([1.0, 3.0], [0.1, 0.1])
    assert mean == 2.0
    assert err == pytest.approx(1.0)  # the scatter between runs beats their own errors
    mean, err = mean_and_error([1.0, 1.0], [0.3, 0.4])
    assert err == pytest.approx(0.25)
