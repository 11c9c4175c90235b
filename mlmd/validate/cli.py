"""``mlmd validate MODEL --reference NAME [--config validate.toml] -o OUT``.

Runs the validation (:func:`mlmd.validate.validate`), writes ``OUT/summary.json`` and
``OUT/report.md`` (the verdict table first) and prints the report (or the summary with
``--json``). The exit code is 0 when the validation ran, whatever its verdict (the verdict
is in the summary and the report's first line); 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlmd.atomic import write_text


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate",
        help="validate a model against its reference: MD side by side, a-posteriori errors",
    )
    p.add_argument("model", help="model directory, export file, or potential name")
    p.add_argument(
        "--reference",
        required=True,
        help="reference: teacher|lammps (MD and single points), or cp2k… (single points)",
    )
    p.add_argument("--reference-config", type=Path, help="the reference's settings (TOML)")
    p.add_argument("--config", type=Path, help="validate.toml: state points, sizes, tolerances")
    p.add_argument(
        "--parts",
        default="a,b",
        help="b: reference MD beside ML-MD; a: a-posteriori single points (default a,b)",
    )
    p.add_argument(
        "--trajectory",
        type=Path,
        action="append",
        default=[],
        help="a production trajectory for part a (repeatable; default: the model's glass run)",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mlmd.errors import InputError
    from mlmd.validate.config import load_validate_config
    from mlmd.validate.pipeline import validate
    from mlmd.validate.report import report_lines

    cfg = load_validate_config(args.config)
    for path in args.trajectory:
        if not path.is_file():
            raise InputError("trajectory not found", file=str(path), field="--trajectory")
    if args.reference_config is not None and not args.reference_config.is_file():
        raise InputError(
            "file not found",
            file=str(args.reference_config),
            field="--reference-config",
            fix="check the path",
        )
    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    summary = validate(
        args.model,
        args.reference,
        args.output,
        config=cfg,
        reference_config=args.reference_config,
        parts=parts,
        trajectories=tuple(args.trajectory),
        progress=not args.json,
    )
    lines = report_lines(summary)
    write_text(args.output / "report.md", "\n".join(lines))
    print(json.dumps(summary, indent=2) if args.json else "\n".join(lines))
    return 0
