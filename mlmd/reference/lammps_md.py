"""Reference MD with LAMMPS for validation: the ``lammps`` reference's pair style, run by
LAMMPS itself, written as an H5MD trajectory with mlmd's layout (``mlmd analyze`` reads it).

    path = run_reference_md(settings, frame, ReferenceMDSpec(steps=2000, ...), out_dir)

Ensembles (metal units inside LAMMPS; mlmd units outside):

- ``nvt``: ``fix nve`` + ``fix langevin`` (damping = 1/γ = ``damping_fs``, as mlmd's BAOAB
  Langevin; ``zero yes`` removes the net random force) at the frame's fixed cell.
- ``npt``: the same Langevin thermostat + ``fix nph iso`` (an MTK barostat, time constant
  ``barostat_damping_fs``), for melt–quench at a pressure.

A schedule (``schedule.time_ps`` knots with ``temperature_K`` / ``pressure_GPa`` values,
linear between knots, as mlmd's ``[schedule]``) runs segment by segment, each as LAMMPS's
own linear ramp (``Tstart Tstop``, ``Pstart Pstop``). Every ``thermo_every`` steps the
observables potential/kinetic/total energy, temperature, pressure, volume and density are
written (also as rows of ``thermo.log`` in mlmd's columns, as they come: what a campaign's
progress meter reads); every ``trajectory_every`` steps positions (wrapped), images and the
cell (in the frame's own axes). ``/parameters`` holds the run as mlmd's MD config keys (``steps``,
``timestep_fs``, ``ensemble``, ``schedule``), so analysis windows by schedule segment work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms
from ase.data import atomic_masses

from mlmd import units
from mlmd.config import from_mapping
from mlmd.data import Frame
from mlmd.errors import ConfigError, InputError
from mlmd.md.h5md import H5MDWriter
from mlmd.md.observables import TABLE
from mlmd.md.thermo import ThermoLog
from mlmd.progress import Progress
from mlmd.reference import lammps_lib
from mlmd.reference.lammps import Lammps, LammpsSettings, load_lammps_settings

TRAJECTORY_NAME = "trajectory.h5"
THERMO_NAME = "thermo.log"
BAR_PER_GPA = 1e4


@dataclass(frozen=True)
class MDSchedule:
    """Piecewise-linear targets between ``time_ps`` knots (None: the ensemble's constant)."""

    time_ps: tuple[float, ...] = ()
    temperature_K: tuple[float, ...] | None = None
    pressure_GPa: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ReferenceMDSpec:
    """One reference MD run (units in names; times in fs unless ``_ps``)."""

    steps: int
    timestep_fs: float = 1.0
    ensemble: Literal["nvt", "npt"] = "nvt"
    temperature_K: float = 300.0
    pressure_GPa: float = 0.0
    damping_fs: float = 100.0
    barostat_damping_fs: float = 1000.0
    schedule: MDSchedule = field(default_factory=MDSchedule)
    thermo_every: int = 10
    trajectory_every: int = 100
    seed: int = 1

    def __post_init__(self) -> None:
        _check_spec(self)


def _check_spec(s: ReferenceMDSpec) -> None:
    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ConfigError(what, field=key, fix="change the value")

    need(s.steps >= 1, "steps", "must be >= 1")
    for key in ("timestep_fs", "damping_fs", "barostat_damping_fs"):
        need(math.isfinite(getattr(s, key)) and getattr(s, key) > 0, key, "must be > 0")
    need(math.isfinite(s.temperature_K) and s.temperature_K > 0, "temperature_K", "must be > 0")
    need(s.thermo_every >= 1, "thermo_every", "must be >= 1")
    need(s.trajectory_every % s.thermo_every == 0, "trajectory_every", "a multiple of thermo_every")
    need(s.seed >= 1, "seed", "must be >= 1 (LAMMPS seeds are positive)")
    sch = s.schedule
    for key in ("temperature_K", "pressure_GPa"):
        values = getattr(sch, key)
        need(values is None or len(values) == len(sch.time_ps), f"schedule.{key}", "one per knot")
    need(list(sch.time_ps) == sorted(sch.time_ps), "schedule.time_ps", "must not decrease")
    need(sch.pressure_GPa is None or s.ensemble == "npt", "schedule.pressure_GPa", "needs npt")


def load_md_spec(value: ReferenceMDSpec | Mapping[str, Any]) -> ReferenceMDSpec:
    """``value`` as a :class:`ReferenceMDSpec` (a mapping is parsed strictly)."""
    if isinstance(value, ReferenceMDSpec):
        return value
    return from_mapping(ReferenceMDSpec, dict(value), source="<reference md>")


def _target(spec: ReferenceMDSpec, key: str, t_ps: float) -> float:
    values = getattr(spec.schedule, key)
    if not values:
        return float(getattr(spec, key))
    return float(np.interp(t_ps, spec.schedule.time_ps, values))


def segments(spec: ReferenceMDSpec) -> list[tuple[int, int]]:
    """``(first step, last step)`` of each schedule segment inside the run."""
    dt_ps = spec.timestep_fs * 1e-3
    cuts = sorted({0, spec.steps, *(round(t / dt_ps) for t in spec.schedule.time_ps)})
    cuts = [c for c in cuts if 0 <= c <= spec.steps]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _fixes(spec: ReferenceMDSpec, a: int, b: int) -> list[str]:
    """The integrator fixes of the segment from step ``a`` to ``b`` (LAMMPS ramps)."""
    dt_ps = spec.timestep_fs * 1e-3
    t0, t1 = (_target(spec, "temperature_K", s * dt_ps) for s in (a, b))
    damp_ps = spec.damping_fs * 1e-3
    lines = [f"fix therm all langevin {t0} {t1} {damp_ps} {spec.seed + a} zero yes"]
    if spec.ensemble == "nvt":
        return ["fix integ all nve", *lines]
    p0, p1 = (_target(spec, "pressure_GPa", s * dt_ps) * BAR_PER_GPA for s in (a, b))
    pdamp_ps = spec.barostat_damping_fs * 1e-3
    return [f"fix integ all nph iso {p0} {p1} {pdamp_ps}", *lines]


def stored_config(spec: ReferenceMDSpec, reference: dict[str, Any]) -> dict[str, Any]:
    """The run in mlmd's MD config keys (what analysis reads from ``/parameters``)."""
    sch = asdict(spec.schedule)
    return {
        "potential": f"lammps:{reference['pair_style']}",
        "reference": reference,
        "steps": spec.steps,
        "timestep_fs": spec.timestep_fs,
        "seed": spec.seed,
        "ensemble": {
            "kind": "langevin" if spec.ensemble == "nvt" else "npt",
            "temperature_K": spec.temperature_K,
            "pressure_GPa": spec.pressure_GPa,
            "damping_fs": spec.damping_fs,
            "barostat_damping_fs": spec.barostat_damping_fs,
        },
        "schedule": {k: (list(v) if v is not None else None) for k, v in sch.items()},
        "output": {"trajectory_every": spec.trajectory_every, "thermo_every": spec.thermo_every},
        "engine": "lammps",
    }


@dataclass
class _Box:
    """The live run: the LAMMPS instance, the frame's rotation into LAMMPS axes, masses."""

    lmp: Any
    rot: np.ndarray
    mass_amu: float


def _state(box: _Box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell [3, 3], wrapped positions [n, 3], images [n, 3]) in the frame's axes."""
    lmp = box.lmp
    lo, hi, xy, yz, xz, _, _ = lmp.extract_box()
    cell_l = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
    x = lammps_lib.per_atom(lmp, "x") - np.asarray(lo)
    nlocal = int(lmp.extract_global("nlocal"))
    ids = np.array(lmp.numpy.extract_atom("id")[:nlocal])
    packed = np.array(lmp.numpy.extract_atom("image")[:nlocal], dtype=np.int64)[np.argsort(ids)]
    img = np.stack([(packed & 1023) - 512, (packed >> 10 & 1023) - 512, (packed >> 20) - 512], 1)
    unwrapped = x + img @ cell_l
    frac = np.linalg.solve(cell_l.T, unwrapped.T).T
    images = np.floor(frac)
    wrapped = (frac - images) @ cell_l
    return cell_l @ box.rot, wrapped @ box.rot, images.astype(np.int32)


def _observables(box: _Box, n_atoms: int) -> dict[str, float]:
    lmp = box.lmp
    pe, ke = float(lmp.get_thermo("pe")), float(lmp.get_thermo("ke"))
    volume = float(lmp.get_thermo("vol"))
    return {
        "potential_energy": pe,
        "kinetic_energy": ke,
        "total_energy": pe + ke,
        "temperature": float(lmp.get_thermo("temp")),
        "pressure": float(lmp.get_thermo("press")) / BAR_PER_GPA,
        "volume": volume,
        "density": box.mass_amu / volume * units.AMU_PER_A3_TO_G_PER_CM3,
    }


def run_reference_md(
    settings: LammpsSettings | Mapping[str, Any],
    frame: Frame,
    md: ReferenceMDSpec | Mapping[str, Any],
    out_dir: str | Path,
    *,
    progress: bool = True,
) -> Path:
    """Run LAMMPS MD of ``frame`` under ``settings`` and write ``out_dir/trajectory.h5`` and
    ``out_dir/thermo.log`` (a progress bar with ETA on a terminal's stderr unless
    ``progress`` is False).

    Raises:
        InputError: bad settings or spec (named), elements outside the potential, an
            open-boundary frame, or an existing trajectory in ``out_dir``.
    """
    settings = settings if isinstance(settings, LammpsSettings) else load_lammps_settings(settings)
    spec = load_md_spec(md)
    out = Path(out_dir) / TRAJECTORY_NAME
    if out.exists():
        raise InputError("trajectory exists", file=str(out), fix="choose a new out_dir")
    ref = Lammps(settings)
    try:
        ref.check_elements(frame.numbers)
        if not frame.pbc.all():
            raise InputError("reference MD needs a periodic cell", field="frame.pbc")
        box = _start(ref, frame, spec)
        writer = H5MDWriter(
            out,
            frame.numbers,
            atomic_masses[frame.numbers],
            np.arange(frame.n_atoms),
            stored_config(spec, ref.reference),
        )
        bar = Progress(
            spec.steps, f"md[lammps {settings.pair_style}]", unit="step", enabled=progress
        )
        thermo = ThermoLog(Path(out_dir) / THERMO_NAME, echo=None)
        try:
            _run_segments(box, spec, (writer, thermo), frame.n_atoms, bar)
        finally:
            writer.close()
            thermo.close()
            bar.close()
    finally:
        ref.close()
    return out


def _start(ref: Lammps, frame: Frame, spec: ReferenceMDSpec) -> _Box:
    atoms = Atoms(numbers=frame.numbers, positions=frame.positions, cell=frame.cell, pbc=True)
    types = np.array([ref.types[int(z)] for z in frame.numbers])
    rot = lammps_lib.load_atoms(ref.lmp, atoms, types)
    t0 = _target(spec, "temperature_K", 0.0)
    for line in (
        "reset_timestep 0",
        f"timestep {spec.timestep_fs * 1e-3}",
        f"velocity all create {t0} {spec.seed} dist gaussian mom yes rot no",
        "thermo_style custom step pe ke temp press vol",
        f"thermo {spec.thermo_every}",
    ):
        lammps_lib.command(ref.lmp, line)
    return _Box(ref.lmp, rot, float(atomic_masses[frame.numbers].sum()))


def _run_segments(
    box: _Box, spec: ReferenceMDSpec, writers: tuple, n_atoms: int, bar: Progress
) -> None:
    """Run every schedule segment in chunks of ``thermo_every`` steps, writing as it goes
    (``writers``: the H5MD writer and the thermo log)."""
    lammps_lib.command(box.lmp, "run 0 post no")
    _write(box, spec, writers, 0, n_atoms)
    for a, b in segments(spec):
        for line in _fixes(spec, a, b):
            lammps_lib.command(box.lmp, line)
        step = a
        while step < b:
            n = min(spec.thermo_every - step % spec.thermo_every, b - step)
            pre = "yes" if step == a else "no"  # new fixes need LAMMPS's full setup
            lammps_lib.command(box.lmp, f"run {n} start {a} stop {b} pre {pre} post no")
            step += n
            _write(box, spec, writers, step, n_atoms)
            bar.advance(n)
        for fix in ("integ", "therm"):
            lammps_lib.command(box.lmp, f"unfix {fix}")


def _write(box: _Box, spec: ReferenceMDSpec, writers: tuple, step: int, n: int) -> None:
    writer, thermo = writers
    time_fs = step * spec.timestep_fs
    if step % spec.thermo_every == 0:
        values = _observables(box, n)
        writer.write_observables(step, time_fs, values)
        columns = {o.column: values.get(o.name) for o in TABLE if o.column}
        thermo.row(step=step, time_ps=time_fs * 1e-3, **columns)
    if step % spec.trajectory_every == 0:
        cell, positions, images = _state(box)
        writer.write_frame(step, time_fs, cell, positions, images)


__all__ = ["MDSchedule", "ReferenceMDSpec", "run_reference_md", "segments"]
