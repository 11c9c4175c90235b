"""MD segments of the properties: configs run_md accepts, start structures, reuse."""

import json

import numpy as np
import pytest
from ase.io import write

from mlmd.errors import InputError
from mlmd.md.config import config_from_mapping
from mlmd.properties.config import MDSettings, StartConfig
from mlmd.properties.segments import (
    SegmentSpec,
    ensemble_table,
    last_frame,
    md_config,
    run_segment,
    scaled,
    start_structure,
)
from tests.properties.harmonic import fcc

MD = MDSettings(potential="test-springs", device="cpu", torch_threads=1, timestep_fs=4.0,
                skin_A=0.3, thermo_every=5)  # fmt: skip


@pytest.mark.parametrize("kind", ["nve", "langevin", "nose_hoover_chain", "npt"])
def test_ensemble_tables_parse_as_md_configs(tmp_path, kind):
    spec = SegmentSpec(tmp_path, ensemble_table(MD, kind, 300.0, 1.0, 500.0), 10,
                       pressure_tensor_every=2, schedule=None)  # fmt: skip
    cfg = config_from_mapping(md_config(MD, spec))
    assert cfg.ensemble.kind == kind and cfg.output.pressure_tensor_every == 2
    assert cfg.output.trajectory_every == 10 and cfg.timestep_fs == 4.0
    if kind != "nve":
        assert cfg.ensemble.damping_fs == 500.0
    if kind == "npt":
        assert cfg.ensemble.pressure_GPa == 1.0
        assert cfg.ensemble.barostat_damping_fs == MD.barostat_damping_fs


def test_segment_runs_once_and_chains(tmp_path):
    start = fcc(2)
    start.rattle(0.02, seed=1)
    spec = SegmentSpec(tmp_path / "a", ensemble_table(MD, "langevin", 30.0), 40,
                       initial_temperature_K=30.0)  # fmt: skip
    first = run_segment(md_config(MD, spec), structure=start)
    mtime = first.trajectory.stat().st_mtime
    again = run_segment(md_config(MD, spec), structure=start)
    assert again.trajectory.stat().st_mtime == mtime and again.summary == first.summary
    moved = start.copy()
    moved.positions[0, 0] += 0.01  # another start structure: run again
    run_segment(md_config(MD, spec), structure=moved)
    assert first.trajectory.stat().st_mtime != mtime
    nve = SegmentSpec(tmp_path / "b", ensemble_table(MD, "nve", 30.0), 80)
    chained = run_segment(md_config(MD, nve), restart=first.checkpoint)
    assert chained.summary["step"] == 80
    saved = json.loads((tmp_path / "b" / "done.json").read_text())
    assert saved["summary"]["step"] == 80
    frame = last_frame(chained.trajectory)
    assert len(frame) == 32 and np.allclose(frame.cell.array, start.cell.array)


def test_start_structures(tmp_path):
    write(tmp_path / "s.extxyz", fcc(1))
    assert len(start_structure(StartConfig(extxyz=str(tmp_path / "s.extxyz")))) == 4
    quartz = start_structure(StartConfig(builder="sio2_crystal", crystal="quartz"))
    assert len(quartz) == 9
    assert scaled(quartz, 0.01).get_volume() == pytest.approx(quartz.get_volume() * 1.01**3)
    with pytest.raises(ValueError, match="exactly one"):
        StartConfig(extxyz="a", builder="random_sio2")
    with pytest.raises(InputError):
        start_structure(StartConfig(trajectory=str(tmp_path / "missing.h5")))
