"""Ensemble spread during MD: logged, uncertain frames collected for active learning, and a
stop above the stop threshold."""

from __future__ import annotations

import h5py
import torch

from mlmd.md import run_md
from tests.md.helpers import Morse, fcc_crystal, small_config


class MorseEnsemble(torch.nn.Module):
    """Two Morse members that disagree: per-atom energies [2, n] (contract 3)."""

    n_members = 2

    def __init__(self):
        super().__init__()
        self.members = torch.nn.ModuleList([Morse(), Morse(depth_eV=0.33, r0=2.65)])
        self.cutoff_A = self.receptive_field_A = 5.0
        self.species = [18]

    def forward(self, graph, edge_vectors):
        return torch.stack([m(graph, edge_vectors) for m in self.members])


def test_ensemble_spread_is_logged_and_uncertain_frames_collected(tmp_path):
    from mlmd.data import Dataset

    ds = tmp_path / "candidates.h5"
    cfg = small_config(
        tmp_path,
        steps=30,
        uncertainty={
            "every": 10,
            "threshold_eV_A": 0.0,
            "stop_threshold_eV_A": 1e3,
            "dataset": str(ds),
        },
    )
    summary = run_md(cfg, potential=MorseEnsemble(), structure=fcc_crystal((3, 3, 3)), echo=False)
    assert summary["uncertainty"]["frames_collected"] == 4  # steps 0, 10, 20, 30
    assert summary["uncertainty"]["max_force_std"] > 0
    frames = Dataset(ds)
    assert len(frames) == 4 and frames[0].n_atoms == 108 and frames[3].source == "md:step=30"
    with h5py.File(tmp_path / "trajectory.h5") as f:
        assert f["observables/force_std_max/value"].shape == (4,)
    cfg = small_config(
        tmp_path / "stop", steps=30, uncertainty={"every": 10, "stop_threshold_eV_A": 0.0}
    )
    summary = run_md(cfg, potential=MorseEnsemble(), structure=fcc_crystal((3, 3, 3)), echo=False)
    assert summary["status"] == "uncertainty_stop" and summary["step"] == 10


def test_a_resumed_run_keeps_each_collected_frame_once(tmp_path):
    """A run killed after its checkpoint collects the frames after it again when it resumes
    (the same steps, bit for bit): the candidates keep one copy of each."""
    import shutil

    from mlmd.data import Dataset

    ds = tmp_path / "candidates.h5"
    watch = {"every": 10, "threshold_eV_A": 0.0, "dataset": str(ds)}

    def run(steps: int, restart=None) -> dict:
        cfg = small_config(
            tmp_path / "md", steps=steps, uncertainty=watch, output={"checkpoint_every": 10}
        )
        return run_md(
            cfg,
            potential=MorseEnsemble(),
            structure=fcc_crystal((3, 3, 3)),
            restart=restart,
            echo=False,
        )

    run(10)
    early = shutil.copy(tmp_path / "md" / "checkpoint.npz", tmp_path / "step10.npz")
    run(30, restart=early)  # steps 10 … 30 (step 10 is observed again on resume, or not)
    keys = Dataset(ds).keys()
    assert len(keys) == len(set(keys)) == 4  # steps 0, 10, 20, 30
    again = run(30, restart=early)  # as after a kill past step 10: 20 and 30 come again
    assert again["uncertainty"]["frames_collected"] >= 2
    assert Dataset(ds).keys() == keys
