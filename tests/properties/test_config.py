"""The ``mlmd properties`` config: strict parsing, defaults, validation."""

import pytest

from mlmd.errors import ConfigError
from mlmd.properties.config import PROPERTIES, load_properties_config


def write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def test_defaults_and_sections(tmp_path):
    cfg = load_properties_config(write(tmp_path, "[viscosity]\n[elastic]\n[crystals]\n"))
    assert cfg.sections() == ["crystals", "elastic", "viscosity"]
    assert cfg.viscosity.production == "nose_hoover_chain" and cfg.viscosity.replicas == 4
    assert cfg.md.potential == "teacher" and cfg.output == "properties"
    assert set(PROPERTIES) >= set(cfg.sections())


@pytest.mark.parametrize(
    "text, match",
    [
        ("[viscosity]\nproduction = 'npt'\n", "invalid value 'npt'"),
        ("[thermal_expansion]\nhold_ps = 5.0\nequilibration_ps = 6.0\n", "shorter than hold"),
        ("[thermal_expansion]\ntemperatures_K = [300.0, 900.0]\n", "2 temperatures; .* ≥ 3"),
        ("[bulk_modulus]\npv_strains = [-0.1, 0.0, 0.1]\n", "within ±0.05"),
        ("[glass_transition]\nstart_K = 300.0\nend_K = 300.0\n", "must differ"),
        ("[viscosity]\nstructure = {extxyz = 'a', builder = 'random_sio2'}\n", "exactly one"),
        ("[md]\ntimestep_fs = 0.0\n[elastic]\n", "md.timestep_fs must be positive"),
        ("[density]\n", "unknown key"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match) as err:
        load_properties_config(write(tmp_path, text))
    assert "p.toml" in str(err.value)


def test_the_example_config_parses():
    from pathlib import Path

    import mlmd.properties

    path = Path(mlmd.properties.__file__).parent / "examples" / "sio2_teacher.toml"
    cfg = load_properties_config(path)
    assert cfg.sections() == [
        "crystals", "glass_transition", "bulk_modulus", "thermal_expansion", "viscosity"
    ]  # fmt: skip
    assert cfg.bulk_modulus.structure.trajectory.endswith("quench/trajectory.h5")


def test_the_start_structure_takes_every_md_structure_key_and_a_trajectory(tmp_path):
    from dataclasses import fields

    from mlmd.md.config import StructureConfig
    from mlmd.properties.config import StartConfig

    names = {f.name for f in fields(StructureConfig)}
    assert {f.name for f in fields(StartConfig)} == names | {"trajectory"}
    text = "[elastic]\nstructure = {builder = 'sio2_crystal', repeat = [2, 1, 1]}\n"
    start = load_properties_config(write(tmp_path, text)).elastic.structure
    assert isinstance(start, StructureConfig) and start.repeat == (2, 1, 1)
    with pytest.raises(ConfigError, match="elastic.structure: builder 'random_sio2' needs n_atoms"):
        load_properties_config(
            write(tmp_path, "[elastic]\nstructure = {builder = 'random_sio2'}\n")
        )
