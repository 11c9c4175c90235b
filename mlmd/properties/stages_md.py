"""The MD-based properties of ``mlmd properties``: each runs its segments (collective), then
analyses them on rank 0 and writes its curve; every function returns the property's summary
(the same dict on every rank).

- viscosity: per temperature and replica, Langevin NVT equilibration, then a production run
  (Nosé–Hoover chain with a 1 ps time, or NVE) writing the pressure tensor;
- bulk modulus: NPT at (T, P) for the fluctuations, then NVT at cells scaled around the NPT
  mean volume for an MD-averaged P–V scan;
- thermal expansion / density curve: one NPT run holding each temperature in turn;
- glass transition: an NPT hold at the start temperature and a linear quench; the kinks of
  the enthalpy per atom and of the volume per atom against the target temperature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from mlmd.analysis.thermo import block_error
from mlmd.errors import InputError, MlmdError
from mlmd.properties import bulk, thermal
from mlmd.properties.config import (
    BulkModulusConfig,
    GlassTransitionConfig,
    MDSettings,
    ScanConfig,
    ViscosityConfig,
)
from mlmd.properties.observables import read_run
from mlmd.properties.report import write_curve
from mlmd.properties.segments import (
    SegmentSpec,
    ensemble_table,
    md_config,
    on_root,
    run_segment,
    scaled,
    stepped_schedule,
    steps_for,
)
from mlmd.properties.viscosity import viscosity_from_runs


def run_viscosity(md: MDSettings, cfg: ViscosityConfig, out: Path, start, comm) -> dict:
    """Green–Kubo viscosity at each temperature (see module docstring); replica r runs on
    rank group r mod ``cfg.replica_groups``."""
    groups = {}
    if cfg.trajectories:
        groups[None] = [Path(p) for p in cfg.trajectories]
    temps = () if cfg.trajectories else cfg.temperatures_K
    sub, color = _replica_comm(comm, cfg.replica_groups) if temps else (comm, 0)
    error = None
    try:
        for temp in temps:
            groups[temp] = [out / f"T{temp:.0f}" / f"replica{r}" for r in range(cfg.replicas)]
            for r, base in enumerate(groups[temp]):
                if r % cfg.replica_groups == color:
                    _viscosity_replica(md, cfg, base, temp=temp, r=r, start=start, comm=sub)
    except MlmdError as exc:  # one group failing must not leave the others waiting
        error = exc
    if sub is not comm:
        errors = [e for e in comm.allgather(error) if e is not None]
        sub.Free()
        error = errors[0] if errors else None
    if error is not None:
        raise error
    for temp in temps:
        groups[temp] = [base / "production" / "trajectory.h5" for base in groups[temp]]
    points = [on_root(_viscosity_point, paths, cfg, out, comm=comm) for paths in groups.values()]
    return {"points": points}


def _replica_comm(comm, groups: int):
    """This rank's group communicator (contiguous ranks) and the group's index."""
    size = comm.Get_size()
    if groups == 1:
        return comm, 0
    if size % groups:
        raise InputError(
            f"{size} MPI ranks cannot form {groups} equal replica groups",
            field="viscosity.replica_groups",
            fix=f"run on a multiple of {groups} ranks (mpiexec -n {groups}) or set "
            f"replica_groups to a divisor of {size}",
        )
    color = comm.Get_rank() * groups // size
    return comm.Split(color, comm.Get_rank()), color


def _viscosity_replica(md, cfg: ViscosityConfig, base: Path, *, temp: float, r: int, start, comm):
    """Replica ``r``: Langevin NVT equilibration, then the production continuing it."""
    n_eq, n_prod = steps_for(md, cfg.equilibration_ps), steps_for(md, cfg.production_ps)
    eq_cfg = md_config(
        md,
        SegmentSpec(
            base / "equilibration",
            ensemble_table(md, "langevin", temp),
            n_eq,
            seed_offset=r,
            initial_temperature_K=temp,
        ),
    )
    eq = run_segment(eq_cfg, structure=start, comm=comm)
    ensemble = ensemble_table(md, cfg.production, temp, None, cfg.production_damping_fs)
    prod_cfg = md_config(
        md,
        SegmentSpec(
            base / "production",
            ensemble,
            n_eq + n_prod,
            seed_offset=r,
            pressure_tensor_every=cfg.pressure_tensor_every,
        ),
    )
    run_segment(prod_cfg, restart=eq.checkpoint, comm=comm)


def _viscosity_point(paths: list[Path], cfg: ViscosityConfig, out: Path) -> dict:
    eta = viscosity_from_runs(paths, blocks_per_series=cfg.blocks_per_replica)
    gk = eta.gk
    stem = out / f"viscosity_{eta.temperature_K:.0f}K"
    files = write_curve(
        stem,
        {
            "lag_ps": gk.lag_fs / 1e3,
            "eta_Pa_s": gk.running,
            "eta_Pa_s_err": gk.running_err,
            **{f"eta_{k}_Pa_s": v for k, v in gk.components.items()},
        },
        title=f"Green–Kubo running integral, {eta.temperature_K:.0f} K "
        f"(plateau {gk.window_fs[0] / 1e3:.2f}–{gk.window_fs[1] / 1e3:.2f} ps)",
        ylabel="η (Pa s)",
        lines={"plateau": (np.array(gk.window_fs) / 1e3, [eta.value_Pa_s] * 2)},
    )
    return {**eta.summary(), "trajectories": [str(p) for p in paths], "files": files}


def run_bulk_modulus(md: MDSettings, cfg: BulkModulusConfig, out: Path, start, comm) -> dict:
    """K from NPT fluctuations and from an MD-averaged P–V scan (see module docstring)."""
    if cfg.trajectories:
        return on_root(_fluctuations, [Path(p) for p in cfg.trajectories], None, cfg, comm=comm)
    n_eq, n_prod = steps_for(md, cfg.equilibration_ps), steps_for(md, cfg.production_ps)
    npt = run_segment(
        md_config(
            md,
            SegmentSpec(
                out / "npt",
                ensemble_table(md, "npt", cfg.temperature_K, cfg.pressure_GPa),
                n_eq + n_prod,
                initial_temperature_K=cfg.temperature_K,
            ),
        ),
        structure=start,
        comm=comm,
    )
    result = on_root(_fluctuations, [npt.trajectory], cfg.equilibration_ps, cfg, comm=comm)
    if len(cfg.pv_strains) >= 3:
        result["pv_scan"] = _pv_scan(md, cfg, out, npt_traj=npt.trajectory, fluct=result, comm=comm)
    return result


def _fluctuations(paths, start_ps, cfg: BulkModulusConfig) -> dict:
    window = None if start_ps is None else f"time_ps:{start_ps}:"
    fits = [bulk.bulk_modulus_from_run(p, window=window, n_blocks=cfg.n_blocks) for p in paths]
    w = np.array([f.error_GPa**-2 for f in fits])
    k = float(np.sum(w * [f.value_GPa for f in fits]) / w.sum())
    out = {
        "value": k,
        "error": float(w.sum() ** -0.5),
        "unit": "GPa",
        "runs": [f.summary() for f in fits],
        "trajectories": [str(p) for p in paths],
    }
    return {"fluctuations": out, "mean_volume_A3": fits[0].mean_volume_A3}


def _pv_scan(md, cfg: BulkModulusConfig, out: Path, *, npt_traj: Path, fluct: dict, comm) -> dict:
    from mlmd.properties.segments import last_frame

    def reference() -> Atoms:
        atoms = last_frame(npt_traj)
        factor = (fluct["mean_volume_A3"] / atoms.get_volume()) ** (1 / 3)
        return scaled(atoms, factor - 1.0)

    ref = on_root(reference, comm=comm)
    n = steps_for(md, cfg.pv_ps)
    trajs = []
    for k, strain in enumerate(cfg.pv_strains):
        seg_cfg = md_config(
            md,
            SegmentSpec(
                out / f"pv_{k}",
                ensemble_table(md, "langevin", cfg.temperature_K),
                n,
                seed_offset=100 + k,
                initial_temperature_K=cfg.temperature_K,
            ),
        )
        trajs.append(run_segment(seg_cfg, structure=scaled(ref, strain), comm=comm).trajectory)
    return on_root(_pv_fit, trajs, cfg.pv_ps / 4, out, comm=comm)


def _pv_fit(trajs, skip_ps: float, out: Path) -> dict:
    volumes, pressures, errors = [], [], []
    for path in trajs:
        run = read_run(path)
        p = run.series("pressure", "a P–V scan").between(skip_ps, None).value
        volumes.append(float(run.series("volume", "a P–V scan").value.mean()))
        pressures.append(float(p.mean()))
        errors.append(block_error(p))
    fit = bulk.fit_eos(volumes, pressures, errors, eos="birch_murnaghan")
    v = np.linspace(min(volumes), max(volumes), 50)
    files = write_curve(
        out / "pv_scan",
        {"volume_A3": volumes, "pressure_GPa": pressures, "pressure_GPa_err": errors},
        title=f"MD-averaged P–V scan: K₀ = {fit.k0_GPa:.1f} ± {fit.k0_err_GPa:.1f} GPa",
        ylabel="P (GPa)",
        lines={fit.eos: (v, fit.pressure_GPa(v))},
    )
    return {**fit.summary(), "files": files, "trajectories": [str(p) for p in trajs]}


def run_scan(md: MDSettings, cfg: ScanConfig, out: Path, start, comm, *, kind: str) -> dict:
    """Thermal expansion (``kind`` = "thermal_expansion") or the density curve and its
    maximum (``kind`` = "density_curve") from NPT temperature holds."""
    if cfg.trajectories:
        paths = [Path(p) for p in cfg.trajectories]
    else:
        schedule, holds = stepped_schedule(cfg.temperatures_K, cfg.hold_ps, cfg.ramp_ps)
        steps = steps_for(md, holds[-1][2])
        seg = run_segment(
            md_config(
                md,
                SegmentSpec(
                    out / "npt_scan",
                    ensemble_table(md, "npt", cfg.temperatures_K[0], cfg.pressure_GPa),
                    steps,
                    schedule=schedule,
                    initial_temperature_K=cfg.temperatures_K[0],
                ),
            ),
            structure=start,
            comm=comm,
        )
        paths = [seg.trajectory]
    return on_root(_scan_result, paths, cfg, out, kind, comm=comm)


def _scan_result(paths, cfg: ScanConfig, out: Path, kind: str) -> dict:
    points = [
        p for path in paths for p in thermal.state_points(read_run(path), cfg.equilibration_ps)
    ]
    points.sort(key=lambda p: p.temperature_K)
    t = np.array([p.temperature_K for p in points])
    cols = {
        "temperature_K": t,
        "volume_A3": [p.volume_A3 for p in points],
        "volume_A3_err": [p.volume_err_A3 for p in points],
        "density_g_cm3": [p.density_g_cm3 for p in points],
        "density_g_cm3_err": [p.density_err_g_cm3 for p in points],
    }
    if kind == "thermal_expansion":
        fit = thermal.thermal_expansion(t, cols["volume_A3"], cols["volume_A3_err"])
        line = fit.volume_A3 + fit.slope_A3_per_K * (t - fit.reference_K)
        files = write_curve(
            out / "thermal_expansion",
            {k: cols[k] for k in ("temperature_K", "volume_A3", "volume_A3_err")},
            title=f"NPT scan: α = {fit.alpha_per_K:.3g} ± {fit.alpha_err_per_K:.2g} 1/K",
            ylabel="V (Å³)",
            lines={"linear fit": (t, line)},
        )
        return {**fit.summary(), "points": [p.__dict__ for p in points], "files": files}
    top = thermal.density_maximum(t, cols["density_g_cm3"], cols["density_g_cm3_err"])
    files = write_curve(
        out / "density_curve",
        {k: cols[k] for k in ("temperature_K", "density_g_cm3", "density_g_cm3_err")},
        title="NPT density vs temperature"
        + (f": maximum at {top.t_max_K:.0f} ± {top.t_max_err_K:.0f} K" if top.resolved else ""),
        ylabel="ρ (g/cm³)",
    )
    return {"maximum": top.summary(), "points": [p.__dict__ for p in points], "files": files}


def run_glass_transition(md: MDSettings, cfg: GlassTransitionConfig, out: Path, start, comm):
    """T_g from the enthalpy and volume kinks of an NPT linear quench."""
    if cfg.trajectories:
        path = Path(cfg.trajectories[0])
    else:
        ramp_ps = abs(cfg.start_K - cfg.end_K) / cfg.rate_K_per_ps
        schedule = {
            "time_ps": [0.0, cfg.hold_ps, cfg.hold_ps + ramp_ps],
            "temperature_K": [cfg.start_K, cfg.start_K, cfg.end_K],
        }
        steps = steps_for(md, cfg.hold_ps + ramp_ps)
        seg_cfg = md_config(
            md,
            SegmentSpec(
                out / "quench",
                ensemble_table(md, "npt", cfg.start_K, cfg.pressure_GPa),
                steps,
                schedule=schedule,
                initial_temperature_K=cfg.start_K,
            ),
        )
        path = run_segment(seg_cfg, structure=start, comm=comm).trajectory
    return on_root(_kinks, path, out, comm=comm)


def _kinks(path: Path, out: Path) -> dict:
    """T_g from the binned H(T) and ρ(T) of the cooling segment (mlmd.analysis.quench: the
    same curves ``mlmd analyze --what quench`` draws) by the two-line fit."""
    from mlmd.analysis.quench import fit_kinks, quench_curves
    from mlmd.analysis.reader import open_trajectory

    with open_trajectory(path) as reader:
        curves = quench_curves(reader)
    fits, notes = fit_kinks(curves)
    t = curves.temperature_K
    seg = curves.segment
    result = {"trajectory": str(path), "notes": notes, "segment": seg.to_dict()}
    ys = {
        "enthalpy": ("enthalpy_eV_per_atom", curves.enthalpy_eV_atom, curves.enthalpy_err),
        "density": ("density_g_cm3", curves.density_g_cm3, curves.density_err),
    }
    for key, fit in fits.items():
        name, y, err = ys[key]
        order = np.argsort(t)
        files = write_curve(
            out / f"glass_transition_{key}",
            {"temperature_K": t[order], name: y[order], f"{name}_err": err[order]},
            title=f"quench {seg.temperature_K[0]:.0f}→{seg.temperature_K[1]:.0f} K: "
            f"T_g = {fit.tg_K:.0f} ± {fit.tg_err_K:.0f} K"
            + ("" if fit.resolved else " (not resolved)"),
            ylabel=name,
            lines={"two-line fit": (t[order], fit.predict(t[order]))},
        )
        result[key] = {**fit.as_dict(), "files": files}
    return result
