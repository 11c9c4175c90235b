"""Bulk modulus two ways: NPT volume fluctuations, and an equation of state fitted to P(V).

**Fluctuations** (isothermal–isobaric ensemble; any barostat that samples it, e.g. mlmd's
stochastic cell rescaling — not Berendsen)::

    K_T = k_B T ⟨V⟩ / ⟨δV²⟩

⟨δV²⟩ is the mean of (V − V̄)² over the samples; its standard error comes from the spread of
that mean over ``n_blocks`` contiguous blocks (each must be long against the volume's
correlation time: the run must hold ≥ :data:`MIN_EFFECTIVE` independent samples, counted
with the integrated autocorrelation time of V), and K's relative error is that of ⟨δV²⟩.

**P–V scan**: pressures at a few volumes around the equilibrium one (cells relaxed at 0 K, or
MD-averaged at a temperature) fitted with the third-order Birch–Murnaghan equation of state::

    P(V) = (3K₀/2) [x^{7/3} − x^{5/3}] {1 + ¾ (K₀′ − 4)(x^{2/3} − 1)},   x = V₀/V

(with three volumes K₀′ is fixed to 4, the second-order form), or the local quadratic, the
second-order Taylor expansion of any EOS about V₀ (ε = V/V₀ − 1)::

    P(V) = −K₀ ε + ½ K₀ (K₀′ + 1) ε²
Errors from the fit's covariance (the pressure errors as absolute σ when given, else the
residual scatter).

Units: volume Å³, pressure and modulus GPa, temperature K.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
from scipy.optimize import curve_fit

from mlmd import units
from mlmd.errors import InputError

#: Fewest statistically independent volume samples for a fluctuation modulus.
MIN_EFFECTIVE = 20


@dataclass(frozen=True)
class FluctuationModulus:
    """K_T ± σ (GPa) from volume fluctuations, with the statistics behind it."""

    value_GPa: float
    error_GPa: float
    mean_volume_A3: float
    std_volume_A3: float
    temperature_K: float
    n_samples: int
    correlation_samples: float
    n_blocks: int

    def summary(self) -> dict:
        return {"value": self.value_GPa, "error": self.error_GPa, "unit": "GPa", **asdict(self)}


@dataclass(frozen=True)
class EOSFit:
    """An equation of state P(V): V₀ (Å³), K₀ and K₀′ with standard errors; ``rms_GPa`` is the
    residual; ``eos`` names the form (quadratic, birch_murnaghan_2 with K₀′ = 4, or _3)."""

    eos: str
    v0_A3: float
    v0_err_A3: float
    k0_GPa: float
    k0_err_GPa: float
    k0_prime: float
    k0_prime_err: float
    rms_GPa: float

    def pressure_GPa(self, volume_A3: np.ndarray) -> np.ndarray:
        """P(V) of the fit."""
        v = np.asarray(volume_A3, dtype=float)
        form = _quadratic if self.eos == "quadratic" else _bm3
        return form(v, self.v0_A3, self.k0_GPa, self.k0_prime)

    def summary(self) -> dict:
        return {"value": self.k0_GPa, "error": self.k0_err_GPa, "unit": "GPa", **asdict(self)}


def integrated_correlation_samples(x: np.ndarray) -> float:
    """Integrated autocorrelation time of ``x`` in samples, τ = ½ + Σ_k ρ(k), summed up to
    the first lag k ≥ 5τ(k) (Sokal's automatic window); 0.5 for white noise."""
    d = np.asarray(x, dtype=float) - np.mean(x)
    n = len(d)
    var = float(np.dot(d, d))
    if n < 4 or var == 0:
        return 0.5
    f = np.fft.rfft(d, 2 * n)
    rho = np.fft.irfft(f * np.conj(f))[:n] / var * n / (n - np.arange(n))
    tau = 0.5
    for k in range(1, n // 2):
        tau += rho[k]
        if k >= 5 * tau:
            break
    return float(max(tau, 0.5))


def bulk_modulus_fluctuations(
    volume_A3: np.ndarray,
    temperature_K: float,
    *,
    n_blocks: int = 5,
    name: str = "volume",
) -> FluctuationModulus:
    """K_T = k_B T ⟨V⟩/⟨δV²⟩ from NPT volume samples [T] (see module docstring).

    Raises:
        InputError: a constant volume (not an NPT run), too few independent samples.
    """
    v = np.asarray(volume_A3, dtype=float).ravel()
    if temperature_K <= 0:
        raise InputError(f"temperature {temperature_K} K must be positive", file=name)
    if len(v) < 2 * n_blocks or np.ptp(v) <= 1e-12 * max(1.0, float(np.max(np.abs(v)))):
        raise InputError(
            "the volume does not fluctuate: volume fluctuations need an NPT run",
            file=name,
            fix="run the MD with ensemble.kind = 'npt'",
        )
    tau = integrated_correlation_samples(v)
    n_eff = len(v) / (2 * tau)
    if n_eff < MIN_EFFECTIVE:
        raise InputError(
            f"{len(v)} volume samples hold only {n_eff:.1f} independent ones (correlation "
            f"{tau:.1f} samples); a fluctuation modulus needs ≥ {MIN_EFFECTIVE}",
            file=name,
            fix=f"run ≥ {MIN_EFFECTIVE / n_eff:.1f}× longer (or a shorter barostat time)",
        )
    dev2 = (v - v.mean()) ** 2
    per_block = np.array([b.mean() for b in np.array_split(dev2, n_blocks)])
    var = float(dev2.mean())
    var_err = float(per_block.std(ddof=1) / np.sqrt(n_blocks))
    k = units.KB_EV_PER_K * temperature_K * float(v.mean()) / var / units.GPA
    return FluctuationModulus(
        value_GPa=k,
        error_GPa=k * var_err / var,
        mean_volume_A3=float(v.mean()),
        std_volume_A3=float(np.sqrt(var)),
        temperature_K=float(temperature_K),
        n_samples=len(v),
        correlation_samples=tau,
        n_blocks=n_blocks,
    )


def _bm3(v, v0, k0, kp):
    x = (v0 / v) ** (2.0 / 3.0)
    return 1.5 * k0 * (x**3.5 - x**2.5) * (1.0 + 0.75 * (kp - 4.0) * (x - 1.0))


def _quadratic(v, v0, k0, kp):
    e = v / v0 - 1.0
    return -k0 * e + 0.5 * k0 * (kp + 1.0) * e * e


def fit_eos(
    volume_A3: Sequence[float],
    pressure_GPa: Sequence[float],
    pressure_err_GPa: Sequence[float] | None = None,
    *,
    eos: Literal["birch_murnaghan", "quadratic"] = "birch_murnaghan",
) -> EOSFit:
    """Fit P(V) (see module docstring); ≥ 3 distinct volumes.

    Raises:
        InputError: too few points, pressures that do not fall with volume, no root.
    """
    v = np.asarray(volume_A3, dtype=float)
    p = np.asarray(pressure_GPa, dtype=float)
    sigma = None if pressure_err_GPa is None else np.asarray(pressure_err_GPa, dtype=float)
    if len(v) != len(p) or len(np.unique(v)) < 3:
        raise InputError(
            f"{len(np.unique(v))} distinct volumes for {len(p)} pressures: an EOS fit needs ≥ 3",
            field="volumes",
            fix="scan at least three volumes (e.g. strains -0.02, 0, 0.02)",
        )
    slope, intercept = np.polyfit(v, p, 1)
    if slope >= 0:
        raise InputError(
            "the pressure does not fall with volume (mechanically unstable or noisy scan)",
            field="pressures",
            fix="relax or equilibrate each cell longer, or scan a wider volume range",
        )
    if sigma is not None and (sigma <= 0).any():
        sigma = None
    v0_guess = -intercept / slope
    guess = (v0_guess, -v0_guess * slope, 4.0)
    fixed = len(v) == 3
    form = _quadratic if eos == "quadratic" else _bm3
    func = (lambda x, v0, k0: form(x, v0, k0, 4.0)) if fixed else form
    popt, pcov = curve_fit(
        func, v, p, p0=guess[:2] if fixed else guess, sigma=sigma, absolute_sigma=sigma is not None
    )
    err = np.sqrt(np.clip(np.diag(pcov), 0, None))
    kp, kp_err = (4.0, 0.0) if fixed else (popt[2], err[2])
    fit = EOSFit(
        eos=eos if eos == "quadratic" else ("birch_murnaghan_2" if fixed else "birch_murnaghan_3"),
        v0_A3=float(popt[0]),
        v0_err_A3=float(err[0]),
        k0_GPa=float(popt[1]),
        k0_err_GPa=float(err[1]),
        k0_prime=float(kp),
        k0_prime_err=float(kp_err),
        rms_GPa=0.0,
    )
    return _with_rms(fit, v, p)


def _with_rms(fit: EOSFit, v, p) -> EOSFit:
    return replace(fit, rms_GPa=float(np.sqrt(np.mean((fit.pressure_GPa(v) - p) ** 2))))


def relaxed_pv_scan(
    atoms,
    calculator,
    linear_strains: Sequence[float] = (-0.01, -0.005, 0.0, 0.005, 0.01),
    *,
    relax_ions: bool = True,
    fmax_eV_A: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """Volumes [n] (Å³) and 0 K pressures [n] (GPa) of ``atoms`` scaled isotropically by
    1 + s for each linear strain s, ions relaxed at each fixed cell (ASE ``calculator``)."""
    from mlmd.properties.relax import relax, strained

    volumes, pressures = [], []
    for s in linear_strains:
        work = strained(atoms, np.array([s, s, s, 0.0, 0.0, 0.0]))
        if relax_ions:
            work, info = relax(work, calculator, fmax_eV_A=fmax_eV_A)
            stress = np.asarray(info.stress_GPa)
        else:
            work.calc = calculator
            stress = work.get_stress() / units.GPA
        volumes.append(work.get_volume())
        pressures.append(-float(np.mean(stress[:3])))
    return np.array(volumes), np.array(pressures)


def bulk_modulus_from_run(path, *, window=None, n_blocks: int = 5) -> FluctuationModulus:
    """K_T from the ``volume`` (and ``temperature``) observables of an NPT trajectory in an
    analysis ``window`` (CONTRACTS §3: ``"time_ps:A:B"``, ``"segment:K"``; None = all).

    Raises:
        InputError: a run that is not NPT (mlmd's ``npt``; Berendsen does not sample the
            ensemble's fluctuations), or whose target temperature or pressure changes in the
            window, or too short.
    """
    from mlmd.properties.observables import read_run

    run = read_run(path)
    start_ps, end_ps = run.window_ps(window)
    if run.ensemble != "npt":
        raise InputError(
            f"ensemble '{run.ensemble}' does not sample NPT volume fluctuations",
            file=str(path),
            field="ensemble.kind",
            fix="run the MD with ensemble.kind = 'npt' (stochastic cell rescaling)",
        )
    _check_constant(run, "temperature_K", start_ps, end_ps)
    _check_constant(run, "pressure_GPa", start_ps, end_ps)
    volume = run.series("volume", "NPT volume fluctuations").between(start_ps, end_ps)
    target = run.config.get("ensemble", {}).get("temperature_K")
    if "temperature" in run.observables:
        temperature = float(run.observables["temperature"].between(start_ps, end_ps).value.mean())
    else:
        temperature = float(target)
    return bulk_modulus_fluctuations(volume.value, temperature, n_blocks=n_blocks, name=str(path))


def _check_constant(run, key: str, start_ps, end_ps) -> None:
    """An InputError when the schedule changes ``key`` inside [start, end] ps."""
    sched = run.config.get("schedule") or {}
    values, times = sched.get(key), sched.get("time_ps") or []
    if not values:
        return
    lo = -np.inf if start_ps is None else start_ps
    hi = np.inf if end_ps is None else end_ps
    grid = np.array([lo, *[t for t in times if lo < t < hi], hi])
    grid = np.clip(grid, times[0], times[-1])
    sampled = np.interp(grid, times, values)
    if np.ptp(sampled) > 1e-9 * max(1.0, float(np.max(np.abs(sampled)))):
        raise InputError(
            f"the schedule changes {key} from {sampled.min():g} to {sampled.max():g} in the window",
            file=str(run.path),
            field=f"schedule.{key}",
            fix="choose a window inside one constant hold (e.g. window='segment:-1')",
        )
