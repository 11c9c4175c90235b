"""The ``mlmd`` command: a thin dispatcher over the subcommands each package registers.

Each capability package has a ``cli.py`` with ``register(subparsers)``; it adds its parser and
sets ``func(args) -> int``. Errors of :class:`mlmd.errors.MlmdError` become a one-line message
on stderr and their exit code (2 for bad input), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from mlmd import __version__
from mlmd.errors import MlmdError

#: Modules that register subcommands, in the order they appear in ``mlmd --help``.
COMMAND_MODULES = (
    "mlmd.data.cli",
    "mlmd.reference.cli",
    "mlmd.train.cli",
    "mlmd.md.cli",
    "mlmd.analysis.cli",
    "apps.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="mlmd", description="Machine-learned potentials and MPI molecular dynamics."
    )
    parser.add_argument("--version", action="version", version=f"mlmd {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that capability is not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mlmd`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except MlmdError as exc:
        print(f"mlmd {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"mlmd {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
