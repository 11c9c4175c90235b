"""`mlmd site check` on the local site: a real Parsl run of one probe per workload."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(run_dir: Path) -> dict:
    mlmd = Path(sys.executable).parent / "mlmd"
    result = subprocess.run(
        [str(mlmd), "site", "check", str(ROOT / "sites/local.toml"), "--json",
         "--run-dir", str(run_dir), "--timeout", "120"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_local_site_check_probes_every_workload(tmp_path, monkeypatch):
    monkeypatch.setenv("MLMD_PARSL_LINKS", str(tmp_path / "links"))
    run_dir = tmp_path / "site check;touch X"  # Parsl is given a plain link to it
    for _ in range(2):  # a rerun in the same run directory reports the same
        report = _check(run_dir)
        assert set(report) == {"dft", "train", "md", "analysis"}
        assert report["md"]["mpi_ranks"] == 2  # mpi4py sees a 2-rank world via Parsl MPI mode
        assert report["dft"]["mpi_ranks"] == 2  # the CP2K launcher starts 2 processes
        assert report["train"]["torch_threads"] == 1  # threads_per_rank, not the node's cores
        assert all(entry["mlmd"] for entry in report.values())
    assert not list(tmp_path.rglob("X")) and not (ROOT / "X").exists()
