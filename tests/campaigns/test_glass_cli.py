"""Bad campaign input is refused in the campaign process, before anything is submitted: exit
2, one line naming the file or option and the key, no run directory written."""

import subprocess
import sys
from pathlib import Path

import pytest

from campaigns import quickstart
from campaigns.glass import main as glass_main

ROOT = Path(__file__).resolve().parents[2]
MATERIALS = ROOT / "campaigns/materials"


@pytest.mark.parametrize(
    "case",
    [
        (glass_main, [], ["--material"]),
        (glass_main, ["--material", "nope.toml"], ["nope.toml", "file not found"]),
        (
            glass_main,
            ["--material", str(MATERIALS / "si.toml"), "--reference", "dft"],
            ["si.toml", "--reference", "sw"],
        ),
        (
            glass_main,
            ["--material", str(MATERIALS / "cuzr.toml"), "--validation-atoms", "96"],
            ["validation.atoms", "multiple of 25"],
        ),
        (
            glass_main,
            ["--material", str(MATERIALS / "cuzr.toml"), "--config", "r.toml"],
            ["reference_md.atoms", "multiple of 25"],
        ),
        (quickstart.main, ["--production-atoms", "0"], ["production.atoms", "quickstart preset"]),
        (quickstart.main, ["--explore-runs", "-1"], ["explore.runs"]),
        (quickstart.main, ["--production-start", "lattice"], ["production.start", "'random'"]),
        (quickstart.main, ["--start-recipe", "huge"], ["sio2.toml", "start.recipe", "small"]),
        (quickstart.main, ["--config", "c.toml"], ["c.toml", "train.epoch", "did you mean"]),
        (quickstart.main, ["--site", "s.toml"], ["s.toml", "workloads.gpu"]),
        (quickstart.main, ["--config", "v.toml"], ["validation.icosahedra_centres", "'Cu'"]),
    ],
)
def test_bad_campaign_input_exits_2_before_anything_runs(tmp_path, monkeypatch, capsys, case):
    entry, args, fragments = case
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text("[train]\nepoch = 3\n")
    (tmp_path / "v.toml").write_text('[validation]\nicosahedra_centres = ["Cu"]\n')
    (tmp_path / "r.toml").write_text("[reference_md]\nruns = 1\natoms = 96\n")
    (tmp_path / "s.toml").write_text('[site]\nname = "s"\n[workloads.gpu]\n')
    run_dir = tmp_path / "run"
    assert entry(["--run-dir", str(run_dir), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in err
    assert not run_dir.exists()


def test_the_script_itself_exits_2_with_one_line(tmp_path):
    cmd = [sys.executable, str(ROOT / "campaigns/glass.py"), "--run-dir", str(tmp_path / "r")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "glass: error: --material: no material (fix: pass --material FILE.toml)"
    ]
