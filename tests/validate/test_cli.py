"""``mlmd validate`` on bad input: exit 2, one clear line naming the option, inputs unchanged."""

import hashlib

import numpy as np
import pytest

from mlmd.cli import main
from mlmd.data.build import random_sio2
from mlmd.md.h5md import H5MDWriter
from mlmd.potential.export import save_member
from mlmd.potential.model import BodyOrderPotential, ModelConfig
from tests.cli_helpers import run_mlmd, tree_digest


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(capsys, argv):
    code = main(["validate", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def silicon_model(tmp_path):
    cfg = ModelConfig(species=[14], cutoff_A=4.0, n_basis=4, channels=4, hidden=[8])
    save_member(BodyOrderPotential(cfg), tmp_path / "si_model" / "member_0")
    return tmp_path / "si_model"


def test_a_model_of_other_species_than_the_reference_is_refused(silicon_model, tmp_path):
    before = tree_digest(silicon_model)
    proc = run_mlmd("validate", silicon_model, "--reference", "teacher", "-o", tmp_path / "o")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    err = proc.stderr
    assert "species" in err and "[14]" in err and "[8, 14]" in err and str(silicon_model) in err
    assert tree_digest(silicon_model) == before
    assert not (tmp_path / "o").exists()


def test_reference_md_with_a_reference_that_cannot_run_md_is_refused(capsys, tmp_path):
    code, err = _run(capsys, ["teacher", "--reference", "cp2k", "-o", str(tmp_path / "o")])
    assert code == 2
    assert "--reference" in err and "cannot run MD" in err and "--parts a" in err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[liquid]\nsampling_pss = 8.0\n", "liquid.sampling_pss"),
        ("[md]\nreference_seeds = 1\n", "reference_seeds"),
        ("[glass]\ntime_ps = [0, 1]\ntemperature_K = [300]\npressure_GPa = [0, 0]\n", "glass"),
        ("[tolerances]\npressure_GPa = -1\n", "tolerances.pressure_GPa"),
    ],
)
def test_bad_config_is_refused(capsys, tmp_path, content, fragment):
    cfg = tmp_path / "validate.toml"
    cfg.write_text(content)
    code, err = _run(
        capsys,
        ["teacher", "--reference", "teacher", "--config", str(cfg), "-o", str(tmp_path / "o")],
    )
    assert code == 2 and fragment in err and str(cfg) in err


def _trajectory_between_frames(path):
    """A real mlmd H5MD file (24 atoms, frames every 20 fs to 0.32 ps) whose stored schedule
    puts the anneal (0.305–0.315 ps) between two frames."""
    frame = random_sio2(24, 2.2, seed=3)
    config = {
        "steps": 315,
        "timestep_fs": 1.0,
        "ensemble": {"temperature_K": 4000.0},
        "schedule": {"time_ps": [0, 0.1, 0.305, 0.315], "temperature_K": [4000, 4000, 300, 300]},
    }
    writer = H5MDWriter(path, frame.numbers, np.ones(24), np.arange(24), config)
    for step in range(0, 316, 20):
        writer.write_frame(step, float(step), frame.cell, frame.positions, np.zeros((24, 3)))
    writer.close()
    return path


def test_a_phase_window_without_frames_is_refused(capsys, tmp_path):
    traj = _trajectory_between_frames(tmp_path / "traj.h5")
    before = _digest(traj)
    code, err = _run(
        capsys,
        [
            "teacher",
            "--reference",
            "teacher",
            "--parts",
            "a",
            "--trajectory",
            str(traj),
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert code == 2
    assert "glass window 0.305–0.315 ps holds no frame" in err and str(traj) in err
    assert _digest(traj) == before


def test_missing_inputs_are_refused(capsys, tmp_path):
    code, err = _run(
        capsys, [str(tmp_path / "nope"), "--reference", "teacher", "-o", str(tmp_path / "o")]
    )
    assert code == 2 and "nope" in err
    code, err = _run(
        capsys,
        [
            "teacher",
            "--reference",
            "teacher",
            "--parts",
            "a",
            "--trajectory",
            str(tmp_path / "t.h5"),
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert code == 2 and "--trajectory" in err
    code, err = _run(
        capsys, ["teacher", "--reference", "teacher", "--parts", "c", "-o", str(tmp_path / "o")]
    )
    assert code == 2 and "--parts" in err


def test_a_lammps_reference_of_other_elements_is_refused(capsys, tmp_path):
    sw = tmp_path / "sw.toml"
    sw.write_text('pair_style = "sw"\npair_coeff = ["* * Si.sw Si"]\n')
    argv = ["teacher", "--reference", "lammps", "--reference-config", str(sw), "--parts", "a"]
    code, err = _run(capsys, [*argv, "-o", str(tmp_path / "o")])
    assert code == 2 and "[8, 14]" in err and "[14]" in err and "species" in err
