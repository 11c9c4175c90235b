"""`[ensemble]` parses into the registered integrator's own config; a key of another
integrator is an error naming the valid ones."""

from __future__ import annotations

import pytest

from mlmd.errors import ConfigError
from mlmd.md.config import config_from_mapping
from tests.md.helpers import BASE_CONFIG as BASE


def test_ensemble_parses_into_the_registered_integrators_own_config():
    from mlmd.md.ensemble import LangevinConfig, NPTConfig
    from mlmd.md.integrators import INTEGRATORS, Langevin, make_integrator

    cfg = config_from_mapping({**BASE, "ensemble": {"kind": "langevin", "damping_fs": 20.0}})
    assert type(cfg.ensemble) is LangevinConfig and cfg.ensemble.damping_fs == 20.0
    assert type(make_integrator(cfg.ensemble)) is Langevin
    assert INTEGRATORS["npt"].Config is NPTConfig
    assert sorted(INTEGRATORS) == ["berendsen", "langevin", "nose_hoover_chain", "npt", "nve"]


@pytest.mark.parametrize(
    ("ensemble", "key", "valid"),
    [
        ({"kind": "langevin", "barostat_damping_fs": 5.0}, "barostat_damping_fs", "damping_fs"),
        ({"kind": "nve", "damping_fs": 5.0}, "damping_fs", "temperature_K"),
        ({"kind": "nose_hoover_chain", "pressure_GPa": 1.0}, "pressure_GPa", "chain_length"),
        ({"kind": "npt", "chain_length": 2}, "chain_length", "barostat_damping_fs"),
    ],
)
def test_a_key_of_another_integrator_is_an_error_naming_the_valid_ones(ensemble, key, valid):
    with pytest.raises(ConfigError) as info:
        config_from_mapping({**BASE, "ensemble": ensemble}, source="run.toml")
    text = str(info.value)
    assert f"run.toml: ensemble.{key}" in text and "does not apply" in text and valid in text
