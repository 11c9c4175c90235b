"""LAMMPS halves of benchmarks/bench_properties.py: the teacher (``pair_style vashishta``,
``SiO.1994.vashishta``) driven through input scripts, results read back with
``fix ave/time`` files and analysed by mlmd's property functions."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from mlmd import units
from mlmd.reference.lammps_direct import lammps_binary, write_lammps_data

POTENTIAL = "/usr/share/lammps/potentials/SiO.1994.vashishta"
ELEMENTS = ["Si", "O"]
BAR_GPA = 1e-4


def lammps_run(atoms: Atoms, work: Path, body: list[str]) -> float:
    """Run LAMMPS on ``atoms`` with the teacher and ``body`` commands; returns wall seconds."""
    work.mkdir(parents=True, exist_ok=True)
    write_lammps_data(atoms, work / "data.lmp", ELEMENTS)
    head = [
        "units metal",
        "atom_style atomic",
        "atom_modify map array",
        "boundary p p p",
        "read_data data.lmp",
        "pair_style vashishta",
        f"pair_coeff * * {POTENTIAL} {' '.join(ELEMENTS)}",
        "neighbor 1.0 bin",
        "neigh_modify delay 0 every 1 check yes",  # the default delay 10 gave dangerous builds
        "timestep 0.001",
    ]
    (work / "in.lmp").write_text("\n".join(head + body) + "\n")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [lammps_binary(), "-in", "in.lmp", "-log", "log.lammps", "-screen", "none", "-nocite"],
        cwd=work,
        capture_output=True,
        text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    if proc.returncode != 0:
        log = (work / "log.lammps").read_text()[-3000:]
        raise RuntimeError(f"LAMMPS failed in {work}: {proc.stderr}\n{log}")
    return time.perf_counter() - t0


def ave_time(path: Path) -> np.ndarray:
    """Rows of a ``fix ave/time`` file (comment lines skipped)."""
    return np.loadtxt(path, comments="#", ndmin=2)


def tensor_from_rows(rows: np.ndarray) -> np.ndarray:
    """[T, 3, 3] GPa from columns pxx pyy pzz pxy pxz pyz (bar)."""
    pxx, pyy, pzz, pxy, pxz, pyz = (rows[:, k] * BAR_GPA for k in range(6))
    return np.stack(
        [
            np.stack([pxx, pxy, pxz], -1),
            np.stack([pxy, pyy, pyz], -1),
            np.stack([pxz, pyz, pzz], -1),
        ],
        axis=1,
    )


def start_liquid(n_atoms: int, density: float, seed: int) -> Atoms:
    from mlmd.data.build import random_sio2

    f = random_sio2(n_atoms, density, seed=seed)
    return Atoms(numbers=f.numbers, positions=f.positions, cell=f.cell, pbc=True)


def glass_path(run: Path) -> Path:
    return run / "glass.extxyz"


def state_info(args) -> dict:
    return {
        "atoms": args.atoms,
        "density_g_cm3": 2.2,
        "replicas": args.replicas,
        "equilibration_ps": args.equilibration_ps,
        "production_ps": args.production_ps,
    }


#: Lags (ps) at which both engines' Green–Kubo running integrals are reported.
LAGS_PS = (1, 2, 5, 10, 15, 20, 25, 30, 40)


def running_at(gk) -> dict[str, list[float]]:
    """{lag ps: [running integral, its block standard error]} (Pa s) at :data:`LAGS_PS`."""
    out = {}
    for lag in LAGS_PS:
        i = int(np.searchsorted(gk.lag_fs, lag * 1e3))
        if i < len(gk.lag_fs):
            out[str(lag)] = [float(gk.running[i]), float(gk.running_err[i])]
    return out


def part_viscosity_lammps(args, run: Path) -> dict:
    """Runs replicas first … first + replicas − 1 (kept in ``visc_lammps_r<k>``; a finished
    one is not rerun), then analyses every finished replica of this protocol together."""
    from mlmd.properties.viscosity import viscosity

    start = start_liquid(args.atoms, 2.2, args.seed)
    n_eq, n_prod, every, wall = (
        int(args.equilibration_ps * 1e3),
        int(args.production_ps * 1e3),
        2,
        0.0,
    )
    protocol = json.dumps([args.atoms, args.seed, args.temperature, n_eq, n_prod, every])
    for r in range(args.first_replica, args.first_replica + args.replicas):
        work = run / f"visc_lammps_r{r}"
        if (work / "protocol.json").is_file() and (work / "protocol.json").read_text() == protocol:
            continue
        t = args.temperature
        wall += lammps_run(
            start,
            work,
            [
                f"velocity all create {t} {4242 + r} mom yes rot no dist gaussian",
                "fix integrate all nve",
                f"fix thermostat all langevin {t} {t} 0.1 {977 + r} zero yes",
                f"run {n_eq}",
                "unfix thermostat",
                "unfix integrate",
                f"fix integrate all nvt temp {t} {t} 1.0",
                "reset_timestep 0",
                f"fix pt all ave/time {every} 1 {every} c_thermo_press[1] c_thermo_press[2] "
                "c_thermo_press[3] c_thermo_press[4] c_thermo_press[5] c_thermo_press[6] "
                "c_thermo_temp file ptensor.dat",
                "thermo 1000",
                f"run {n_prod}",
            ],
        )
        (work / "protocol.json").write_text(protocol)
    done = sorted(
        p.parent for p in run.glob("visc_lammps_r*/protocol.json") if p.read_text() == protocol
    )
    rows = [ave_time(w / "ptensor.dat") for w in done]
    tensors = [tensor_from_rows(r[:, 1:7]) for r in rows]
    temperature = float(np.mean(np.concatenate([r[:, 7] for r in rows])))
    eta = viscosity(
        tensors, float(every), start.get_volume(), temperature, blocks_per_series=args.blocks
    )
    per_replica = [float(r[:, 7].mean()) for r in rows]
    return {
        "engine": "lammps",
        "wall_s": wall,
        **eta.summary(),
        "running_at_ps": running_at(eta.gk),
        **state_info(args),
        "replicas": len(done),
        "replica_mean_T_K": per_replica,
    }


def part_glass_lammps(args, run: Path) -> dict:
    """Make the glass (LAMMPS NPT melt-quench) and LAMMPS's three bulk moduli of it."""
    import ase.io

    from mlmd.properties.bulk import bulk_modulus_fluctuations, fit_eos

    work = run / "glass_lammps"
    ramp = int((args.temperature - 300.0) / args.rate * 1e3)
    wall = lammps_run(
        start_liquid(args.atoms, 2.2, args.seed),
        work / "quench",
        [
            f"velocity all create {args.temperature} 11 mom yes rot no dist gaussian",
            f"fix md all nvt temp {args.temperature} {args.temperature} 0.1",
            "run 20000",
            "unfix md",
            f"fix md all npt temp {args.temperature} 300 0.1 iso 40000 0 1.0",
            f"run {ramp}",
            "unfix md",
            "fix md all npt temp 300 300 0.1 iso 0 0 1.0",
            "run 20000",
            "write_data glass.data",
        ],
    )
    glass = ase.io.read(
        work / "quench" / "glass.data",
        format="lammps-data",
        atom_style="atomic",
        Z_of_type={1: 14, 2: 8},
    )
    glass.write(glass_path(run))
    strains = (-0.01, -0.005, 0.0, 0.005, 0.01)
    # (a) 0 K: box relaxed to P = 0, then CG at fixed scaled boxes
    v0, p0 = [], []
    for k, s in enumerate(strains):
        box = "fix rel all box/relax iso 0.0 vmax 0.001\nminimize 0 1e-8 20000 200000\nunfix rel"
        wall += lammps_run(
            glass,
            work / f"pv0_{k}",
            [
                box,
                f"change_box all x scale {1 + s} y scale {1 + s} z scale {1 + s} remap",
                "minimize 0 1e-8 20000 200000",
                'print "PV $(vol:%.8f) $(press:%.8f)"',
            ],
        )
        v, p = _printed(work / f"pv0_{k}", "PV")
        v0.append(v)
        p0.append(p * BAR_GPA)
    relaxed = fit_eos(v0, p0)
    # (b) 300 K NVT P–V and (c) NPT fluctuations
    rows = []
    for k, s in enumerate(strains):
        wall += lammps_run(
            glass,
            work / f"pv300_{k}",
            [
                f"change_box all x scale {1 + s} y scale {1 + s} z scale {1 + s} remap",
                "velocity all create 300 5 mom yes rot no dist gaussian",
                "fix i all nve",
                "fix t all langevin 300 300 0.1 17 zero yes",
                "run 2500",
                "variable V equal vol",
                "fix p all ave/time 10 1 10 c_thermo_press v_V file p.dat",
                f"run {int(args.pv_ps * 1e3)}",
            ],
        )
        r = ave_time(work / f"pv300_{k}" / "p.dat")
        rows.append((r[:, 2].mean(), r[:, 1].mean() * BAR_GPA, _block_err(r[:, 1] * BAR_GPA)))
    v, p, e = map(list, zip(*rows, strict=True))
    md_scan = fit_eos(v, p, e)
    wall += lammps_run(
        glass,
        work / "npt",
        [
            "velocity all create 300 7 mom yes rot no dist gaussian",
            f"fix md all npt temp 300 300 0.1 iso 0 0 {args.pdamp_ps}",
            "run 5000",
            "reset_timestep 0",
            "variable V equal vol",
            "fix v all ave/time 10 1 10 v_V c_thermo_temp file v.dat",
            f"run {int(args.production_ps * 1e3)}",
        ],
    )
    r = ave_time(work / "npt" / "v.dat")
    fluct = bulk_modulus_fluctuations(r[:, 1], float(r[:, 2].mean()), n_blocks=10)
    return {
        "engine": "lammps",
        "wall_s": wall,
        "glass": str(glass_path(run)),
        "glass_density_g_cm3": units.density_g_cm3(
            float(glass.get_masses().sum()), glass.get_volume()
        ),
        "relaxed_0K": relaxed.summary(),
        "nvt_300K_pv": md_scan.summary(),
        "npt_300K_fluctuations": fluct.summary(),
    }


def _printed(work: Path, tag: str) -> tuple[float, ...]:
    line = next(x for x in (work / "log.lammps").read_text().splitlines() if x.startswith(tag))
    return tuple(float(x) for x in line.split()[1:])


def _block_err(x: np.ndarray) -> float:
    from mlmd.analysis.thermo import block_error

    return block_error(x)


def part_density_lammps(args, run: Path) -> dict:
    """The liquid's ρ(T) (LAMMPS NPT holds 2000–5000 K, 0 GPa) and its maximum, analysed with
    :func:`mlmd.properties.density_maximum`."""
    from mlmd.properties.thermal import density_maximum

    temps = [5000.0, 4500.0, 4000.0, 3500.0, 3000.0, 2500.0, 2000.0]
    hold = int(args.hold_ps * 1e3)
    body = [
        f"velocity all create {temps[0]} 3 mom yes rot no dist gaussian",
        "variable rho equal density",
        "thermo 1000",
    ]
    for k, t in enumerate(temps):
        body += [
            f"fix md all npt temp {t} {t} 0.1 iso 0 0 {args.pdamp_ps}",
            f"run {hold // 4}",
            f"fix r all ave/time 10 1 10 v_rho c_thermo_temp file rho_{k}.dat",
            f"run {hold}",
            "unfix r",
            "unfix md",
        ]
    wall = lammps_run(start_liquid(args.atoms, 2.2, args.seed), run / "density_lammps", body)
    rho, err = [], []
    for k in range(len(temps)):
        r = ave_time(run / "density_lammps" / f"rho_{k}.dat")[:, 1]
        rho.append(float(r.mean()))
        err.append(_block_err(r))
    top = density_maximum(temps, rho, err)
    return {
        "engine": "lammps",
        "wall_s": wall,
        "temperatures_K": temps,
        "density_g_cm3": rho,
        "density_err_g_cm3": err,
        "hold_ps": args.hold_ps,
        "maximum": top.summary(),
    }


def part_thermal_lammps(args, run: Path) -> dict:
    """Thermal expansion of the glass (``glass.extxyz``): LAMMPS NPT holds at 0 GPa, 300–900 K,
    each ``--hold-ps`` after a quarter of it discarded; α by
    :func:`mlmd.properties.thermal_expansion` (volume block errors)."""
    import ase.io

    from mlmd.properties.thermal import thermal_expansion

    temps = [300.0, 500.0, 700.0, 900.0]
    hold = int(args.hold_ps * 1e3)
    body = ["velocity all create 300 13 mom yes rot no dist gaussian", "variable V equal vol"]
    for k, t in enumerate(temps):
        body += [
            f"fix md all npt temp {t} {t} 0.1 iso 0 0 {args.pdamp_ps}",
            f"run {hold // 4}",
            f"fix v all ave/time 10 1 10 v_V c_thermo_temp file v_{k}.dat",
            f"run {hold}",
            "unfix v",
            "unfix md",
        ]
    work = run / "thermal_lammps"
    wall = lammps_run(ase.io.read(glass_path(run)), work, body)
    rows = [ave_time(work / f"v_{k}.dat") for k in range(len(temps))]
    v = [float(r[:, 1].mean()) for r in rows]
    err = [_block_err(r[:, 1]) for r in rows]
    fit = thermal_expansion(temps, v, err)
    return {
        "engine": "lammps",
        "wall_s": wall,
        "temperatures_K": temps,
        "measured_K": [float(r[:, 2].mean()) for r in rows],
        "volume_A3": v,
        "volume_err_A3": err,
        "hold_ps": args.hold_ps,
        "alpha_per_K": fit.alpha_per_K,
        "alpha_err_per_K": fit.alpha_err_per_K,
        "reference_K": fit.reference_K,
    }


def part_quench_lammps(args, run: Path) -> dict:
    """T_g of the teacher from a LAMMPS NPT linear quench at ``--quench-pressure`` (the
    liquid boils at 0 GPa above ~2500 K): 20 ps NVT at ``--temperature`` and 2.2 g/cm³, 10 ps
    NPT there, then ``--rate`` K/ps to 300 K; H/N and ρ averaged over 80 K bins of the target
    temperature, kinks by :func:`mlmd.properties.glass_transition`."""
    from mlmd.properties.glass_transition import glass_transition

    t0, t1, p_bar = args.temperature, 300.0, args.quench_pressure * 1e4
    n_ramp = int(abs(t0 - t1) / args.rate * 1e3)
    body = [
        f"velocity all create {t0} 19 mom yes rot no dist gaussian",
        f"fix md all nvt temp {t0} {t0} 0.1",
        "run 20000",
        "unfix md",
        f"fix md all npt temp {t0} {t0} 0.1 iso {p_bar} {p_bar} {args.pdamp_ps}",
        "run 10000",
        "unfix md",
        "reset_timestep 0",
        "variable H equal enthalpy/atoms",
        "variable rho equal density",
        f"fix md all npt temp {t0} {t1} 0.1 iso {p_bar} {p_bar} {args.pdamp_ps}",
        "fix q all ave/time 10 10 100 c_thermo_temp v_H v_rho file quench.dat",
        f"run {n_ramp}",
    ]
    work = run / "quench_lammps"
    wall = lammps_run(start_liquid(args.atoms, 2.2, args.seed), work, body)
    rows = ave_time(work / "quench.dat")
    target = t0 + (t1 - t0) * rows[:, 0] / n_ramp
    edges = np.arange(t1, t0 + 80.0, 80.0)
    key = np.digitize(target, edges)
    bins = [key == b for b in np.unique(key)]
    t_bin = np.array([target[b].mean() for b in bins])
    out = {"engine": "lammps", "wall_s": wall, "rate_K_per_ps": args.rate,
           "pressure_GPa": args.quench_pressure, "atoms": args.atoms, "bin_K": 80.0}  # fmt: skip
    for name, col in (("enthalpy", 2), ("density", 3)):
        y = np.array([rows[b, col].mean() for b in bins])
        fit = glass_transition(t_bin, y)
        out[name] = fit.as_dict()
    out["density_300K_g_cm3"] = float(rows[-10:, 3].mean())
    return out
