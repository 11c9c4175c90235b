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
- ``glass-lammps``: a glass made by LAMMPS (NVT melt at 3500 K and 2.2 g/cm³, NPT quench at
  ``--rate`` K/ps to 300 K with the pressure released from 4 to 0 GPa meanwhile — at 0 GPa
  the teacher's liquid boils above ~2500 K, as in mlmd/md/examples/melt_quench_npt.toml —
  and a 20 ps anneal at 300 K, 0 GPa), written as ``glass.extxyz``; then LAMMPS's bulk
  modulus of it: 0 K P–V scan (CG at fixed scaled boxes), 300 K NVT P–V scan, 300 K NPT
  volume fluctuations (MTK). LAMMPS inputs live in ``benchmarks/props_lammps.py``.
- ``glass-mlmd``: the same three bulk moduli of the same glass by mlmd (ASE relaxations;
  ``mlmd.properties.run_properties`` for the MD ones).
- ``thermal-mlmd``: the glass's thermal expansion from mlmd NPT holds at 300–900 K.
- ``quench-mlmd``: T_g from the enthalpy and volume kinks of an mlmd NPT quench.
- ``compare``: mlmd − LAMMPS of every pair above (from the parts' JSON), with the combined
  standard errors.
- ``thermal-lammps`` / ``quench-lammps``: the teacher against experiment (run by LAMMPS, ~7×
  faster than mlmd's teacher here): the glass's thermal expansion from NPT holds 300–900 K;
  T_g from the H(T), ρ(T) kinks of an NPT quench at ``--quench-pressure``.
- ``density-lammps``: the liquid's density at 0 GPa from 5000 to 2000 K (LAMMPS NPT holds)
  and its maximum (:func:`mlmd.properties.density_maximum`).

Usage: ``python benchmarks/bench_properties.py --part quartz [--run-dir runs/props_bench]``;
viscosity replicas side by side on two cores: ``mpiexec -n 2 python
benchmarks/bench_properties.py --part viscosity-mlmd --replica-groups 2``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ase.geometry import cellpar_to_cell  # noqa: E402
from props_lammps import (  # noqa: E402
    BAR_GPA,
    glass_path,
    lammps_run,
    part_density_lammps,
    part_glass_lammps,
    part_quench_lammps,
    part_thermal_lammps,
    part_viscosity_lammps,
    running_at,
    start_liquid,
    state_info,
)

from mlmd import units  # noqa: E402
from mlmd.errors import InputError  # noqa: E402


def teacher_md(*, thermo_every: int, pdamp_ps: float | None = None) -> dict:
    """The ``[md]`` table of every mlmd part: the teacher on one CPU thread, thermo every
    ``thermo_every`` steps, and for NPT parts the barostat damping ``pdamp_ps`` (ps)."""
    md = {"potential": "teacher", "device": "cpu", "torch_threads": 1, "thermo_every": thermo_every}
    if pdamp_ps is not None:
        md["barostat_damping_fs"] = pdamp_ps * 1e3
    return md


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
def part_viscosity_mlmd(args, run: Path) -> dict:
    """Replicas 0 … first + replicas − 1 (finished ones reused), side by side on
    ``--replica-groups`` rank groups (``mpiexec -n G``); η by the plateau rule and, for the
    comparison at the same lags, at the LAMMPS run's plateau window."""
    from mpi4py import MPI

    from mlmd.data.ase_io import ase_write
    from mlmd.properties.run import run_properties
    from mlmd.properties.viscosity import viscosity_from_runs

    start = run / "visc_start.extxyz"
    if MPI.COMM_WORLD.Get_rank() == 0:
        ase_write(start, start_liquid(args.atoms, 2.2, args.seed))
    MPI.COMM_WORLD.Barrier()
    n_replicas = args.first_replica + args.replicas
    cfg = {
        "output": str(run / "visc_mlmd"),
        "md": teacher_md(thermo_every=20),
        "structure": {"extxyz": str(start)},
        "viscosity": {
            "temperatures_K": [args.temperature],
            "replicas": n_replicas,
            "equilibration_ps": args.equilibration_ps,
            "production_ps": args.production_ps,
            "pressure_tensor_every": 2,
            "blocks_per_replica": args.blocks,
            "replica_groups": args.replica_groups,
        },
    }
    t0 = time.perf_counter()
    try:
        point = run_properties(cfg)["viscosity"]["points"][0]
    except InputError as exc:  # too short for the plateau rule: say so, compare at lags
        point = {"partial": str(exc)}
    base = run / "visc_mlmd" / "viscosity" / f"T{args.temperature:.0f}"
    paths = [base / f"replica{r}" / "production" / "trajectory.h5" for r in range(n_replicas)]
    ref = run / "viscosity-lammps.json"
    if ref.is_file() and MPI.COMM_WORLD.Get_rank() == 0:
        window = json.loads(ref.read_text())["plateau_window_ps"]
        try:
            eta = viscosity_from_runs(
                paths, blocks_per_series=args.blocks, plateau_fs=tuple(w * 1e3 for w in window)
            )
            point["at_lammps_window"] = {**eta.summary(), "running_at_ps": running_at(eta.gk)}
        except InputError as exc:
            point["at_lammps_window"] = {"partial": str(exc)}
    wall = time.perf_counter() - t0
    return {"engine": "mlmd", "wall_s": wall, **point, **state_info(args), "replicas": n_replicas}


# ------------------------------------------------------------------------------ glass
def part_glass_mlmd(args, run: Path) -> dict:
    """mlmd's three bulk moduli (and elastic constants) of the LAMMPS glass (0 K: the cell
    relaxed hydrostatically, as LAMMPS's ``box/relax iso``; also with all cell strains free)."""
    import ase.io

    from mlmd.potential.calculator import MlmdCalculator
    from mlmd.properties.bulk import fit_eos, relaxed_pv_scan
    from mlmd.properties.relax import relax
    from mlmd.properties.run import run_properties

    glass = ase.io.read(glass_path(run))
    calc = MlmdCalculator("teacher")
    t0 = time.perf_counter()
    static = {}
    for name, hydrostatic in (("relaxed_0K", True), ("relaxed_0K_all_cell_strains", False)):
        # hydrostatic = LAMMPS's box/relax iso; all six strains free, the glass shears away
        ref, info = relax(glass, calc, cell=True, hydrostatic=hydrostatic, fmax_eV_A=1e-4)
        v, p = relaxed_pv_scan(ref, calc, fmax_eV_A=1e-4)
        static[name] = {**fit_eos(v, p).summary(), "cellpar": ref.cell.cellpar().tolist(),
                        "energy_eV_atom": ref.get_potential_energy() / len(ref),
                        "cell_relaxation": info.__dict__}  # fmt: skip
    t_static = time.perf_counter() - t0
    cfg = {
        "output": str(run / "glass_mlmd"),
        "md": teacher_md(thermo_every=10, pdamp_ps=args.pdamp_ps),
        "structure": {"extxyz": str(glass_path(run))},
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
        **static,
        "nvt_300K_pv": bulk.get("pv_scan"),
        "npt_300K_fluctuations": bulk["fluctuations"],
        "elastic_0K": summary.get("elastic"),
    }


# ------------------------------------------------------------ glass vs experiment (mlmd)
def part_thermal_mlmd(args, run: Path) -> dict:
    """Thermal expansion of the glass: mlmd NPT holds at 300, 500, 700, 900 K."""
    from mlmd.properties.run import run_properties

    cfg = {
        "output": str(run / "thermal_mlmd"),
        "md": teacher_md(thermo_every=10, pdamp_ps=args.pdamp_ps),
        "structure": {"extxyz": str(glass_path(run))},
        "thermal_expansion": {
            "temperatures_K": [300.0, 500.0, 700.0, 900.0],
            "hold_ps": args.hold_ps,
            "equilibration_ps": 5.0,
            "ramp_ps": 2.0,
        },
    }
    t0 = time.perf_counter()
    summary = run_properties(cfg)["thermal_expansion"]
    return {"engine": "mlmd", "wall_s": time.perf_counter() - t0, **summary}


def part_quench_mlmd(args, run: Path) -> dict:
    """T_g from an mlmd isobaric quench at ``--quench-pressure`` (2 GPa: at 0 GPa the
    teacher's liquid boils above ~2500 K) of the 2.2 g/cm³ random start, held 10 ps first."""
    from mlmd.properties.run import run_properties

    start = run / "quench_start.extxyz"
    start_liquid(args.atoms, 2.2, args.seed).write(start)
    cfg = {
        "output": str(run / "quench_mlmd"),
        "md": teacher_md(thermo_every=20, pdamp_ps=args.pdamp_ps),
        "structure": {"extxyz": str(start)},
        "glass_transition": {
            "start_K": args.temperature,
            "end_K": 700.0,
            "rate_K_per_ps": args.rate,
            "pressure_GPa": args.quench_pressure,
            "hold_ps": 10.0,
        },
    }
    t0 = time.perf_counter()
    summary = run_properties(cfg)["glass_transition"]
    return {
        "engine": "mlmd",
        "wall_s": time.perf_counter() - t0,
        "rate_K_per_ps": args.rate,
        **summary,
    }


# ------------------------------------------------------------------------------ compare
def _pair(a: dict, b: dict) -> dict:
    """mlmd − LAMMPS, the combined standard error and the relative difference."""
    diff, err = a["value"] - b["value"], float(np.hypot(a["error"], b["error"]))
    return {"mlmd": a["value"], "mlmd_error": a["error"], "lammps": b["value"],
            "lammps_error": b["error"], "difference": diff, "combined_error": err,
            "difference_over_error": diff / err if err else None,
            "relative": diff / b["value"]}  # fmt: skip


def part_compare(args, run: Path) -> dict:
    """The must-show comparisons from the parts' JSON files in the run directory."""

    def load(name: str) -> dict:
        path = run / f"{name}.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    out = {}
    quartz = load("quartz").get("mlmd_vs_lammps")
    if quartz:
        out["quartz_max_lattice_rel"] = quartz["max_abs_lattice_rel"]
    vm, vl = load("viscosity-mlmd"), load("viscosity-lammps")
    if "value" in vm and "value" in vl:
        out["viscosity_3500K"] = _pair(vm, vl)
    if "at_lammps_window" in vm and "value" in vl:
        out["viscosity_3500K_at_lammps_window"] = _pair(vm["at_lammps_window"], vl)
        mine, ref = vm["at_lammps_window"].get("running_at_ps", {}), vl.get("running_at_ps", {})
        out["viscosity_running_integral_at_ps"] = {
            lag: _pair(dict(zip(("value", "error"), mine[lag], strict=True)),
                       dict(zip(("value", "error"), ref[lag], strict=True)))
            for lag in mine if lag in ref
        }  # fmt: skip
    gm, gl = load("glass-mlmd"), load("glass-lammps")
    for key in ("relaxed_0K", "nvt_300K_pv", "npt_300K_fluctuations"):
        if gm.get(key) and gl.get(key):
            out[f"glass_K_{key}"] = _pair(gm[key], gl[key])
    return out


PARTS = {
    "quartz": part_quartz,
    "viscosity-lammps": part_viscosity_lammps,
    "viscosity-mlmd": part_viscosity_mlmd,
    "glass-lammps": part_glass_lammps,
    "glass-mlmd": part_glass_mlmd,
    "thermal-mlmd": part_thermal_mlmd,
    "quench-mlmd": part_quench_mlmd,
    "density-lammps": part_density_lammps,
    "thermal-lammps": part_thermal_lammps,
    "quench-lammps": part_quench_lammps,
    "compare": part_compare,
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
    p.add_argument("--replica-groups", type=int, default=1, help="viscosity-mlmd: rank groups")
    p.add_argument("--rate", type=float, default=10.0, help="quench rate, K/ps")
    p.add_argument("--pv-ps", type=float, default=10.0, help="NVT time per P–V point")
    p.add_argument("--pdamp-ps", type=float, default=0.5, help="barostat time (both engines)")
    p.add_argument("--elastic", action="store_true", help="glass-mlmd: also C_ij at 0 K")
    p.add_argument("--hold-ps", type=float, default=20.0, help="NPT hold per temperature")
    p.add_argument("--quench-pressure", type=float, default=2.0, help="quench-mlmd, GPa")
    args = p.parse_args()
    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(1)
    result = {"part": args.part, **PARTS[args.part](args, run)}
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() == 0:
        text = json.dumps(result, indent=1, default=str)
        (run / f"{args.part}.json").write_text(text)
        print(text)


if __name__ == "__main__":
    main()
