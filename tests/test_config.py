"""mlmd.config: strict parsing; non-finite floats and directories refused with the key named."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mlmd.config import from_mapping, from_toml, load_toml
from mlmd.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    damping_fs: float = 100.0


@dataclass(frozen=True)
class Outer:
    timestep_fs: float = 1.0
    temperature_K: float | None = None
    schedule: list[float] | None = None
    inner: Inner = Inner()
    steps: int = 10


@pytest.mark.parametrize(
    "data, field",
    [
        ({"timestep_fs": float("nan")}, "timestep_fs"),
        ({"temperature_K": float("inf")}, "temperature_K"),
        ({"schedule": [300.0, float("-inf")]}, "schedule[1]"),
        ({"inner": {"damping_fs": float("nan")}}, "inner.damping_fs"),
    ],
)
def test_non_finite_floats_are_refused_naming_the_key(data, field):
    with pytest.raises(ConfigError, match="not a finite number") as info:
        from_mapping(Outer, data, source="run.toml")
    assert f"run.toml: {field}:" in str(info.value)


def test_toml_nan_and_inf_are_refused(tmp_path):
    path = tmp_path / "run.toml"
    for text in ("timestep_fs = nan", "timestep_fs = inf", "[inner]\ndamping_fs = -inf"):
        path.write_text(text)
        with pytest.raises(ConfigError, match="not a finite number"):
            from_toml(Outer, path)
    path.write_text("timestep_fs = 2\ntemperature_K = 300.5\n")
    cfg = from_toml(Outer, path)
    assert cfg.timestep_fs == 2.0 and isinstance(cfg.timestep_fs, float)


def test_types_and_unknown_keys_still_checked():
    with pytest.raises(ConfigError, match="expected an integer"):
        from_mapping(Outer, {"steps": 1.5})
    with pytest.raises(ConfigError, match="expected a number"):
        from_mapping(Outer, {"timestep_fs": True})
    with pytest.raises(ConfigError, match="did you mean 'timestep_fs'"):
        from_mapping(Outer, {"timestep_f": 1.0})


def test_a_directory_or_binary_file_as_config_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="is a directory") as info:
        load_toml(tmp_path)
    assert str(tmp_path) in str(info.value)
    binary = tmp_path / "x.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(binary)
