"""Small Morse MD under mpiexec for the tests: ``mpi_run.py OUTDIR KINDS STEPS [k=v …]``.

KINDS is a comma-separated list of ensembles, run one after another into OUTDIR/<kind>.

The system is a hot, rattled 256-atom 'Morse argon' fcc crystal in a 15.6 Å box (bricks of
7.8 Å on 4 ranks against a 5.5 Å ghost depth; ``skin=3`` makes it 8 Å, deeper than a brick),
so atoms cross rank boundaries within 200 steps.
"""

from __future__ import annotations

import json
import sys

from mpi4py import MPI

from mlmd.md import run_md
from tests.md.helpers import Morse, fcc_crystal


def main(argv: list[str]) -> None:
    out, kinds, steps = argv[0], argv[1].split(","), int(argv[2])
    options = dict(a.split("=", 1) for a in argv[3:])
    for kind in kinds:
        run(f"{out}/{kind}", kind, steps, dict(options))


def run(out: str, kind: str, steps: int, options: dict[str, str]) -> None:
    restart = options.pop("restart", None)
    cfg = {
        "steps": steps,
        "timestep_fs": 2.0,
        "seed": 7,
        "skin_A": float(options.pop("skin", 0.5)),
        "torch_threads": 1,
        "initial_temperature_K": float(options.pop("T", 1500.0)),
        "structure": {"builder": "random_sio2", "n_atoms": 1},  # replaced below
        "ensemble": {"kind": kind, "temperature_K": 1500.0}
        | ({} if kind == "nve" else {"damping_fs": 50.0}),
        "output": {
            "directory": out,
            "thermo_every": int(options.pop("thermo_every", 10)),
            "trajectory_every": int(options.pop("trajectory_every", 50)),
            "checkpoint_every": 0,
            "velocities": True,
        },
        "safety": {"check_every": 5},
    }
    if options:
        raise SystemExit(f"unknown options {options}")
    summary = run_md(
        cfg, potential=Morse(), structure=fcc_crystal((4, 4, 4), rattle=0.1), restart=restart
    )
    if MPI.COMM_WORLD.Get_rank() == 0:
        print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
