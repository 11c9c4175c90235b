"""Integrators as three pieces around the force call, registered once by name.

The engine's step (:meth:`mlmd.md.engine.Engine.step`, LAMMPS ``Verlet::run`` order)::

    state = half_kick(integrator.pre_kick(state, ctx))   # (NHC: chain ½-step) + B
    state, heat = integrator.drift(state, ctx)          # A (Langevin: A/2 O A/2; barostat moves)
    exchange + borders, or forward → forces → reverse
    state = half_kick(state)                            # B
    global sums (E, W, K, heat)                         # one allreduce
    state = integrator.post_kick(state, ctx, heat)      # thermostat halves that need the global K

Each integrator is built from its own config (:mod:`mlmd.md.ensemble`) and keeps its
variables in a frozen dataclass on the state (``state.bath``: :class:`HeatBath`,
:class:`Chain`, or None), replaced every step and written to checkpoints field by field.

Symbols: x positions (Å), v velocities (Å/fs), F forces (eV/Å), m masses (amu),
dt timestep (fs), K kinetic energy (eV), kT target thermal energy (eV), N_f degrees of
freedom, W virial (eV), V volume (Å³), P pressure (eV/Å³), γ = 1/``damping_fs``.

- ``nve``: velocity Verlet: B(dt/2) A(dt) · F · B(dt/2).
- ``langevin``: BAOAB (Leimkuhler & Matthews 2013): B A O A · F · B with
  O: v ← c1 v + sqrt((1 − c1²) kT/m) ξ, c1 = exp(−γ dt), ξ keyed by (seed, id, step).
- ``nose_hoover_chain``: NHC(dt/2) B A · F · B NHC(dt/2) (Martyna, Tuckerman & Klein 1996;
  Suzuki–Yoshida order 3); Q_1 = N_f kT τ², Q_j = kT τ²; conserved
  H = E + Σ ½ Q_j v_ξj² + N_f kT ξ_1 + kT Σ_{j>1} ξ_j.
- ``npt``: BAOAB Langevin plus stochastic cell rescaling (Bernetti & Bussi 2020), applied
  after the drift with the pressure of the previous step:
  isotropic ε = ln V: dε = (β_T/τ_p)(P − P0) dt + sqrt(2 kT β_T /(V τ_p)) dW;
  per axis (orthorhombic) ε_a = ln L_a: dε_a = (β_T/(3τ_p))(P_aa − P0) dt +
  sqrt(2 kT β_T /(3 V τ_p)) dW_a; x ← e^{dε/3} x (per axis e^{dε_a}), v ← e^{−dε/3} v.
  (Itô form for D ∝ 1/V: the kT/V drift of the ln V equation cancels against dD/dε.)
- ``berendsen``: weak coupling for equilibration only (does not sample an ensemble):
  v ← λ v, λ² = 1 + (dt/τ)(T0/T − 1); with a pressure, x, cell ← μ x, μ³ = 1 − (β_T dt/τ_p)(P0 − P).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import ClassVar

import numpy as np

from mlmd import units
from mlmd.config import from_mapping
from mlmd.errors import ConfigError, InputError
from mlmd.md import ensemble as ens
from mlmd.md.rng import GLOBAL_STREAM, normals
from mlmd.md.state import MDState

#: Suzuki–Yoshida weights of order 3.
_YS3 = (1.0 / (2.0 - 2.0 ** (1.0 / 3.0)),) * 1
_YS3 = (_YS3[0], 1.0 - 2.0 * _YS3[0], _YS3[0])


@dataclass(frozen=True)
class StepContext:
    """What an integrator needs besides the state, for the step being taken.

    Attributes:
        temperature_K: target temperature at this step.
        pressure_GPa: target pressure at this step.
        seed: run seed for the counter-based noise.
        reduce: allreduce-sum of a float64 array across ranks.
    """

    temperature_K: float
    pressure_GPa: float
    seed: int
    reduce: Callable[[np.ndarray], np.ndarray]


def half_kick(state: MDState) -> MDState:
    """B: v ← v + ½ dt F/m."""
    a = state.forces * (units.FTM2V / state.masses)[:, None]
    return replace(state, velocities=state.velocities + 0.5 * state.dt_fs * a)


def drift(state: MDState, fraction: float = 1.0) -> MDState:
    """A: x ← x + fraction · dt v."""
    return replace(state, positions=state.positions + fraction * state.dt_fs * state.velocities)


def ornstein_uhlenbeck(
    state: MDState, damping_fs: float, temperature_K: float, seed: int
) -> tuple[MDState, float]:
    """O: exact friction + noise over dt; returns (state, local heat removed in eV)."""
    c1 = np.exp(-state.dt_fs / damping_fs)
    sigma = np.sqrt(
        (1 - c1 * c1) * units.KB_EV_PER_K * temperature_K / (state.masses * units.MVV2E)
    )
    xi = normals(seed, state.step + 1, state.ids)
    v = c1 * state.velocities + sigma[:, None] * xi
    m = 0.5 * units.MVV2E * state.masses[:, None]
    heat = float((m * (state.velocities**2 - v**2)).sum())
    return replace(state, velocities=v), heat


@dataclass(frozen=True)
class HeatBath:
    """Langevin / NPT variables: ``heat_eV`` given to the bath so far (global)."""

    heat_eV: float = 0.0


@dataclass(frozen=True, eq=False)
class Chain:
    """Nosé–Hoover chain variables: positions ``xi`` [M] and velocities ``v_xi`` [M] (1/fs)."""

    xi: np.ndarray
    v_xi: np.ndarray


@dataclass(frozen=True)
class NVE:
    """Velocity Verlet (see module docstring)."""

    cfg: ens.NVEConfig = ens.NVEConfig()
    Config: ClassVar[type] = ens.NVEConfig
    Vars: ClassVar[type | None] = None

    def dof(self, n_atoms: int) -> int:
        return 3 * n_atoms - 3

    def init(self, state: MDState, ctx: StepContext) -> MDState:
        return replace(state, bath=None)

    def pre_kick(self, state: MDState, ctx: StepContext) -> MDState:
        return state

    def drift(self, state: MDState, ctx: StepContext) -> tuple[MDState, float]:
        return drift(state), 0.0

    def post_kick(self, state: MDState, ctx: StepContext, heat: float) -> MDState:
        return state

    def conserved(self, state: MDState, ctx: StepContext) -> float:
        return state.potential_energy + state.kinetic_energy


def _baoab_drift(state: MDState, damping_fs: float, ctx: StepContext) -> tuple[MDState, float]:
    """A/2 O A/2 (after the first B); returns (state, local heat removed in eV)."""
    state, heat = ornstein_uhlenbeck(drift(state, 0.5), damping_fs, ctx.temperature_K, ctx.seed)
    return drift(state, 0.5), heat


def _add_heat(state: MDState, heat: float) -> MDState:
    return replace(state, bath=HeatBath(state.bath.heat_eV + heat))


@dataclass(frozen=True)
class Langevin(NVE):
    """BAOAB Langevin (see module docstring). ``damping_fs`` = 1/γ."""

    cfg: ens.LangevinConfig = ens.LangevinConfig()
    Config: ClassVar[type] = ens.LangevinConfig
    Vars: ClassVar[type | None] = HeatBath

    def dof(self, n_atoms: int) -> int:
        return 3 * n_atoms

    def init(self, state: MDState, ctx: StepContext) -> MDState:
        return replace(state, bath=HeatBath())

    def drift(self, state: MDState, ctx: StepContext) -> tuple[MDState, float]:
        return _baoab_drift(state, self.cfg.damping_fs, ctx)

    def post_kick(self, state: MDState, ctx: StepContext, heat: float) -> MDState:
        return _add_heat(state, heat)

    def conserved(self, state: MDState, ctx: StepContext) -> float:
        """E + heat given to the bath (constant up to the splitting error)."""
        return state.potential_energy + state.kinetic_energy + state.bath.heat_eV


@dataclass(frozen=True)
class NoseHooverChain(NVE):
    """Nosé–Hoover chain (see module docstring). ``damping_fs`` = τ."""

    cfg: ens.NoseHooverChainConfig = ens.NoseHooverChainConfig()
    Config: ClassVar[type] = ens.NoseHooverChainConfig
    Vars: ClassVar[type | None] = Chain

    def init(self, state: MDState, ctx: StepContext) -> MDState:
        m = self.cfg.chain_length
        return replace(state, bath=Chain(np.zeros(m), np.zeros(m)))

    def _masses(self, kT: float, dof: int) -> np.ndarray:
        q = np.full(self.cfg.chain_length, kT * self.cfg.damping_fs**2)
        q[0] *= dof
        return q

    def _half(self, state: MDState, ctx: StepContext) -> MDState:
        kT = units.KB_EV_PER_K * ctx.temperature_K
        dof = state.dof
        q = self._masses(kT, dof)
        v, xi = state.bath.v_xi.copy(), state.bath.xi.copy()
        kin = state.kinetic_energy
        m = self.cfg.chain_length

        def g(j: int) -> float:
            if j == 0:
                return (2.0 * kin - dof * kT) / q[0]
            return (q[j - 1] * v[j - 1] ** 2 - kT) / q[j]

        scale = 1.0
        h = 0.5 * state.dt_fs
        for w in _YS3:
            d = w * h
            v[m - 1] += 0.5 * d * g(m - 1)
            for j in range(m - 2, -1, -1):
                e = np.exp(-0.25 * d * v[j + 1])
                v[j] = v[j] * e * e + 0.5 * d * g(j) * e
            s = np.exp(-d * v[0])
            scale *= s
            kin *= s * s
            xi += d * v
            for j in range(m - 1):
                e = np.exp(-0.25 * d * v[j + 1])
                v[j] = v[j] * e * e + 0.5 * d * g(j) * e
            v[m - 1] += 0.5 * d * g(m - 1)
        return replace(
            state,
            velocities=state.velocities * scale,
            kinetic=state.kinetic * scale * scale,
            bath=Chain(xi, v),
        )

    def pre_kick(self, state: MDState, ctx: StepContext) -> MDState:
        return self._half(state, ctx)

    def post_kick(self, state: MDState, ctx: StepContext, heat: float) -> MDState:
        return self._half(state, ctx)

    def conserved(self, state: MDState, ctx: StepContext) -> float:
        kT = units.KB_EV_PER_K * ctx.temperature_K
        q = self._masses(kT, state.dof)
        v, xi = state.bath.v_xi, state.bath.xi
        chain = 0.5 * float((q * v * v).sum()) + state.dof * kT * xi[0] + kT * float(xi[1:].sum())
        return state.potential_energy + state.kinetic_energy + chain


def _scale_box(state: MDState, factors: np.ndarray) -> MDState:
    """Scale cell, positions by ``factors`` [3] along x, y, z (or isotropic if all equal)
    and velocities by 1/factors; the kinetic tensor follows."""
    if np.all(factors == factors[0]):
        f = factors[0]
        cell = state.cell * f
    else:
        cell = state.cell * factors[None, :]
    inv = 1.0 / factors
    return replace(
        state,
        cell=cell,
        positions=state.positions * factors,
        velocities=state.velocities * inv,
        kinetic=state.kinetic * np.outer(inv, inv),
    )


@dataclass(frozen=True)
class StochasticCellRescaling(Langevin):
    """NPT: BAOAB Langevin + stochastic cell rescaling (see module docstring)."""

    cfg: ens.NPTConfig = ens.NPTConfig()
    Config: ClassVar[type] = ens.NPTConfig

    def init(self, state: MDState, ctx: StepContext) -> MDState:
        if self.cfg.coupling == "per_axis" and not np.allclose(
            state.cell, np.diag(np.diag(state.cell))
        ):
            raise InputError(
                "per-axis pressure coupling needs an orthorhombic cell",
                field="ensemble.coupling",
                fix="use coupling = 'isotropic' for a triclinic cell",
            )
        return super().init(state, ctx)

    def drift(self, state: MDState, ctx: StepContext) -> tuple[MDState, float]:
        state, heat = super().drift(state, ctx)
        c = self.cfg
        kT = units.KB_EV_PER_K * ctx.temperature_K
        beta = c.compressibility_per_GPa / units.GPA  # Å³/eV
        p0 = ctx.pressure_GPa * units.GPA
        ptensor = state.pressure_tensor
        vol, dt, tau = state.volume, state.dt_fs, c.barostat_damping_fs
        if c.coupling == "isotropic":
            p = np.trace(ptensor) / 3.0
            xi = normals(ctx.seed, state.step + 1, np.array([GLOBAL_STREAM]), 1)[0, 0]
            de = beta / tau * (p - p0) * dt + np.sqrt(2 * kT * beta * dt / (vol * tau)) * xi
            factors = np.full(3, np.exp(de / 3.0))
        else:
            xi = normals(ctx.seed, state.step + 1, np.array([GLOBAL_STREAM]), 3)[0]
            de = beta / (3 * tau) * (np.diag(ptensor) - p0) * dt
            de = de + np.sqrt(2 * kT * beta * dt / (3 * vol * tau)) * xi
            factors = np.exp(de)
        return _scale_box(state, factors), heat

    def conserved(self, state: MDState, ctx: StepContext) -> float:
        """Enthalpy-like E + P0 V + heat (not exactly conserved: the barostat does work)."""
        pv = ctx.pressure_GPa * units.GPA * state.volume
        return super().conserved(state, ctx) + pv


@dataclass(frozen=True)
class Berendsen(NVE):
    """Berendsen weak coupling for equilibration (see module docstring)."""

    cfg: ens.BerendsenConfig = ens.BerendsenConfig()
    Config: ClassVar[type] = ens.BerendsenConfig

    def drift(self, state: MDState, ctx: StepContext) -> tuple[MDState, float]:
        state, c = drift(state), self.cfg
        if c.barostat:
            p = np.trace(state.pressure_tensor) / 3.0
            beta = c.compressibility_per_GPa / units.GPA
            mu3 = 1.0 - beta * state.dt_fs / c.barostat_damping_fs * (
                ctx.pressure_GPa * units.GPA - p
            )
            mu = np.cbrt(np.clip(mu3, 0.9, 1.1))
            state = replace(state, cell=state.cell * mu, positions=state.positions * mu)
        return state, 0.0

    def post_kick(self, state: MDState, ctx: StepContext, heat: float) -> MDState:
        t = state.temperature_K
        if t <= 0:
            return state
        lam2 = 1.0 + state.dt_fs / self.cfg.damping_fs * (ctx.temperature_K / t - 1.0)
        lam = np.sqrt(np.clip(lam2, 0.64, 1.44))
        return replace(state, velocities=state.velocities * lam, kinetic=state.kinetic * lam * lam)


#: The integrator registry: ``[ensemble] kind`` → integrator class (its ``Config`` parses the
#: rest of the table, its ``Vars`` are the variables it keeps on the state).
INTEGRATORS: dict[str, type[NVE]] = {
    "nve": NVE,
    "langevin": Langevin,
    "nose_hoover_chain": NoseHooverChain,
    "npt": StochasticCellRescaling,
    "berendsen": Berendsen,
}


def parse_ensemble(data, source: str = "<md config>", prefix: str = "ensemble"):
    """The ``[ensemble]`` table ``data`` parsed into its integrator's config, strictly."""
    if any(isinstance(data, cls.Config) for cls in INTEGRATORS.values()):
        return data
    if not isinstance(data, dict):
        return from_mapping(ens.NVEConfig, data, source=source, prefix=prefix)  # names the error
    kind = data.get("kind", "nve")
    if kind not in INTEGRATORS:
        raise ConfigError(
            f"unknown integrator {kind!r}",
            file=source,
            field=f"{prefix}.kind",
            fix=f"choose one of {', '.join(INTEGRATORS)}",
        )
    cls = INTEGRATORS[kind].Config
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise ConfigError(
            f"'{unknown[0]}' does not apply to kind = {kind!r}",
            file=source,
            field=f"{prefix}.{unknown[0]}",
            fix=f"valid keys for {kind}: {', '.join(f.name for f in fields(cls))}",
        )
    return from_mapping(cls, data, source=source, prefix=prefix)


def make_integrator(config: ens.EnsembleConfig | str = "nve", **params) -> NVE:
    """The registered integrator for ``config`` (or for the kind ``config`` with ``params``)."""
    if isinstance(config, str):
        config = parse_ensemble({"kind": config, **params}, source="make_integrator")
    return INTEGRATORS[config.kind](config)
