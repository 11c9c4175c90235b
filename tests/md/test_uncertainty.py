"""Ensemble spread during MD: logged, uncertain frames collected for active learning, and a
stop above the stop threshold."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
import torch

from mlmd.md import run_md
from tests.md.helpers import Morse, fcc_crystal, small_config

ROOT = str(Path(__file__).resolve().parents[2])


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


def cored_ensemble(oo_outer_A: float) -> torch.nn.Module:
    """An untrained 2-member SiO2 model whose O–O core switch ends at ``oo_outer_A`` (as if
    its data had no O–O pair closer than that); the other pairs' at 0.5 Å."""
    from mlmd.potential.model import BodyOrderPotential, ModelConfig

    config = ModelConfig(
        species=[8, 14],
        channels=4,
        hidden=[8],
        n_basis=4,
        n_members=2,
        repulsion_inner_A=0.3,
        repulsion_outer_A=0.5,
        repulsion_pairs_A={"8-8": [1.0, oo_outer_A]},
    )
    return BodyOrderPotential(config, seed=0)


CORED_RUN = """
import json, sys
sys.path.insert(0, sys.argv[3])  # the repository: tests.md.helpers
from mpi4py import MPI
from mlmd.md import run_md
from tests.md.helpers import small_config
from tests.md.test_uncertainty import cored_ensemble
out, outer = sys.argv[1], float(sys.argv[2])
cfg = small_config(out, steps=20, uncertainty={"every": 10, "dataset": out + "/candidates.h5"})
summary = run_md(cfg, potential=cored_ensemble(outer), echo=False)
if MPI.COMM_WORLD.rank == 0:
    print("SUMMARY", json.dumps(summary["uncertainty"]), flush=True)
"""


def _oo_pairs_below(frame, r_A: float) -> int:
    from mlmd.potential.neighbours import neighbour_list

    i, j, _ = neighbour_list(frame.positions, frame.cell, frame.pbc, r_A)
    return int(((frame.numbers[i] == 8) & (frame.numbers[j] == 8)).sum()) // 2


@pytest.mark.mpi
def test_pairs_inside_the_core_switch_are_counted_on_1_and_2_ranks_and_collected(tmp_path):
    """Cristobalite's O–O pairs (2.5–2.6 Å) lie inside a 2.7 Å O–O core switch: with no spread
    threshold, the frames of every spread step (0, 10, 20) are collected, and the counts in
    the trajectory's ``core_pairs`` (and the most in the summary) are an independent count on
    those frames, on 1 rank and on 2; the analysis of that window warns in the report. A
    switch that ends at 2.0 Å counts none, collects nothing and warns of nothing."""
    import json

    from mlmd.analysis.config import AnalysisConfig
    from mlmd.analysis.report import analyze
    from mlmd.data import Dataset
    from mlmd.workflow.report import core_lines
    from tests.mpi_helpers import run_script

    for ranks in (1, 2):
        out = tmp_path / f"r{ranks}"
        out.mkdir()
        text = run_script(CORED_RUN, out, str(out), "2.7", ROOT, ranks=ranks)
        summary = json.loads(text.split("SUMMARY ", 1)[1])
        frames = Dataset(out / "candidates.h5")
        assert [f.source for f in frames] == [f"md:step={k}" for k in (0, 10, 20)]
        counts = [_oo_pairs_below(f, 2.7) for f in frames]
        assert summary["core_pairs_max"] == max(counts) > 0
        with h5py.File(out / "trajectory.h5") as f:  # thermo rows at the spread steps
            assert f["observables/core_pairs/value"][()].tolist() == counts
    analysis = analyze(out / "trajectory.h5", out / "analysis", AnalysisConfig(what=("thermo",)))
    assert analysis["thermo"]["series"]["core_pairs"]["max"] == max(counts)
    assert "closer than the model's data ever came" in core_lines(analysis)[0]
    out = tmp_path / "none"
    out.mkdir()
    summary = json.loads(
        run_script(CORED_RUN, out, str(out), "2.0", ROOT, ranks=1).split("SUMMARY ")[1]
    )
    assert summary == {
        "max_force_std": summary["max_force_std"],
        "frames_collected": 0,
        "core_pairs_max": 0,
    }
    assert not (out / "candidates.h5").exists()
    analysis = analyze(out / "trajectory.h5", out / "analysis", AnalysisConfig(what=("thermo",)))
    assert core_lines(analysis) == []
