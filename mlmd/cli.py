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

#: Which module registers each top-level command (``mlmd --help`` lists them in this order).
#: Only the module of the command being run is imported, so ``mlmd data info`` does not pay
#: for importing torch.
COMMANDS = {
    "data": "mlmd.data.cli",
    "build": "mlmd.data.cli",
    "label": "mlmd.reference.cli",
    "train": "mlmd.train.cli",
    "evaluate": "mlmd.train.cli",
    "export": "mlmd.train.cli",
    "md": "mlmd.md.cli",
    "analyze": "mlmd.analysis.cli",
    "site": "apps.cli",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand, or only the module that owns ``command``."""
    parser = argparse.ArgumentParser(
        prog="mlmd", description="Machine-learned potentials and MPI molecular dynamics."
    )
    parser.add_argument("--version", action="version", version=f"mlmd {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in wanted:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that capability is not built yet
                continue
            raise
        module.register(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The first positional argument (the command), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mlmd`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command(argv)).parse_args(argv)
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
