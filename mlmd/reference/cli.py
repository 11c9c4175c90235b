"""``mlmd label``: label the unlabelled frames of a dataset with a reference method.

    mlmd label IN.h5 -o OUT.h5 --reference cp2k|teacher [--config ref.toml]
               [--preset fast|production] [--ranks N] [--workers W] [--retry-failed]
               [--max-force-eV-A F] [--max-energy-eV-atom E] [--max-stress-GPa S]

Prints a JSON summary (counts per status, wall time, failed frames with their logs) on
stdout; progress and ETA go to stderr. Failed calculations are statuses in ``OUT``, not
errors: the exit code is 0 unless the input or set-up is bad (2). Labels outside physical
bounds get status ``unphysical`` (defaults in :mod:`mlmd.reference.bounds`). Several runs on
the same OUT share its frames (each frame is labelled once).
"""

from __future__ import annotations

import argparse
import json
import sys

from mlmd.reference.bounds import LabelBounds
from mlmd.reference.label import LabelOptions, label_dataset
from mlmd.reference.registry import available

LABEL_BOUND_KEYS = ("max_force_eV_A", "max_energy_eV_per_atom", "max_stress_GPa")
BOUND_FLAGS = ("--max-force-eV-A", "--max-energy-eV-atom", "--max-stress-GPa")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``label`` command."""
    p = subparsers.add_parser(
        "label",
        help="label unlabelled frames with a reference method (CP2K DFT, teacher)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="IN.h5", help="dataset whose 'unlabelled' frames to label")
    p.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="labelled dataset")
    p.add_argument("--reference", required=True, choices=available(), help="reference method")
    p.add_argument("--config", metavar="REF.toml", help="reference settings (TOML)")
    p.add_argument("--preset", help="settings preset (cp2k: fast, production)")
    p.add_argument("--ranks", type=int, default=None, help="MPI ranks per structure")
    p.add_argument("--workers", type=int, default=1, help="structures labelled concurrently")
    p.add_argument(
        "--retry-failed", action="store_true", help="label again frames that failed before"
    )
    p.add_argument("--workdir", help="run directories (default: OUT with suffix .label)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    defaults = LabelBounds()
    for flag, key in zip(BOUND_FLAGS, LABEL_BOUND_KEYS, strict=True):
        p.add_argument(
            flag,
            dest=key,
            type=float,
            default=getattr(defaults, key),
            help=f"beyond it a label is 'unphysical' (default {getattr(defaults, key):g})",
        )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``mlmd label``; returns the exit code."""
    summary = label_dataset(
        args.input,
        args.output,
        args.reference,
        workers=args.workers,
        progress=not args.no_progress,
        options=LabelOptions(
            retry_failed=args.retry_failed,
            workdir=args.workdir,
            bounds={k: getattr(args, k) for k in LABEL_BOUND_KEYS},
        ),
        ranks=args.ranks,
        config=args.config,
        preset=args.preset,
    )
    json.dump(summary.to_dict(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0
