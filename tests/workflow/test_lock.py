"""One campaign per run directory: a second one is refused (exit 2) and changes nothing."""

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlmd.errors import InputError
from mlmd.workflow.lock import run_dir_lock

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from mlmd.workflow.lock import run_dir_lock
with run_dir_lock(sys.argv[1], "quickstart"):
    print("held", flush=True)
    time.sleep(60)
"""


def _tree_digest(root: Path) -> dict:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_lock_is_exclusive_and_released_with_its_holder(tmp_path):
    with run_dir_lock(tmp_path, "a"):
        with pytest.raises(InputError, match=r"another campaign .*a, pid \d+"):
            with run_dir_lock(tmp_path, "b"):
                pass
    with run_dir_lock(tmp_path, "b"):  # released on exit
        pass


def test_second_campaign_in_a_busy_run_directory_is_refused(tmp_path):
    run_dir = tmp_path / "run dir"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        (run_dir / "report.md").write_text("the first campaign's report\n")
        before = _tree_digest(run_dir)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(ROOT / "campaigns/quickstart.py"), "--run-dir", str(run_dir),
             "--reference", "teacher"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "another campaign is running" in result.stderr and str(run_dir) in result.stderr
        assert f"pid {holder.pid}" in result.stderr and "Traceback" not in result.stderr
        assert _tree_digest(run_dir) == before
        assert time.perf_counter() - start < 30
    finally:
        holder.kill()
        holder.wait()
