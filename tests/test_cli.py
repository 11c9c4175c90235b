"""The ``mlmd`` dispatcher: -v anywhere, exit codes, OS errors on a user's path → exit 2."""

from __future__ import annotations

import argparse
import errno
import logging

import pytest

from mlmd import cli, progress
from tests.cli_helpers import run_mlmd


def test_verbose_works_before_and_after_the_subcommand(tmp_path):
    for argv in (["-v", "data", "info", "x.h5"], ["data", "info", "x.h5", "-v"]):
        args = cli.build_parser(cli._command(argv)).parse_args(argv)
        assert args.verbose is True
    args = cli.build_parser("data").parse_args(["data", "info", "x.h5"])
    assert args.verbose is False
    for command in cli.COMMANDS:  # every parser accepts it without a clash
        cli.build_parser(command)


def test_verbose_after_the_subcommand_turns_on_debug_logging(tmp_path, monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: seen.update(kw))
    assert cli.main(["data", "info", str(tmp_path / "none.h5"), "-v"]) == 2
    assert seen["level"] == logging.DEBUG


def _failing(exc: BaseException) -> argparse.Namespace:
    def fail(args):
        raise exc

    return argparse.Namespace(command="data", func=fail)


@pytest.mark.parametrize(
    "exc",
    [
        PermissionError(errno.EACCES, "Permission denied", "/out/model"),
        OSError(errno.ENOSPC, "No space left on device", "/out/x.h5"),
        IsADirectoryError(errno.EISDIR, "Is a directory", "/out"),
    ],
)
def test_os_errors_on_a_path_exit_2_with_one_line(capsys, exc):
    assert cli.run_command(_failing(exc)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and exc.filename in err and "error:" in err


def test_other_os_errors_and_bugs_keep_their_traceback():
    with pytest.raises(OSError):
        cli.run_command(_failing(OSError(errno.EIO, "I/O error")))
    with pytest.raises(KeyError):
        cli.run_command(_failing(KeyError("bug")))


def test_json_silences_progress_for_that_command_only(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(cli, "run_command", lambda args: seen.append(progress._SILENT) or 0)
    cli.main(["data", "info", str(tmp_path / "none.h5"), "--json"])
    cli.main(["data", "info", str(tmp_path / "none.h5")])
    assert seen == [True, False] and progress._SILENT is False


def test_the_console_script_exits_2_on_bad_input(tmp_path):
    result = run_mlmd("data", "info", tmp_path / "none.h5", "-v")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "none.h5: file not found" in result.stderr
