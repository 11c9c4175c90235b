"""A small campaign through a real one-node Slurm cluster on localhost (sbatch jobs).

`.ci/slurm-local.sh start` installs Debian's slurm-wlm + munge when missing and starts the
daemons. Where that is impossible (not root, no apt) the test is skipped with the reason; in
CI (``CI=true``) it fails instead, so the Slurm path never passes silently.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.campaigns.test_quickstart import TINY, campaign, finish

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def slurm():
    script = ROOT / ".ci/slurm-local.sh"
    if os.geteuid() != 0 and os.environ.get("CI") != "true":
        pytest.skip("SLURM NOT TESTED: starting a local Slurm cluster needs root")
    started = subprocess.run(
        ["bash", str(script), "start"], capture_output=True, text=True, timeout=600
    )
    if started.returncode != 0:
        message = f"SLURM COULD NOT START:\n{started.stdout}\n{started.stderr}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield
    subprocess.run(["bash", str(script), "stop"], capture_output=True, timeout=60)


@pytest.mark.slow
def test_campaign_runs_through_sbatch(slurm, tmp_path):
    run_dir = tmp_path / "run"
    out = finish(campaign(run_dir, site="slurm-local", args=[*TINY, "--iterations", "0"]))
    assert (run_dir / "report.md").exists(), out[-3000:]
    job_script = re.compile(r"parsl\.\w+\.block-\d+\.\d+\.\d+$")  # not .stdout / .stderr
    scripts = [p for p in (run_dir / "parsl").rglob("parsl.*") if job_script.match(p.name)]
    assert scripts, "Parsl wrote no batch scripts: the Slurm provider was not used"
    assert all("#SBATCH" in s.read_text() for s in scripts)
    assert {s.name.split(".")[1] for s in scripts} == {"dft", "train", "md", "analysis"}
    status = json.loads((run_dir / "status.json").read_text())
    assert status["stages"]["production"] == {"done": 1}
    accounting = subprocess.run(["squeue", "-h", "-o", "%j"], capture_output=True, text=True)
    assert accounting.returncode == 0  # the controller answered throughout
