"""`mlmd md run` configs: a bad value names its key, the shipped examples parse, and a
pressure schedule needs a barostat."""

from __future__ import annotations

import pytest

from mlmd.errors import ConfigError
from mlmd.md.config import config_from_mapping, load_config
from tests.md.helpers import BASE_CONFIG as BASE


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"ensemble": {"kind": "nvx"}}, "ensemble.kind"),
        ({"ensembel": {}}, "ensembel"),
        ({"ensemble": {"damping_fs": -1.0}}, "ensemble"),
        ({"output": {"trajectory_every": "often"}}, "output.trajectory_every"),
        ({"schedule": {"time_ps": [0, 1], "temperature_K": [300.0]}}, "schedule"),
        ({"structure": {"builder": "random_sio2", "extxyz": "a.xyz", "n_atoms": 3}}, "structure"),
        ({"timestep_fs": 0.0}, "timestep_fs"),
        ({"timestep_fs": float("nan")}, "timestep_fs"),
        (
            {"ensemble": {"kind": "langevin", "temperature_K": float("inf")}},
            "ensemble.temperature_K",
        ),
        ({"ensemble": {"kind": "langevin", "damping_fs": float("nan")}}, "ensemble.damping_fs"),
    ],
)
def test_bad_config_names_the_key(change, key):
    with pytest.raises(ConfigError) as info:
        config_from_mapping({**BASE, **change}, source="run.toml")
    assert f"run.toml: {key}" in str(info.value)


def test_example_configs_parse():
    from pathlib import Path

    examples = sorted((Path(__file__).parents[2] / "mlmd/md/examples").glob("*.toml"))
    assert len(examples) >= 2
    for path in examples:
        load_config(path)


def test_a_pressure_schedule_without_a_barostat_is_an_error():
    change = {
        "ensemble": {"kind": "langevin"},
        "schedule": {"time_ps": [0, 1], "pressure_GPa": [0.0, 1.0]},
    }
    with pytest.raises(ConfigError, match="schedule.pressure_GPa does not apply"):
        config_from_mapping({**BASE, **change}, source="run.toml")
