"""``mlmd properties CONFIG.toml``: viscosity, bulk modulus, elastic constants, thermal
expansion, density curve, glass transition and crystals, as the config's tables ask
(:mod:`mlmd.properties.config`). One command with one strict config rather than a subcommand
per property: the MD settings and start structure are shared, the whole file is validated
before any MD starts, and a campaign stage passes one file. Run under ``mpiexec -n N`` for
domain-decomposed MD segments."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "properties",
        help="viscosity, bulk modulus, elastic constants, thermal expansion, T_g, crystals",
        description=__doc__,
    )
    p.add_argument("config", help="properties TOML (see mlmd.properties.config)")
    p.add_argument("-o", "--output", help="output directory (default: the config's output)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="compute only these properties")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from mlmd.properties.config import load_properties_config
    from mlmd.properties.report import report_lines
    from mlmd.properties.run import run_properties

    cfg = load_properties_config(args.config)
    summary = run_properties(cfg, output=args.output, only=args.only)
    if MPI.COMM_WORLD.Get_rank() == 0:
        if args.json:
            json.dump(summary, sys.stdout, indent=1, default=str)
            print()
        else:
            print("\n".join(report_lines(summary)))
    return 0
