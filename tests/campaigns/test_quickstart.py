"""The quickstart campaign end to end (teacher reference, tiny sizes) on a real Parsl site, in
a run directory whose name holds a space and shell syntax: killed mid-way with SIGKILL and
rerun, it reuses every finished step and reference label, and nothing in the name ever runs."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Every stage of the DAG at the smallest sizes that still exercise it.
TINY = (
    "--reference teacher --start-frames 6 --iterations 1 --members 2 --epochs 2 "
    "--explore-runs 2 --explore-steps 20 --select-cap 3 --production-atoms 192 "
    "--melt-K 1000 --melt-ps 0.02 --anneal-ps 0.05 --quench-rates-K-ps 70000 "
    "--validation-atoms 96 --validation-equilibration-ps 0.02 --validation-sampling-ps 0.1 "
    "--validation-every-fs 5 --validation-frames 2"
).split()


#: The teacher's own MD as first data, exploration along the production path in 48-atom
#: cells, with the rounds' stopping rule; a 5 Å model (the teacher demo's is 5.5 Å), so that
#: the report's reach warning is exercised.
TINY_CONFIG = """
[train.model]
cutoff_A = 5.0
[reference_md]
runs = 1
steps = 40
atoms = 48
frames = 4
[explore]
paths = ["melt_quench", "langevin"]
atoms = 48
frames = 10
[stop]
enabled = true
frames_per_phase = 2
"""

#: Would create files named X, Y or Z in the campaign's working directory if run.
HOSTILE_NAME = "run dir;touch X $(touch Y) `touch Z`"


def campaign(run_dir: Path, site: str = "local", args: list[str] = TINY) -> subprocess.Popen:
    """Start the quickstart driver in its own process group (so a test can kill it whole),
    working in ``run_dir``'s parent."""
    script = ROOT / "campaigns/quickstart.py"
    site_file = ROOT / f"sites/{site}.toml"
    config = run_dir.parent / "tiny.toml"
    config.write_text(TINY_CONFIG)
    cmd = [sys.executable, str(script), "--run-dir", str(run_dir), "--site", str(site_file)]
    cmd += ["--config", str(config)]
    env = {**os.environ, "MLMD_PARSL_LINKS": str(run_dir.parent / "parsl-links")}
    env["MLMD_PROGRESS"] = "1"  # bars draw plain lines into the pipe
    return subprocess.Popen(
        [*cmd, *args],
        cwd=run_dir.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-4000:]
    return out


def stage_counts(run_dir: Path, stage: str) -> dict:
    path = run_dir / "status.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())["stages"].get(stage, {})
    except (json.JSONDecodeError, KeyError):  # caught mid-rename: try again
        return {}


@pytest.mark.slow
def test_killed_campaign_resumes_reusing_finished_steps(tmp_path):
    run_dir = tmp_path / HOSTILE_NAME
    proc = campaign(run_dir)
    deadline = time.time() + 300
    while stage_counts(run_dir, "train_member").get("running", 0) == 0:
        assert proc.poll() is None, proc.stdout.read()[-4000:]
        assert time.time() < deadline, "the campaign never reached training"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Parsl workers, mid-training
    proc.wait()
    label_dirs = list((run_dir / "steps").glob("label-*"))  # the start and the teacher's MD
    assert len(label_dirs) == 2 and all((d / "done.json").exists() for d in label_dirs)
    results = {d: next(d.rglob("results.jsonl")).read_text().splitlines() for d in label_dirs}

    out = finish(campaign(run_dir))
    assert "start start: reused" in out and "label start: reused" in out
    assert "reference_md ref0-melt_quench: reused" in out and "label reference_md: reused" in out
    assert "production 70000K/ps-r0: running" in out  # a line when a long step starts
    assert re.search(r"production 70000K/ps-r0 \[#+\] (\d+)/\1 100%", out)  # its meter
    # the finished reference labels were not computed again
    for d, lines in results.items():
        assert next(d.rglob("results.jsonl")).read_text().splitlines() == lines
    report = (run_dir / "report.md").read_text()
    assert "## Active learning" in report and "## Production" in report
    # the verdict comes first: the model beside its reference (teacher MD ran beside it)
    sections = [line for line in report.splitlines() if line.startswith("## ")]
    assert sections[0].startswith("## Validation of the model against its reference (`teacher`)")
    assert "| liquid " in report and "| glass " in report
    # a 5 Å model beside the teacher's 5.5 Å: said, and measured on part (a)'s frames
    assert "The model sees 5 Å; its reference reaches 5.5 Å" in report
    assert "a-posteriori frames those pairs carry F RMSE" in report
    status = json.loads((run_dir / "status.json").read_text())
    assert status["stages"]["production"] == {"done": 1}
    assert status["stages"]["analyze"] == {"done": 3}  # glass, liquid and quench windows
    assert status["stages"]["validate"] == {"done": 1}
    assert status["stages"]["check"] == {"done": 1}  # the stopping rule ran on round it0
    assert status["stages"]["explore_start"] == {"done": 1}
    windows = {}
    for path in (run_dir / "steps").glob("analyze-*/summary.json"):
        summary = json.loads(path.read_text())
        windows[summary["window"]["text"]] = summary["window"]
    assert {"segment:-1", "segment:0"} <= set(windows)  # the anneal and the melt hold
    assert all(w["frames"] >= 10 for w in windows.values())
    # every number names its window: the glass over the anneal, the liquid over the melt hold
    assert "Analysis window: segment 2 (300 K)" in report
    assert "Analysis window: segment 0 (1000 K)" in report

    # a third run finds everything finished and recomputes nothing
    out = finish(campaign(run_dir))
    assert ": done" not in out and "production" in out and "reused" in out
    assert not [p for p in tmp_path.rglob("*") if p.name in {"X", "Y", "Z"}]
