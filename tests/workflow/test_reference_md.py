"""The reference's own MD as first data: planned with the production path, run by the
reference itself (a real teacher MD run), every frame kept unlabelled."""

from pathlib import Path

import numpy as np
import pytest

from campaigns.quickstart import PRESET
from mlmd.analysis.reader import open_trajectory
from mlmd.data import Dataset, write_frames
from mlmd.errors import InputError
from mlmd.materials import load_material
from mlmd.workflow.config import campaign_config, merge
from mlmd.workflow.plan import REFERENCE, plan_campaign, reference_md_starts, with_paths
from mlmd.workflow.reference_md import run_reference_md

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


def test_the_teachers_own_melt_quench_becomes_unlabelled_frames(tmp_path):
    cfg, plan = _plan(runs=1, steps=40, frames=4, atoms=48)
    starts = tmp_path / "starts.h5"
    write_frames(starts, {"name": "unlabelled"}, reference_md_starts(cfg, SIO2))
    config = with_paths(plan.reference_md[0].config, model="", starts=str(starts), output="o")
    result = run_reference_md(config, "teacher", {"potential": "teacher"}, tmp_path / "run")
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
