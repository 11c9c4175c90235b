"""`mlmd site check` on the local site: a real Parsl run of one probe per workload."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_local_site_check_probes_every_workload(tmp_path):
    mlmd = Path(sys.executable).parent / "mlmd"
    result = subprocess.run(
        [
            str(mlmd),
            "site",
            "check",
            str(ROOT / "sites/local.toml"),
            "--json",
            "--run-dir",
            str(tmp_path),
            "--timeout",
            "120",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"dft", "train", "md", "analysis"}
    assert report["md"]["mpi_ranks"] == 2  # mpi4py sees a 2-rank world through Parsl MPI mode
    assert report["dft"]["mpi_ranks"] == 2  # the CP2K launcher starts 2 processes
    assert all(entry["mlmd"] for entry in report.values())
