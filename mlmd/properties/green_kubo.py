"""Green–Kubo integrals with a plateau rule and block errors, for any stationary series.

For a zero-mean stationary signal x(t) sampled every ``dt_fs`` the Green–Kubo integral is
G = ∫_0^∞ ⟨x(0) x(t)⟩ dt. :func:`green_kubo` estimates it from one or more independent
series (replicas) of one or more components (estimators of the same G, averaged with
weights):

1. Each replica is centred (its own mean removed) and cut into ``blocks_per_series``
   contiguous blocks (raised so that M = R · blocks_per_series ≥ 4 with R replicas).
2. In every block the autocorrelation C_b(k) = ⟨x(i) x(i+k)⟩ (mean over the B − k origins
   of the block, FFT) up to the largest lag L = B/2; components are combined with their
   weights; the running integral I_b(t) is the trapezoidal integral of C_b from 0 to t.
3. Ī(t) is the mean over blocks, and δI(t) its standard error (std over blocks / √M).
4. **Plateau rule.** The rise of the running integral over [t, 2t] is
   Δ(t) = Ī(2t) − Ī(t), with standard error s_Δ(t) from the per-block rises. The plateau
   starts at t₀, the first lag (on a grid 5 % apart) at which the rise is within two standard
   errors of zero over both [t₀, 2t₀] and [2t₀, 4t₀]: the integral has stopped growing
   beyond its noise, and stays so over a window as long again. The value is the mean of Ī
   over the plateau window [2t₀, 4t₀]; its error is the standard error over blocks of the
   per-block window means. Starting the window at 2t₀ rather than t₀ keeps the bias from a
   slowly decaying tail small: for an exponential C(t) = σ² e^{−t/τ} sampled 1000 τ long
   the rule finds t₀ ≈ 2τ and the window [4τ, 8τ] misses 0.5 % of the integral, while the
   statistical error is ~10 %.
5. When no t₀ has 4t₀ ≤ L the run is too short for the plateau: :class:`InputError`
   naming the series and how much longer to run.
6. A fixed window ``plateau_fs = (a, b)`` replaces the rule (value and error as in 4): to
   compare two runs at the same lags, e.g. a short run at a longer reference run's window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mlmd.errors import InputError

#: Fewest blocks for a standard error; fewest samples per block.
MIN_BLOCKS, MIN_BLOCK_SAMPLES = 4, 64
#: Grid of trial t₀ lags: geometric, 5 % apart.
GRID_RATIO = 1.05


@dataclass(frozen=True)
class GreenKubo:
    """Result of :func:`green_kubo` (integrals in the unit of x² · fs unless scaled).

    Attributes:
        lag_fs: [L] lags.
        acf: [L] block-mean autocorrelation of the weighted components.
        running: [L] block-mean running integral Ī(t); ``running_err`` [L] its standard error.
        components: {name: [L] block-mean running integral of that component alone}.
        window_fs: (2t₀, 4t₀), the plateau window.
        value, error: the plateau value and its standard error.
        component_values: {name: plateau-window mean of that component's running integral}.
        n_blocks: M, the number of blocks; block_fs: the length of one block.
        fixed_window: True when ``window_fs`` was given (rule 6), not found by the rule.
    """

    lag_fs: np.ndarray
    acf: np.ndarray
    running: np.ndarray
    running_err: np.ndarray
    components: dict[str, np.ndarray]
    window_fs: tuple[float, float]
    value: float
    error: float
    component_values: dict[str, float]
    n_blocks: int
    block_fs: float
    fixed_window: bool = False

    def scaled(self, factor: float) -> GreenKubo:
        """The same result with every integral (and the ACF) multiplied by ``factor``."""
        return GreenKubo(
            lag_fs=self.lag_fs,
            acf=self.acf * factor,
            running=self.running * factor,
            running_err=self.running_err * factor,
            components={k: v * factor for k, v in self.components.items()},
            window_fs=self.window_fs,
            value=self.value * factor,
            error=self.error * factor,
            component_values={k: v * factor for k, v in self.component_values.items()},
            n_blocks=self.n_blocks,
            block_fs=self.block_fs,
            fixed_window=self.fixed_window,
        )


def green_kubo(
    series: Sequence[Mapping[str, np.ndarray]],
    dt_fs: float,
    *,
    weights: Mapping[str, float] | None = None,
    blocks_per_series: int = 4,
    max_lag_fs: float | None = None,
    plateau_fs: tuple[float, float] | None = None,
    name: str = "series",
) -> GreenKubo:
    """Green–Kubo integral of one or more replicas (see module docstring).

    Args:
        series: one mapping per independent replica, {component: [T_r] samples}; every
            replica has the same components.
        dt_fs: sampling interval (fs).
        weights: {component: weight} (default: equal weights summing to 1).
        blocks_per_series: contiguous blocks cut from each replica.
        max_lag_fs: largest lag L (default: half a block, or up to ``plateau_fs``'s end).
        plateau_fs: a fixed plateau window (a, b) instead of the plateau rule.
        name: what the series is, for error messages (e.g. the trajectory file).

    Raises:
        InputError: too few blocks or samples, or no plateau within the largest lag.
    """
    names = list(series[0]) if series else []
    w = _weights(names, weights)
    per_series = max(blocks_per_series, -(-MIN_BLOCKS // max(1, len(series))))
    blocks = _blocks(series, names, per_series, name)
    n_block = min(len(b[names[0]]) for b in blocks)
    n_lag = n_block // 2 if max_lag_fs is None else int(max_lag_fs / dt_fs) + 1
    if plateau_fs is not None and max_lag_fs is None:
        n_lag = max(n_lag, int(np.ceil(plateau_fs[1] / dt_fs)) + 1)
    n_lag = max(2, min(n_lag, n_block - 1))
    per_comp = {c: np.stack([_acf(b[c][:n_block], n_lag) for b in blocks]) for c in names}
    acf_blocks = sum(w[c] * per_comp[c] for c in names)
    run_blocks = _running(acf_blocks, dt_fs)
    lag = np.arange(n_lag) * dt_fs
    if plateau_fs is None:
        i0 = _plateau_start(run_blocks, dt_fs, name, len(blocks) * n_block * dt_fs)
        window = slice(2 * i0, 4 * i0 + 1)
    else:
        window = _fixed_window(plateau_fs, dt_fs, n_lag, name)
    means = run_blocks[:, window].mean(axis=1)
    m = len(blocks)
    comp_running = {c: _running(per_comp[c], dt_fs).mean(axis=0) for c in names}
    return GreenKubo(
        lag_fs=lag,
        acf=acf_blocks.mean(axis=0),
        running=run_blocks.mean(axis=0),
        running_err=run_blocks.std(axis=0, ddof=1) / np.sqrt(m),
        components=comp_running,
        window_fs=(float(lag[window.start]), float(lag[window.stop - 1])),
        value=float(means.mean()),
        error=float(means.std(ddof=1) / np.sqrt(m)),
        component_values={c: float(v[window].mean()) for c, v in comp_running.items()},
        n_blocks=m,
        block_fs=float(n_block * dt_fs),
        fixed_window=plateau_fs is not None,
    )


def _weights(names: list[str], weights: Mapping[str, float] | None) -> dict[str, float]:
    if not names:
        raise InputError("no series given", field="series", fix="pass at least one replica")
    if weights is None:
        return {c: 1.0 / len(names) for c in names}
    missing = sorted(set(names) ^ set(weights))
    if missing:
        raise InputError(f"weights and components differ: {missing}", field="weights")
    return {c: float(weights[c]) for c in names}


def _blocks(series, names, per_series: int, name: str) -> list[dict[str, np.ndarray]]:
    """Centred contiguous blocks of every replica."""
    blocks = []
    for r, replica in enumerate(series):
        if sorted(replica) != sorted(names):
            raise InputError(
                f"replica {r} has components {sorted(replica)}, replica 0 {sorted(names)}",
                file=name,
            )
        for c in names:
            x = np.asarray(replica[c], dtype=float)
            if x.ndim != 1 or not np.isfinite(x).all():
                raise InputError(f"component {c} of replica {r} is not a finite 1-D series")
        n = min(len(replica[c]) for c in names) // per_series
        for b in range(per_series):
            blocks.append({c: _centred(replica[c], replica[c][b * n : (b + 1) * n]) for c in names})
    n_min = min((len(b[names[0]]) for b in blocks), default=0)
    if len(blocks) < MIN_BLOCKS or n_min < MIN_BLOCK_SAMPLES:
        raise InputError(
            f"{len(blocks)} blocks of {n_min} samples are too few for a Green–Kubo error",
            file=name,
            fix=f"give ≥ {MIN_BLOCKS} blocks (replicas × blocks per replica) of ≥ "
            f"{MIN_BLOCK_SAMPLES} samples each: run longer or sample more often",
        )
    return blocks


def _centred(whole: np.ndarray, part: np.ndarray) -> np.ndarray:
    """``part`` minus the mean of its whole replica."""
    return np.asarray(part, dtype=float) - float(np.mean(whole))


def _acf(x: np.ndarray, n_lag: int) -> np.ndarray:
    """⟨x(i) x(i+k)⟩ for k < n_lag, averaged over the n − k origins (FFT, zero-padded)."""
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, size)
    raw = np.fft.irfft(f * np.conj(f), size)[:n_lag]
    return raw / (n - np.arange(n_lag))


def _running(acf: np.ndarray, dt_fs: float) -> np.ndarray:
    """Trapezoidal running integral along the last axis (0 at lag 0)."""
    steps = 0.5 * (acf[..., 1:] + acf[..., :-1]) * dt_fs
    zero = np.zeros(acf.shape[:-1] + (1,))
    return np.concatenate([zero, np.cumsum(steps, axis=-1)], axis=-1)


def _fixed_window(plateau_fs, dt_fs: float, n_lag: int, name: str) -> slice:
    """The lags of ``plateau_fs`` = (a, b) as a slice (rule 6)."""
    a, b = (int(round(t / dt_fs)) for t in plateau_fs)
    if not 0 <= a < b < n_lag:
        raise InputError(
            f"plateau window {plateau_fs} fs outside the lags 0–{(n_lag - 1) * dt_fs:g} fs "
            "of the blocks",
            file=name,
            field="plateau_fs",
            fix="give 0 ≤ a < b ≤ the largest lag (half a block: fewer blocks, longer runs)",
        )
    return slice(a, b + 1)


def _plateau_start(run_blocks: np.ndarray, dt_fs: float, name: str, total_fs: float) -> int:
    """Index of t₀ (module docstring, rule 4)."""
    m, n_lag = run_blocks.shape
    last = (n_lag - 1) // 4

    def flat(i: int) -> bool:
        rise = run_blocks[:, 2 * i] - run_blocks[:, i]
        return abs(rise.mean()) <= 2.0 * rise.std(ddof=1) / np.sqrt(m)

    i = 1
    while i <= last:
        if flat(i) and flat(2 * i):
            return i
        i = max(i + 1, int(i * GRID_RATIO))
    raise InputError(
        f"the Green–Kubo running integral still rises at the largest lag "
        f"{(n_lag - 1) * dt_fs / 1e3:.3g} ps (plateau rule: flat within 2σ over [t, 2t] "
        f"and [2t, 4t] with 4t ≤ the largest lag); {total_fs / 1e3:.3g} ps sampled are too "
        f"short for the plateau",
        file=name,
        fix="run longer (≥ 4× the current length), or more replicas, or fewer blocks per "
        "replica for longer lags",
    )
