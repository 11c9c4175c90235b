"""One run per output directory: a second concurrent run is refused, existing outputs are
not replaced without --overwrite or --restart, a crashed run's lock is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mpi4py import MPI

from mlmd.cli import main
from mlmd.errors import InputError
from mlmd.md import rundir
from tests.cli_helpers import call_mlmd

ROOT = Path(__file__).resolve().parents[2]
MLMD = Path(sys.executable).parent / "mlmd"

TOML = """
steps = {steps}
potential = "teacher"
torch_threads = 1
initial_temperature_K = 300.0
[structure]
builder = "sio2_crystal"
repeat = [1, 1, 1]
[ensemble]
kind = "langevin"
[output]
directory = "{out}"
thermo_every = 10
trajectory_every = 10
"""


def write_config(tmp_path: Path, steps: int = 20, name: str = "run.toml") -> Path:
    cfg = tmp_path / name
    cfg.write_text(TOML.format(steps=steps, out=tmp_path / "out"))
    return cfg


def test_a_second_run_into_a_locked_directory_is_refused(tmp_path):
    out = tmp_path / "out"
    with rundir.claim(out, MPI.COMM_WORLD, overwrite=False, restart=False):
        with pytest.raises(InputError, match=r"another `mlmd md run` \(pid \d+"):
            with rundir.claim(out, MPI.COMM_WORLD, overwrite=True, restart=False):
                pass
    with rundir.claim(out, MPI.COMM_WORLD, overwrite=True, restart=False):  # released
        pass


def test_two_concurrent_cli_runs_one_refused_the_other_readable(tmp_path):
    """The first run is far longer than the test: it is still running (whatever the
    machine's load) when the second is refused, then stopped by SIGTERM."""
    cfg = write_config(tmp_path, steps=1_000_000)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(
        [str(MLMD), "md", "run", str(cfg), "--json"], env=env, stdout=subprocess.PIPE, text=True
    )
    lock = tmp_path / "out" / rundir.LOCK_NAME
    deadline = time.time() + 60
    while not (lock.exists() and lock.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.run(
        [str(MLMD), "md", "run", str(cfg), "--overwrite"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.poll() is None, "the first run ended before the second was tried"
    first.send_signal(signal.SIGTERM)
    stdout, _ = first.communicate(timeout=120)
    summary = json.loads(stdout)
    assert first.returncode == 75 and summary["status"] == "interrupted"  # EXIT_CODES
    assert second.returncode == 2 and "another `mlmd md run`" in second.stderr
    assert "Traceback" not in second.stderr
    import h5py

    with h5py.File(tmp_path / "out" / "trajectory.h5") as f:  # readable, up to the stop
        steps = f["particles/all/position/step"][:]
    assert steps[-1] == summary["step"]  # the stop step's frame is written (forced)
    assert list(steps[:-1]) == list(range(0, int(steps[-2]) + 1, 10))


def test_existing_outputs_need_overwrite_or_restart(tmp_path, capsys):
    cfg = write_config(tmp_path)
    assert main(["md", "run", str(cfg), "--json"]) == 0
    capsys.readouterr()
    before = (tmp_path / "out" / "trajectory.h5").read_bytes()
    assert main(["md", "run", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "already holds the outputs of an MD run" in err and "--overwrite" in err
    assert (tmp_path / "out" / "trajectory.h5").read_bytes() == before  # untouched
    assert main(["md", "run", str(cfg), "--overwrite", "--json"]) == 0


def test_json_alone_on_stdout(tmp_path, capsys):
    cfg = write_config(tmp_path)
    assert main(["md", "run", str(cfg), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["status"] == "completed"  # nothing but the JSON
    assert (tmp_path / "out" / "thermo.log").read_text().count("\n") == 1 + 3  # rows in the file


def test_progress_bar_with_eta_on_a_terminal_only(tmp_path):
    import pty

    cfg = write_config(tmp_path, steps=30)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MLMD_PROGRESS": ""}
    piped = call_mlmd("md", "run", cfg)  # in this process, stderr not a terminal
    assert piped.returncode == 0 and "ETA" not in piped.stderr + piped.stdout
    assert "Etot_eV" in piped.stdout  # the thermo rows when nobody watches a bar
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(MLMD), "md", "run", str(cfg), "--overwrite"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    stdout = proc.communicate(timeout=120)[0]
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0 and b"md run [" in seen and b"ETA" in seen and b"30/30" in seen
    assert json.loads(stdout)["status"] == "completed"  # no thermo rows under the bar
