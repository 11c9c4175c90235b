"""``mlmd md run CONFIG.toml [--restart CKPT]`` (under ``mpiexec -n N`` or on one rank)."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    md = subparsers.add_parser("md", help="domain-decomposed molecular dynamics")
    sub = md.add_subparsers(dest="md_command", metavar="SUBCOMMAND", required=True)
    run = sub.add_parser(
        "run",
        help="run MD from a TOML config (mpiexec -n N mlmd md run CONFIG.toml)",
        description="Run one MD run; see mlmd/md/config.py and mlmd/md/examples/*.toml.",
    )
    run.add_argument("config", help="MD config TOML file")
    run.add_argument("--restart", metavar="CKPT", help="continue from this checkpoint (.npz)")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from mlmd.md.runner import run_md

    summary = run_md(args.config, restart=args.restart)
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(json.dumps(summary, indent=1))
    return EXIT_CODES.get(summary["status"], 1)


#: Exit codes by run status: a run stopped by SIGTERM/SIGUSR1 (walltime) exits 75
#: (EX_TEMPFAIL: its checkpoint is written, rerun with --restart), so a workflow retries it
#: rather than taking it as finished; a run stopped by the ensemble spread exits 3.
EXIT_CODES = {"completed": 0, "interrupted": 75, "uncertainty_stop": 3}
