"""The error vocabulary: a message names the file, the field and the fix; bad input exits 2."""

from __future__ import annotations

from mlmd.errors import EXIT_BAD_INPUT, ConfigError, InputError, MlmdError


def test_message_names_file_field_and_fix():
    exc = InputError("unknown key", file="run.toml", field="ensemble.kind", fix="use 'nve'")
    assert str(exc) == "run.toml: ensemble.kind: unknown key (fix: use 'nve')"
    assert (exc.message, exc.file, exc.field, exc.fix) == (
        "unknown key", "run.toml", "ensemble.kind", "use 'nve'",
    )  # fmt: skip
    assert str(InputError("no frames")) == "no frames"
    assert str(InputError("missing", field="steps")) == "steps: missing"


def test_bad_input_exits_2_and_other_errors_1():
    assert InputError("x").exit_code == ConfigError("x").exit_code == EXIT_BAD_INPUT == 2
    assert isinstance(ConfigError("x"), InputError) and isinstance(InputError("x"), MlmdError)
    assert MlmdError("x").exit_code == 1
