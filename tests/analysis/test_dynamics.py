"""mlmd/analysis/dynamics.py: MSD, diffusion, VACF/VDOS on motions whose answer is known exactly."""

import numpy as np
import pytest

from mlmd.analysis import open_trajectory
from mlmd.analysis.dynamics import fit_diffusion, msd_by_species, uniform_dt, vacf_by_species, vdos
from mlmd.analysis.passes import structure_pass
from mlmd.errors import InputError
from tests.analysis import tolerances as tol
from tests.analysis.trajectories import wrap, write_h5md

CELL = np.diag([20.0, 22.0, 24.0])


def _ballistic(n_pairs=100, n_frames=30, dt=5.0, seed=0):
    """Atoms in straight lines; every velocity has a partner −v of the same species, so the
    centre of mass is at rest. Returns unwrapped positions [T,N,3], velocities, numbers, t."""
    rng = np.random.default_rng(seed)
    v = rng.normal(0.0, 0.01, (n_pairs, 3))  # Å/fs
    numbers = np.repeat(np.where(np.arange(n_pairs) % 3 == 0, 14, 8), 2)
    vel = np.repeat(v, 2, axis=0) * np.tile([1.0, -1.0], n_pairs)[:, None]
    x0 = rng.random((2 * n_pairs, 3)) @ CELL
    t = np.arange(n_frames) * dt
    return x0 + vel * t[:, None, None], vel, numbers, t


def _pass(path):
    with open_trajectory(path) as reader:
        p1 = structure_pass(
            reader,
            slice(None),
            rdf=None,
            keep_positions=True,
            keep_velocities=reader.has_velocities,
        )
    return p1, reader


@pytest.mark.parametrize("images", [True, False], ids=["image", "minimum-image"])
def test_ballistic_msd_is_v2_t2(tmp_path, images):
    """MSD_a(τ) = ⟨v²⟩_a τ² exactly, for every lag, from wrapped positions with image flags
    and by minimum-image unwrapping; VACF_a(τ) = ⟨v²⟩_a for every lag."""
    x, vel, numbers, t = _ballistic()
    wrapped, image = wrap(x, CELL)
    v_t = np.broadcast_to(vel, x.shape)
    path = write_h5md(
        tmp_path / "b.h5",
        wrapped,
        CELL,
        numbers,
        images=image if images else None,
        velocities=v_t,
        times_fs=t,
        steps=np.arange(len(t)),
    )
    p1, reader = _pass(path)
    kind = (numbers == 8).astype(int)
    full, blocks = msd_by_species(p1.store, kind, ["Si", "O"], n_blocks=3)
    vacf, weighted = vacf_by_species(p1.store, kind, ["Si", "O"], reader.masses)
    p1.store.close()
    lag = np.arange(len(t)) * uniform_dt(p1.times_fs)
    for k, label in enumerate(["Si", "O"]):
        v2 = np.mean(np.sum(vel[kind == k] ** 2, axis=1))
        np.testing.assert_allclose(full[label], v2 * lag**2, rtol=tol.EXACT_REL, atol=tol.EXACT_A)
        np.testing.assert_allclose(
            blocks[label][1], v2 * lag[:10] ** 2, rtol=tol.EXACT_REL, atol=tol.EXACT_A
        )
        np.testing.assert_allclose(vacf[label], v2, rtol=tol.EXACT_REL)
    assert images or p1.unwrapper.max_step_fraction < 0.1


def test_random_walk_gives_6_D_t(tmp_path):
    """Gaussian steps of variance 2 D dt per axis: D recovered within 4 block standard errors
    and 5 %, from wrapped positions without images (minimum-image unwrapping)."""
    rng = np.random.default_rng(11)
    d_true, dt, n, n_frames = 2.5e-3, 10.0, 1000, 300  # Å²/fs
    steps = rng.normal(0.0, np.sqrt(2 * d_true * dt), (n_frames, n, 3))
    steps[0] = 0.0
    x = rng.random((n, 3)) @ CELL + np.cumsum(steps, axis=0)
    numbers = np.where(np.arange(n) < n // 3, 14, 8)
    path = write_h5md(
        tmp_path / "rw.h5",
        wrap(x, CELL)[0],
        CELL,
        numbers,
        times_fs=np.arange(n_frames) * dt,
        steps=np.arange(n_frames),
    )
    p1, _ = _pass(path)
    kind = (numbers == 8).astype(int)
    full, blocks = msd_by_species(p1.store, kind, ["Si", "O"], n_blocks=5)
    p1.store.close()
    lag = np.arange(n_frames) * dt
    for label in ("Si", "O"):
        fit = fit_diffusion(lag, full[label], blocks[label], (100.0, 300.0))
        d = fit.D_A2_per_ps / 1e3
        assert abs(d - d_true) < tol.D_SIGMAS * fit.D_err_A2_per_ps / 1e3
        assert d == pytest.approx(d_true, rel=tol.D_REL)
        assert fit.fit_window_ps == (0.1, 0.3)
        assert 0 < fit.D_err_A2_per_ps < 0.05 * fit.D_A2_per_ps


def test_fit_window_without_lags_is_an_input_error():
    lag = np.arange(10) * 1.0
    with pytest.raises(InputError, match="fit window"):
        fit_diffusion(lag, lag, lag[None, :5], (20.0, 30.0))


def test_uneven_frame_times_are_refused():
    with pytest.raises(InputError, match="equally spaced"):
        uniform_dt(np.array([0.0, 1.0, 3.0]))


def test_vdos_of_harmonic_oscillators_peaks_at_their_frequency():
    """v(t) = A ω cos(ωt + φ) at ν₀ = 12 THz: the VDOS peaks at ν₀ within its resolution."""
    rng = np.random.default_rng(2)
    nu0, dt, t_len, n = 12.0, 2.0, 1000, 50  # THz, fs, frames, atoms
    omega = 2 * np.pi * nu0 / 1e3  # rad/fs
    t = np.arange(t_len) * dt
    amp, phase = rng.normal(0, 0.1, (n, 3)), rng.uniform(0, 2 * np.pi, (n, 3))
    v = amp * omega * np.cos(omega * t[:, None, None] + phase)
    c = np.array([np.mean(np.sum(v[: t_len - m] * v[m:], axis=2)) for m in range(t_len // 2)])
    freq, g = vdos(c, dt)
    assert abs(freq[np.argmax(g)] - nu0) <= freq[1] - freq[0]
