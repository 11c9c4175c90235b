"""A killed exploration continues its checkpoint on the rerun of its step (apps.tasks.explore
in a real subprocess, SIGKILLed mid-run; the teacher stands in for the ensemble)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from apps import tasks
from campaigns.quickstart import PRESET
from mlmd.analysis.reader import open_trajectory
from mlmd.data import write_frames
from mlmd.materials import load_material
from mlmd.workflow.config import campaign_config, merge, to_toml
from mlmd.workflow.plan import explore_starts, plan_campaign, with_paths
from tests.md.helpers import DIES_AT_STEP_25

ROOT = Path(__file__).resolve().parents[2]

KILLED = (
    DIES_AT_STEP_25
    + """
from apps import tasks

tasks.explore({config!r}, {candidates!r})
"""
)


def _explore_config(directory: Path) -> Path:
    """The campaign's first exploration run, 40 steps of a 48-atom SiO2 cell with the
    teacher, written as the step writes it (``md.toml`` in ``directory``)."""
    material = load_material(ROOT / "campaigns/materials/sio2.toml")
    explore = {"runs": 1, "steps": 40, "frames": 4, "atoms": 48}
    cfg = campaign_config(merge(PRESET, {"explore": explore}), "test")
    starts = directory / "starts.h5"
    write_frames(starts, {"name": "unlabelled"}, explore_starts(cfg, material))
    run = plan_campaign(cfg, material).explore[0]
    config = with_paths(run.config, model="teacher", starts=str(starts), output=str(directory))
    assert config["output"]["checkpoint_every"] == 10  # 10 % of 40 steps, ≥ the output's 10
    (directory / "md.toml").write_text(to_toml(config))
    return directory / "md.toml"


def _snapshots(trajectory: str) -> tuple[list[int], list[np.ndarray]]:
    with open_trajectory(trajectory) as reader:
        snaps = list(reader.frames(slice(None)))
    return [s.step for s in snaps], [s.positions for s in snaps]


def test_a_killed_exploration_continues_from_its_checkpoint(tmp_path):
    whole_dir, killed_dir = tmp_path / "whole", tmp_path / "killed"
    whole_dir.mkdir(), killed_dir.mkdir()
    whole = tasks.explore(str(_explore_config(whole_dir)), str(whole_dir / "candidates.h5"))
    assert whole["first_step"] == 0 and whole["steps"] == 40

    config, candidates = _explore_config(killed_dir), killed_dir / "candidates.h5"
    script = KILLED.format(config=str(config), candidates=str(candidates))
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert int(np.load(killed_dir / "md" / "checkpoint.npz")["step"]) == 20

    resumed = tasks.explore(str(config), str(candidates))
    assert resumed["status"] == "completed" and resumed["first_step"] == 20
    steps, positions = _snapshots(resumed["trajectory"])
    steps_whole, positions_whole = _snapshots(whole["trajectory"])
    assert steps == steps_whole == [0, 10, 20, 30, 40]
    assert all(np.array_equal(a, b) for a, b in zip(positions, positions_whole, strict=True))
