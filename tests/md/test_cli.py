"""`mlmd md run`: runs a TOML config and restarts from its checkpoint; a bad key exits 2; a
checkpoint of another structure is refused."""

from __future__ import annotations

import numpy as np

from mlmd.cli import main

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
