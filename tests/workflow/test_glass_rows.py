"""The glass's material rows (mlmd.workflow.glass_rows) on real analyses of small B2 CuZr
trajectories laid out as a validation's glass runs: a model like its references passes, a
model of another structure fails its coordination rows and so the whole verdict."""

import json

import numpy as np
import pytest
from ase.build import bulk

from mlmd.analysis import analyze
from mlmd.analysis.config import AnalysisConfig
from mlmd.workflow.glass_rows import structure_rows, with_rows
from tests.analysis.trajectories import write_h5md

TOLERANCES = {
    "coordination_mean": 0.05,
    "icosahedral_fraction": 0.03,
    "noise_allowance": 1.5,
    "voronoi_frames": 2,
}
CUTOFFS = {"Cu-Cu": 3.3, "Cu-Zr": 3.6, "Zr-Zr": 4.0}


def _run(root, role: str, a_A: float, seed: int) -> dict:
    """A 4-frame rattled B2 CuZr (lattice constant ``a_A``) and its analysis, as validate
    leaves them: ``trajectory.h5`` in the run's own directory, the analysis in the
    validation's (``analysis/glass/<role>/summary.json``)."""
    atoms = bulk("CuZr", "cesiumchloride", a=a_A).repeat((3, 3, 3))
    rng = np.random.default_rng(seed)
    positions = atoms.positions + rng.normal(0.0, 0.01, (4, len(atoms), 3))
    run_dir = root / "runs" / f"{role}-0123456789ab"
    run_dir.mkdir(parents=True)
    traj = write_h5md(run_dir / "trajectory.h5", positions, atoms.cell.array, atoms.numbers)
    cfg = AnalysisConfig(what=("coordination",), cutoffs_A=CUTOFFS, plots=False)
    analysis = root / "analysis" / "glass" / role
    analyze(traj, analysis, cfg)
    return {"analysis": str(analysis / "summary.json"), "trajectory": str(traj)}


def _summary(tmp_path, model_a_A: float) -> dict:
    runs = {
        "reference_1": _run(tmp_path, "reference_1", 3.26, 1),
        "reference_2": _run(tmp_path, "reference_2", 3.26, 2),
        "model": _run(tmp_path, "model", model_a_A, 3),
    }
    verdict = {"pass": True, "rows": [{"part": "glass", "quantity": "density", "pass": True}]}
    return {"glass": {"window_ps": [0.0, 0.03], "runs": runs}, "verdict": {**verdict, "failed": []}}


def test_a_model_like_its_references_passes_every_row(tmp_path):
    summary = _summary(tmp_path, 3.26)
    rows = structure_rows(
        summary, icosahedra_centres=["Cu"], tolerances=TOLERANCES, out_dir=tmp_path / "rows"
    )
    by_name = {r["quantity"]: r for r in rows}
    assert set(by_name) == {
        "mean Cu-Cu coordination",
        "mean Cu-Zr coordination",
        "mean Zr-Cu coordination",
        "mean Zr-Zr coordination",
        "Cu-centred <0,0,12,0> fraction",
    }
    assert by_name["mean Cu-Zr coordination"]["ml"] == 8.0  # B2: 8 unlike neighbours
    assert by_name["mean Cu-Cu coordination"]["ref"] == pytest.approx(6.0, abs=0.05)  # 6 like
    assert by_name["Cu-centred <0,0,12,0> fraction"]["ml"] == 0.0  # truncated octahedra
    assert all(r["pass"] for r in rows)
    merged = with_rows(summary, rows)
    assert merged["verdict"]["pass"] and len(merged["verdict"]["rows"]) == 1 + len(rows)
    frames = json.loads((tmp_path / "rows/model/summary.json").read_text())["frames"]
    assert frames["n"] == 4  # the Voronoi pass read the anneal window: every frame here


def test_a_model_of_another_structure_fails_the_verdict(tmp_path):
    summary = _summary(tmp_path, 3.26 * 1.15)  # Cu–Cu 3.75 Å: past the 3.3 Å cutoff
    rows = structure_rows(summary, icosahedra_centres=[], tolerances=TOLERANCES, out_dir=tmp_path)
    failed = {r["quantity"] for r in rows if not r["pass"]}
    assert "mean Cu-Cu coordination" in failed
    merged = with_rows(summary, rows)
    assert not merged["verdict"]["pass"]
    assert "glass: mean Cu-Cu coordination" in merged["verdict"]["failed"]
    assert with_rows(summary, []) is summary
