"""Dynamics: MSD per species, diffusion coefficients with block errors, VACF and VDOS.

Positions are unwrapped while frames stream in (:class:`Unwrapper`): with image flags as
``(s + image) @ cell`` (= ``position + image @ cell``), otherwise by the minimum-image step
between consecutive frames in fractional coordinates, which gives the same result whenever no
atom moves more than half a cell between frames (the largest fractional step is reported).
The centre-of-mass drift is removed. Unwrapped positions and velocities go to a temporary
on-disk array (:class:`FrameStore`), from which correlations are computed for blocks of atoms
over all frames, so memory stays bounded whatever the trajectory length.

MSD(τ) = ⟨|r(t+τ) − r(t)|²⟩ over all time origins and atoms, by FFT (O(T log T) per atom).
D = slope / 6 of a straight-line fit of MSD(τ) in the fit window [τ_lo, τ_hi]; its error is
the standard error of D over ``n_blocks`` contiguous blocks of the trajectory (each block
analysed with the same window). VACF C(τ) = ⟨v(t)·v(t+τ)⟩; VDOS g(ν) ∝ ∫ Σ_i m_i C_i(τ) w(τ)
cos(2πντ) dτ with a Hann window w over lags up to half the run, normalised to unit area (the
partials per species sum to the total).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from mlmd.errors import InputError

#: Å²/fs → cm²/s.
A2_PER_FS_TO_CM2_PER_S = 0.1
#: THz → cm⁻¹.
THZ_TO_INV_CM = 33.35641


class Unwrapper:
    """Turn a stream of (positions, cell, image) into unwrapped, COM-fixed positions [N,3] Å."""

    def __init__(self, masses: np.ndarray):
        m = np.where(np.isfinite(masses), masses, 1.0)
        self.weights = m / m.sum()
        self._prev_frac: np.ndarray | None = None
        self._unwrapped_frac: np.ndarray | None = None
        self._com0: np.ndarray | None = None
        self.max_step_fraction = 0.0
        self.method = "image"

    def __call__(self, positions: np.ndarray, cell: np.ndarray, image: np.ndarray | None):
        frac = positions @ np.linalg.inv(cell)
        if image is not None:
            unwrapped_frac = frac + image
        else:
            self.method = "minimum image between consecutive frames"
            if self._prev_frac is None:
                unwrapped_frac = frac
            else:
                step = frac - self._prev_frac
                step -= np.round(step)
                self.max_step_fraction = max(self.max_step_fraction, float(np.abs(step).max()))
                unwrapped_frac = self._unwrapped_frac + step
            self._prev_frac, self._unwrapped_frac = frac, unwrapped_frac
        r = unwrapped_frac @ cell
        com = self.weights @ r
        if self._com0 is None:
            self._com0 = com
        return r - (com - self._com0)


class FrameStore:
    """Append-only on-disk [T,N,3] float64 arrays (``positions`` and optionally
    ``velocities``), readable per block of atoms after :meth:`finish`."""

    def __init__(self, n_atoms: int, directory: str | Path | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="mlmd-analysis-", dir=directory)
        self.n_atoms = n_atoms
        self._files = {}
        self.arrays: dict[str, np.memmap] = {}
        self.times_fs: list[float] = []

    def append(self, time_fs: float, **data: np.ndarray) -> None:
        for name, value in data.items():
            if name not in self._files:
                self._files[name] = open(Path(self._dir.name) / f"{name}.f64", "wb")  # noqa: SIM115
            np.ascontiguousarray(value, dtype=np.float64).tofile(self._files[name])
        self.times_fs.append(float(time_fs))

    def finish(self) -> None:
        for name, fh in self._files.items():
            fh.close()
            self.arrays[name] = np.memmap(
                fh.name, dtype=np.float64, mode="r", shape=(len(self.times_fs), self.n_atoms, 3)
            )

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self.arrays.clear()
        self._dir.cleanup()


def uniform_dt(times_fs: np.ndarray) -> float:
    """The constant spacing of ``times_fs`` [T]; :class:`InputError` if it is not constant."""
    dt = np.diff(np.asarray(times_fs, dtype=float))
    if len(dt) == 0 or dt[0] <= 0 or np.abs(dt - dt[0]).max() > 1e-6 * abs(dt[0]) + 1e-9:
        raise InputError(
            "MSD and VACF need at least two frames equally spaced in time",
            field="--frames",
            fix="select frames with a constant stride (e.g. --frames ::10)",
        )
    return float(dt[0])


def _autocorrelation_sum(x: np.ndarray) -> np.ndarray:
    """Σ_atoms,dims Σ_k x(k)·x(k+m) for m = 0..T−1; x [T, n, 3]."""
    t = x.shape[0]
    f = np.fft.rfft(x, n=2 * t, axis=0)
    return np.fft.irfft((f * f.conj()).real.sum(axis=(1, 2)), n=2 * t)[:t]


def msd_sum(x: np.ndarray) -> np.ndarray:
    """Σ_atoms of the origin-averaged MSD(m), m = 0..T−1 (Å²); x [T, n, 3] unwrapped."""
    t = x.shape[0]
    d = np.einsum("tnx,tnx->t", x, x)
    prefix = np.concatenate([[0.0], np.cumsum(d)])
    m = np.arange(t)
    s1 = (prefix[t - m] - prefix[0]) + (prefix[t] - prefix[m])
    return (s1 - 2.0 * _autocorrelation_sum(x)) / (t - m)


def correlation_sum(v: np.ndarray) -> np.ndarray:
    """Σ_atoms of the origin-averaged ⟨v(t)·v(t+m)⟩, m = 0..T−1; v [T, n, 3]."""
    t = v.shape[0]
    return _autocorrelation_sum(v) / (t - np.arange(t))


@dataclasses.dataclass(frozen=True)
class Diffusion:
    """D from MSD = 6 D τ + c in the fit window: ``D_A2_per_ps`` (full run), ``error`` (block
    standard error), per-block values and the window actually used."""

    D_A2_per_ps: float
    D_err_A2_per_ps: float
    D_blocks_A2_per_ps: list[float]
    fit_window_ps: tuple[float, float]
    n_blocks: int

    def to_dict(self) -> dict:
        return {
            "D_A2_per_ps": self.D_A2_per_ps,
            "D_err_A2_per_ps": self.D_err_A2_per_ps,
            "D_cm2_per_s": self.D_A2_per_ps * 1e-3 * A2_PER_FS_TO_CM2_PER_S,
            "D_err_cm2_per_s": self.D_err_A2_per_ps * 1e-3 * A2_PER_FS_TO_CM2_PER_S,
            "D_blocks_A2_per_ps": self.D_blocks_A2_per_ps,
            "fit_window_ps": list(self.fit_window_ps),
            "n_blocks": self.n_blocks,
            "error": "standard error over blocks: std(D_block, ddof=1) / sqrt(n_blocks)",
        }


def _slope(t: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    sel = (t >= lo - 1e-9) & (t <= hi + 1e-9)
    if sel.sum() < 2:
        raise InputError(
            f"the MSD fit window {lo / 1e3:g}–{hi / 1e3:g} ps holds fewer than two lags",
            field="--fit-window-ps",
            fix="widen the window, use fewer --blocks, or analyse a longer run",
        )
    return float(np.polyfit(t[sel], y[sel], 1)[0])


def fit_diffusion(
    lag_fs: np.ndarray,
    msd_full: np.ndarray,
    msd_blocks: np.ndarray,
    window_fs: tuple[float, float],
) -> Diffusion:
    """D (Å²/ps) from MSD [L] Å² on lags [L] fs and per-block MSD [B, Lb] on lags[:Lb]."""
    lo, hi = window_fs
    d_full = _slope(lag_fs, msd_full, lo, hi) / 6.0 * 1e3
    n_b, lb = msd_blocks.shape
    d_blocks = [_slope(lag_fs[:lb], msd_blocks[b], lo, hi) / 6.0 * 1e3 for b in range(n_b)]
    err = float(np.std(d_blocks, ddof=1) / np.sqrt(n_b)) if n_b > 1 else float("nan")
    return Diffusion(d_full, err, d_blocks, (lo / 1e3, hi / 1e3), n_b)


def vdos(
    vacf_mass_weighted: np.ndarray, dt_fs: float, max_lag: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine transform of a VACF [L] (lag spacing ``dt_fs``) with a Hann window over lags
    < ``max_lag``: frequencies [F] in THz and the spectrum [F] (unnormalised, 1/THz scale)."""
    c = np.asarray(vacf_mass_weighted, dtype=float)
    n = len(c) if max_lag is None else min(max_lag, len(c))
    if n < 4:
        raise InputError(
            "too few frames for a VDOS", field="--frames", fix="analyse at least 8 frames"
        )
    lags = np.arange(n)
    window = 0.5 * (1.0 + np.cos(np.pi * lags / n))
    cw = c[:n] * window
    even = np.concatenate([cw, cw[-2:0:-1]])
    spectrum = np.fft.rfft(even).real * dt_fs
    freq_thz = np.fft.rfftfreq(len(even), d=dt_fs) * 1e3
    return freq_thz, spectrum


def _chunks(n_atoms: int, n_frames: int, budget_bytes: float = 2e8) -> list[tuple[int, int]]:
    """Atom ranges small enough that [T, n, 3] plus its FFT stay within ~``budget_bytes``."""
    per_atom = n_frames * 3 * 8 * 8  # data, the padded transform and temporaries
    size = max(1, int(budget_bytes // per_atom))
    return [(a, min(a + size, n_atoms)) for a in range(0, n_atoms, size)]


def msd_by_species(
    store: FrameStore, kind: np.ndarray, labels: list[str], n_blocks: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """MSD per species over the whole run ({label: [T]} Å²) and per contiguous block
    ({label: [B, T // B]} Å²), averaged over atoms of the species and all time origins."""
    x_all = store.arrays["positions"]
    t = x_all.shape[0]
    tb = t // n_blocks
    full = {label: np.zeros(t) for label in labels}
    blocks = {label: np.zeros((n_blocks, tb)) for label in labels}
    for a0, a1 in _chunks(len(kind), t):
        x = np.asarray(x_all[:, a0:a1])
        for k, label in enumerate(labels):
            sel = kind[a0:a1] == k
            if not sel.any():
                continue
            xs = x[:, sel]
            full[label] += msd_sum(xs)
            for b in range(n_blocks):
                blocks[label][b] += msd_sum(xs[b * tb : (b + 1) * tb])
    counts = np.bincount(kind, minlength=len(labels))
    for k, label in enumerate(labels):
        full[label] /= counts[k]
        blocks[label] /= counts[k]
    return full, blocks


def vacf_by_species(
    store: FrameStore, kind: np.ndarray, labels: list[str], masses: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """VACF per species ({label: [T]} Å²/fs², atom average) and the mass-weighted sums
    Σ_{i∈a} m_i C_i(τ) ({label: [T]} amu Å²/fs², for the VDOS)."""
    v_all = store.arrays["velocities"]
    t = v_all.shape[0]
    m = np.where(np.isfinite(masses), masses, 1.0)
    per_species = {label: np.zeros(t) for label in labels}
    weighted = {label: np.zeros(t) for label in labels}
    for a0, a1 in _chunks(len(kind), t):
        v = np.asarray(v_all[:, a0:a1])
        for k, label in enumerate(labels):
            sel = kind[a0:a1] == k
            if not sel.any():
                continue
            per_species[label] += correlation_sum(v[:, sel])
            weighted[label] += correlation_sum(v[:, sel] * np.sqrt(m[a0:a1][sel])[None, :, None])
    counts = np.bincount(kind, minlength=len(labels))
    for k, label in enumerate(labels):
        per_species[label] /= counts[k]
    return per_species, weighted


def loglog_exponent(lag_fs: np.ndarray, msd: np.ndarray, lo: float, hi: float) -> float:
    """d ln MSD / d ln τ over [lo, hi] fs: 1 when diffusive, 2 when ballistic."""
    sel = (lag_fs >= lo) & (lag_fs <= hi) & (msd > 0) & (lag_fs > 0)
    if sel.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(lag_fs[sel]), np.log(msd[sel]), 1)[0])
