"""Teacher (NKV 1994 Vashishta) SiO2 properties: mlmd vs LAMMPS running the same potential.

Each part prints one JSON object (and writes it to ``RUN_DIR/<part>.json``); run each under
the heavy lock (``flock /tmp/mlmd-heavy.lock python benchmarks/bench_properties.py --part P``):

- ``quartz``: α-quartz relaxed (ions + cell, P = 0) by mlmd (ASE FrechetCellFilter on the
  teacher calculator) and by LAMMPS (``fix box/relax tri 0`` + CG): lattice parameters and
  their relative differences.
- ``viscosity-lammps`` / ``viscosity-mlmd``: Green–Kubo η at ``--temperature`` (3500 K) and
  2.2 g/cm³ (the same random start): replicas of Langevin NVT (``--equilibration-ps``) then
  NVE (``--production-ps``) writing the pressure tensor every 2 fs; both analysed by
  :func:`mlmd.properties.viscosity` (6 shear estimators, plateau rule, block errors).
- ``glass-lammps``: a glass made by LAMMPS (NPT melt at 3500 K, quench at ``--rate`` K/ps to
  300 K, anneal), written as ``glass.extxyz``; then LAMMPS's bulk modulus of it: 0 K P–V scan
  (CG at fixed scaled boxes), 300 K NVT P–V scan, 300 K NPT volume fluctuations (MTK).
- ``glass-mlmd``: the same three bulk moduli of the same glass by mlmd (ASE relaxations;
  ``mlmd.properties.run_properties`` for the MD ones), then the glass against experiment:
  thermal expansion from an NPT 300–900 K scan.
- ``quench-mlmd``: T_g from the enthalpy and volume kinks of an mlmd NPT quench.

Usage: ``python benchmarks/bench_properties.py --part quartz [--run-dir runs/props_bench]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.geometry import cellpar_to_cell  # noqa: E402

from mlmd import units  # noqa: E402
from mlmd.errors import InputError  # noqa: E402
from mlmd.reference.lammps_direct import lammps_binary, write_lammps_data  # noqa: E402

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


# ----------------------------------------------------------------------------- quartz
def part_quartz(args, run: Path) -> dict:
    from mlmd.potential.calculator import MlmdCalculator
    from mlmd.properties.crystals import compare_crystals, relax_crystal
    from mlmd.properties.stages_static import crystal_structure

    atoms = crystal_structure("quartz")
    mine, _ = relax_crystal(atoms, MlmdCalculator("teacher"), name="quartz", fmax_eV_A=1e-5)
    work = run / "quartz_lammps"
    lammps_run(
        atoms,
        work,
        [
            "fix relax all box/relax tri 0.0 vmax 0.001",
            "min_style cg",
            "minimize 0.0 1.0e-8 20000 200000",
            "variable a equal cella",
            "variable b equal cellb",
            "variable c equal cellc",
            "variable al equal cellalpha",
            "variable be equal cellbeta",
            "variable ga equal cellgamma",
            'print "CELL ${a} ${b} ${c} ${al} ${be} ${ga} $(pe/atoms:%.10f) $(press:%.6f)"',
        ],
    )
    line = next(x for x in (work / "log.lammps").read_text().splitlines() if x.startswith("CELL"))
    values = [float(x) for x in line.split()[1:]]
    volume = float(np.linalg.det(cellpar_to_cell(values[:6])))
    ref = replace(
        mine,
        name="quartz (LAMMPS)",
        cellpar=tuple(values[:6]),
        volume_per_atom_A3=volume / len(atoms),
        density_g_cm3=units.density_g_cm3(float(atoms.get_masses().sum()), volume),
        energy_per_atom_eV=values[6],
        max_stress_GPa=abs(values[7]) * BAR_GPA,
        steps=0,
    )
    return {
        "mlmd": mine.summary(),
        "lammps": ref.summary(),
        "mlmd_vs_lammps": compare_crystals(mine, ref),
    }


# -------------------------------------------------------------------------- viscosity
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
        **_state(args),
        "replicas": len(done),
        "replica_mean_T_K": per_replica,
    }


def part_viscosity_mlmd(args, run: Path) -> dict:
    from mlmd.properties.run import run_properties

    start = run / "visc_start.extxyz"
    start_liquid(args.atoms, 2.2, args.seed).write(start)
    cfg = {
        "output": str(run / "visc_mlmd"),
        "md": {"potential": "teacher", "device": "cpu", "torch_threads": 1, "thermo_every": 20},
        "structure": {"extxyz": str(start)},
        "viscosity": {
            "temperatures_K": [args.temperature],
            "replicas": args.first_replica + args.replicas,
            "equilibration_ps": args.equilibration_ps,
            "production_ps": args.production_ps,
            "pressure_tensor_every": 2,
            "blocks_per_replica": args.blocks,
        },
    }
    t0 = time.perf_counter()
    try:
        point = run_properties(cfg)["viscosity"]["points"][0]
    except InputError as exc:  # replicas run one locked job at a time: not enough yet
        point = {"partial": str(exc)}
    return {"engine": "mlmd", "wall_s": time.perf_counter() - t0, **point, **_state(args)}


def _state(args) -> dict:
    return {
        "atoms": args.atoms,
        "density_g_cm3": 2.2,
        "replicas": args.replicas,
        "equilibration_ps": args.equilibration_ps,
        "production_ps": args.production_ps,
    }


# ------------------------------------------------------------------------------ glass
def _glass_path(run: Path) -> Path:
    return run / "glass.extxyz"


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
            f"fix md all npt temp {args.temperature} {args.temperature} 0.1 iso 0 0 1.0",
            "run 20000",
            "unfix md",
            f"fix md all npt temp {args.temperature} 300 0.1 iso 0 0 1.0",
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
    glass.write(_glass_path(run))
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
        "glass": str(_glass_path(run)),
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


def part_glass_mlmd(args, run: Path) -> dict:
    """mlmd's three bulk moduli (and elastic constants) of the LAMMPS glass."""
    import ase.io

    from mlmd.potential.calculator import MlmdCalculator
    from mlmd.properties.bulk import fit_eos, relaxed_pv_scan
    from mlmd.properties.relax import relax
    from mlmd.properties.run import run_properties

    glass = ase.io.read(_glass_path(run))
    calc = MlmdCalculator("teacher")
    t0 = time.perf_counter()
    ref, info = relax(glass, calc, cell=True, fmax_eV_A=1e-3)
    v, p = relaxed_pv_scan(ref, calc, fmax_eV_A=1e-3)
    relaxed = fit_eos(v, p)
    t_static = time.perf_counter() - t0
    cfg = {
        "output": str(run / "glass_mlmd"),
        "md": {
            "potential": "teacher",
            "device": "cpu",
            "torch_threads": 1,
            "thermo_every": 10,
            "barostat_damping_fs": args.pdamp_ps * 1e3,
        },
        "structure": {"extxyz": str(_glass_path(run))},
        "bulk_modulus": {
            "temperature_K": 300.0,
            "equilibration_ps": 5.0,
            "production_ps": args.production_ps,
            "n_blocks": 10,
            "pv_ps": args.pv_ps,
        },
    }
    if args.elastic:
        cfg["elastic"] = {"fmax_eV_A": 1e-3}
    summary = run_properties(cfg)
    bulk = summary["bulk_modulus"]
    return {
        "engine": "mlmd",
        "wall_s": time.perf_counter() - t0,
        "static_wall_s": t_static,
        "relaxed_0K": relaxed.summary(),
        "nvt_300K_pv": bulk.get("pv_scan"),
        "npt_300K_fluctuations": bulk["fluctuations"],
        "elastic_0K": summary.get("elastic"),
        "cell_relaxation": info.__dict__,
    }


PARTS = {
    "quartz": part_quartz,
    "viscosity-lammps": part_viscosity_lammps,
    "viscosity-mlmd": part_viscosity_mlmd,
    "glass-lammps": part_glass_lammps,
    "glass-mlmd": part_glass_mlmd,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--part", choices=sorted(PARTS), required=True)
    p.add_argument("--run-dir", default="runs/props_bench")
    p.add_argument("--atoms", type=int, default=192)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--temperature", type=float, default=3500.0)
    p.add_argument("--replicas", type=int, default=4)
    p.add_argument("--first-replica", type=int, default=0, help="seed offset of replica 0")
    p.add_argument("--equilibration-ps", type=float, default=10.0)
    p.add_argument("--production-ps", type=float, default=100.0)
    p.add_argument("--blocks", type=int, default=2, help="blocks per replica (Green–Kubo)")
    p.add_argument("--rate", type=float, default=10.0, help="quench rate, K/ps")
    p.add_argument("--pv-ps", type=float, default=10.0, help="NVT time per P–V point")
    p.add_argument("--pdamp-ps", type=float, default=0.5, help="barostat time (both engines)")
    p.add_argument("--elastic", action="store_true", help="glass-mlmd: also C_ij at 0 K")
    args = p.parse_args()
    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(1)
    result = {"part": args.part, **PARTS[args.part](args, run)}
    text = json.dumps(result, indent=1, default=str)
    (run / f"{args.part}.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
