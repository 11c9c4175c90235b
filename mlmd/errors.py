"""Errors mlmd raises on bad input, and the exit code the CLI gives them.

Every message names the file, the field and the fix, so a user on a cluster can act on it
without reading the code. Science failures (an SCF that does not converge) are *data*
(a status in the dataset), not exceptions; these classes are for input and setup problems.
"""

from __future__ import annotations

EXIT_BAD_INPUT = 2


class MlmdError(Exception):
    """Base class of every error mlmd raises on purpose."""

    exit_code = 1


class InputError(MlmdError):
    """Bad input: a file, a field in it, or an argument. The CLI exits with code 2.

    Args:
        message: what is wrong.
        file: the file (or argument) at fault, if any.
        field: the field, key or dataset inside it, if any.
        fix: what the user should do about it.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self, message: str, *, file: str | None = None, field: str | None = None, fix: str = ""
    ):
        self.message, self.file, self.field, self.fix = message, file, field, fix
        where = ": ".join(str(p) for p in (file, field) if p)
        text = f"{where}: {message}" if where else message
        if fix:
            text += f" (fix: {fix})"
        super().__init__(text)


class ConfigError(InputError):
    """A configuration file or mapping has an unknown, missing or ill-typed key."""
