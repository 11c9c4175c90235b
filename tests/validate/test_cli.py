"""``mlmd validate`` on bad input: exit 2, one clear line naming the option, inputs unchanged.
(More cases — a LAMMPS reference of other elements, a reference that cannot run MD, a phase
window without frames — are rows of tests/test_bad_inputs.py.)"""

import pytest

from mlmd.cli import main
from mlmd.potential.export import save_member
from mlmd.potential.model import BodyOrderPotential, ModelConfig
from tests.cli_helpers import run_mlmd, tree_digest


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
