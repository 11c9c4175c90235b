"""The ``mlmd`` command: a thin dispatcher over the subcommands each package registers.

Each capability package has a ``cli.py`` with ``register(subparsers)``; it adds its parser and
sets ``func(args) -> int``. Errors of :class:`mlmd.errors.MlmdError` become a one-line message
on stderr and their exit code (2 for bad input), never a traceback; so do operating-system
errors on a named file (an output directory without write permission, a full disk, a
directory where a file was expected), which are bad input too. ``-v`` works before or after
the subcommand; ``--json`` silences the progress bars (:mod:`mlmd.progress`).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.metadata
import logging
import sys

from mlmd import __version__, progress
from mlmd.errors import EXIT_BAD_INPUT, MlmdError

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
    "traj": "mlmd.md.cli",
    "analyze": "mlmd.analysis.cli",
    "material": "mlmd.materials.cli",
    "validate": "mlmd.validate.cli",
    "properties": "mlmd.properties.cli",
}
#: Commands of other installed packages, registered through the ``mlmd.commands`` entry-point
#: group (``apps`` adds ``site``: Parsl stays out of mlmd, which never names it).
COMMANDS.update({e.name: e.value for e in importlib.metadata.entry_points(group="mlmd.commands")})


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
    _verbose_everywhere(sub)
    return parser


def _verbose_everywhere(sub: argparse._SubParsersAction) -> None:
    """Accept ``-v`` after every (sub)command too (``mlmd train -v ...``)."""
    for parser in dict.fromkeys(sub.choices.values()):
        if "-v" not in parser._option_string_actions:
            parser.add_argument(
                "-v",
                "--verbose",
                action="store_true",
                default=argparse.SUPPRESS,
                help="debug logging",
            )
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _verbose_everywhere(action)


#: errno values of an OSError that are the user's input (a path), not a bug of mlmd.
_INPUT_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EISDIR,
    errno.ENOTDIR, errno.ENOENT, errno.ENAMETOOLONG, errno.EEXIST,
}  # fmt: skip


def _os_error_message(exc: OSError) -> str | None:
    """A one-line message for an OSError on a user's path, None for anything else."""
    if exc.errno not in _INPUT_ERRNOS:
        return None
    where = exc.filename if exc.filename is not None else None
    text = exc.strerror or str(exc)
    fix = "check the path and that its directory exists and is writable by you"
    return f"{where}: {text} (fix: {fix})" if where else f"{text} (fix: {fix})"


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
    with progress.silenced(getattr(args, "json", False)):
        return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run ``args.func(args)``: mlmd's errors and OS errors on a user's path become one line
    on stderr and their exit code; anything else (a bug) keeps its traceback."""
    try:
        return int(args.func(args) or 0)
    except MlmdError as exc:
        print(f"mlmd {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        message = _os_error_message(exc)
        if message is None:
            raise
        logging.getLogger("mlmd").debug("the OS error in full", exc_info=True)
        print(f"mlmd {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"mlmd {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
