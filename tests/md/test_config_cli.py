"""Config validation names the key; the CLI runs a TOML config and restarts from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from mlmd.cli import main
from mlmd.errors import ConfigError
from mlmd.md.config import config_from_mapping, load_config

BASE = {"steps": 10, "structure": {"builder": "sio2_crystal", "crystal": "cristobalite"}}


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


TOML = """
steps = {steps}
timestep_fs = 1.0
potential = "teacher"
seed = 3
skin_A = 1.0
torch_threads = 1
initial_temperature_K = 600.0

[structure]
builder = "sio2_crystal"
crystal = "cristobalite"
repeat = [2, 2, 2]

[ensemble]
kind = "nose_hoover_chain"
temperature_K = 600.0

[output]
directory = "{out}"
thermo_every = 10
trajectory_every = 20
checkpoint_every = 20
velocities = true
forces = true
"""


def test_cli_runs_teacher_and_restarts(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(TOML.format(steps=40, out=tmp_path / "out"))
    assert main(["md", "run", str(cfg)]) == 0
    ckpt = np.load(tmp_path / "out" / "checkpoint.npz")
    assert int(ckpt["step"]) == 40 and len(ckpt["ids"]) == 192
    cfg.write_text(TOML.format(steps=60, out=tmp_path / "out"))
    assert main(["md", "run", str(cfg), "--restart", str(tmp_path / "out" / "checkpoint.npz")]) == 0
    assert int(np.load(tmp_path / "out" / "checkpoint.npz")["step"]) == 60
    thermo = (tmp_path / "out" / "thermo.log").read_text().splitlines()
    steps = [int(line.split()[0]) for line in thermo if not line.startswith("#")]
    assert steps == list(range(0, 61, 10))


def test_cli_bad_key_exits_2(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(TOML.format(steps=5, out=tmp_path / "o").replace("skin_A", "skin"))
    assert main(["md", "run", str(cfg)]) == 2
    assert "skin: unknown key" in capsys.readouterr().err


@pytest.mark.parametrize("env, expected", [("3", 3), ("", None)])
def test_threads_follow_omp_num_threads(monkeypatch, env, expected):
    """torch_threads = 0 takes what the site gave the worker (OMP_NUM_THREADS), so an MD task
    in a shared Parsl worker cannot oversubscribe the tasks that follow it there."""
    import os

    import torch
    from mpi4py import MPI

    from mlmd.md.runner import set_threads

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", env)
    try:
        set_threads(0, MPI.COMM_WORLD)
        assert torch.get_num_threads() == (expected or max(1, os.cpu_count() or 1))
        set_threads(2, MPI.COMM_WORLD)  # an explicit request wins
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


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


def test_a_pressure_schedule_without_a_barostat_is_an_error():
    change = {
        "ensemble": {"kind": "langevin"},
        "schedule": {"time_ps": [0, 1], "pressure_GPa": [0.0, 1.0]},
    }
    with pytest.raises(ConfigError, match="schedule.pressure_GPa does not apply"):
        config_from_mapping({**BASE, **change}, source="run.toml")


def test_restart_under_a_config_that_builds_another_structure_is_refused(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(TOML.format(steps=10, out=tmp_path / "out"))
    assert main(["md", "run", str(cfg), "--json"]) == 0
    ckpt = tmp_path / "out" / "checkpoint.npz"
    other = tmp_path / "other.toml"
    text = TOML.format(steps=20, out=tmp_path / "out2").replace("[2, 2, 2]", "[1, 1, 1]")
    other.write_text(text)
    capsys.readouterr()
    assert main(["md", "run", str(other), "--restart", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint is from another run: structure.repeat" in err and "Traceback" not in err
