"""``mlmd md run CONFIG.toml [--restart CKPT] [--overwrite] [--json]`` (under ``mpiexec -n N``
or on one rank), and ``mlmd traj export TRAJ.h5 -o OUT.extxyz|OUT.lammpstrj [--frames A:B:C]``.

stdout: the thermo rows (unless a progress bar draws them on a terminal) and the summary
JSON; with ``--json`` the summary JSON alone (thermo rows go to thermo.log only).
"""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    md = subparsers.add_parser("md", help="domain-decomposed molecular dynamics")
    sub = md.add_subparsers(dest="md_command", metavar="SUBCOMMAND", required=True)
    run = sub.add_parser(
        "run",
        help="run MD from a TOML config (mpiexec -n N mlmd md run CONFIG.toml)",
        description="Run one MD run; see mlmd/md/config.py and mlmd/md/examples/*.toml. "
        "An output directory that already holds a run is refused unless --overwrite or "
        "--restart is given; one that another run is writing into is always refused.",
    )
    run.add_argument("config", help="MD config TOML file")
    run.add_argument("--restart", metavar="CKPT", help="continue from this checkpoint (.npz)")
    run.add_argument(
        "--overwrite", action="store_true", help="replace the outputs in output.directory"
    )
    run.add_argument(
        "--json", action="store_true", help="print only the summary JSON on stdout (no bar)"
    )
    run.set_defaults(func=_run)
    _register_traj(subparsers)


def _register_traj(subparsers) -> None:
    traj = subparsers.add_parser("traj", help="trajectory tools (export for OVITO, VMD, ASE)")
    sub = traj.add_subparsers(dest="traj_command", metavar="SUBCOMMAND", required=True)
    export = sub.add_parser(
        "export",
        help="write an H5MD trajectory as extended XYZ or a LAMMPS text dump",
        description="OVITO, VMD and ASE read both; see mlmd/md/traj.py for the columns.",
    )
    export.add_argument("trajectory", metavar="TRAJ", help="H5MD trajectory (.h5)")
    export.add_argument(
        "-o", "--output", required=True, help="OUT.extxyz / .xyz or OUT.lammpstrj / .dump"
    )
    export.add_argument("--frames", help="frames as START:STOP:STEP (Python slice; default all)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing output")
    export.add_argument("--json", action="store_true", help="print the summary as JSON")
    export.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from mlmd.atomic import require_new
    from mlmd.md.traj import export

    require_new(args.output, overwrite=args.overwrite)
    summary = export(args.trajectory, args.output, args.frames)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"{summary['frames']} frames of {summary['atoms']} atoms → {summary['path']}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from mlmd.md.runner import run_md

    summary = run_md(
        args.config,
        restart=args.restart,
        echo=not args.json,
        overwrite=args.overwrite,
        progress=not args.json,
    )
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(json.dumps(summary, indent=1))
    return EXIT_CODES.get(summary["status"], 1)


#: Exit codes by run status: a run stopped by SIGTERM/SIGUSR1 (walltime) exits 75
#: (EX_TEMPFAIL: its checkpoint is written, rerun with --restart), so a workflow retries it
#: rather than taking it as finished; a run stopped by the ensemble spread exits 3.
EXIT_CODES = {"completed": 0, "interrupted": 75, "uncertainty_stop": 3}
