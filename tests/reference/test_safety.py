"""No way out of the label directory through a frame key, no unphysical label marked ``ok``,
and concurrent labelling runs of one output share its frames (issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import CP2K_FOUND, cristobalite_frames, quartz, write_unlabelled

from mlmd.data import Dataset, Frame
from mlmd.errors import ConfigError, InputError
from mlmd.reference import LabelOptions, get_reference, label_dataset
from mlmd.reference.workdirs import check_key, fresh_frame_workdir
from tests.cli_helpers import call_mlmd, run_mlmd

REPO = Path(__file__).resolve().parents[2]


def hostile_keys(tmp: Path) -> list[str]:
    return [str(tmp / "victim"), "../victim", "a;touch X", "$(touch X)", "`touch X`", "a b"]


def make_victim(tmp: Path) -> Path:
    victim = tmp / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    return victim


def dataset_with_key(path: Path, key: str) -> None:
    """A one-frame dataset whose stored key is ``key`` (written under the store's checks)."""
    write_unlabelled(path, [quartz()])
    with h5py.File(path, "r+") as f:
        f["frames/key"][0] = key


@pytest.mark.parametrize("key", ["/abs/victim", "../victim", "a;touch X", "A" * 32, "0" * 31])
def test_keys_must_be_content_hashes(key):
    with pytest.raises(InputError, match="frames/key"):
        check_key(key)
    assert check_key(quartz().key) == quartz().key


def test_hostile_key_in_a_dataset_stops_label_before_anything_is_written(tmp_path):
    """The first key through the console script (exit status, no traceback on stderr), the
    others through mlmd.cli.main in this process (an escaping exception fails the test)."""
    run = tmp_path / "run"
    run.mkdir()
    victim = make_victim(tmp_path)
    for n, key in enumerate(hostile_keys(tmp_path)):
        dataset_with_key(run / f"in{n}.h5", key)
        before = (run / f"in{n}.h5").read_bytes()
        argv = ["label", f"in{n}.h5", "-o", f"out{n}.h5", "--reference", "teacher"]
        proc = run_mlmd(*argv, cwd=run) if n == 0 else call_mlmd(*argv, cwd=run)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "key" in proc.stderr
        assert (run / f"in{n}.h5").read_bytes() == before
    assert (victim / "precious.txt").read_text() == "keep me"
    assert not list(run.glob("out*"))  # no output, no label directory
    assert not (run / "X").exists() and not (tmp_path / "X").exists()


def test_run_directories_stay_inside_the_label_directory(tmp_path):
    victim = make_victim(tmp_path)
    root = tmp_path / "label"
    root.mkdir()
    for key in hostile_keys(tmp_path):
        with pytest.raises(InputError):
            fresh_frame_workdir(root, key)
    key = quartz().key
    (root / key).symlink_to(victim, target_is_directory=True)  # a planted link
    with pytest.raises(InputError, match="symbolic link"):
        fresh_frame_workdir(root, key)
    assert (victim / "precious.txt").read_text() == "keep me"
    (root / key).unlink()
    (root / key).mkdir()
    (root / key / "stale.out").write_text("old")
    assert fresh_frame_workdir(root, key) == (root / key).resolve()
    assert list((root / key).iterdir()) == []  # a rerun starts from an empty directory


@pytest.mark.skipif(not CP2K_FOUND, reason="needs the cp2k binary (no run is started)")
def test_cp2k_refuses_a_hostile_key_itself(tmp_path):
    victim = make_victim(tmp_path)
    cp2k = get_reference("cp2k", preset="fast", ranks=1)
    q = quartz()
    for key in hostile_keys(tmp_path):
        frame = Frame(q.numbers, q.positions, q.cell, q.pbc, key=key)
        with pytest.raises(InputError, match="frames/key"):
            cp2k.label([frame], tmp_path / "label")
    assert (victim / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / "label").exists() or not any((tmp_path / "label").iterdir())


@pytest.fixture(scope="module")
def teacher():
    return get_reference("teacher", config={"device": "cpu"})


def overlap_frame() -> Frame:
    """Cristobalite with one O moved 0.1 Å from its Si (the issue's 3.4e9 eV/atom frame)."""
    c = cristobalite_frames(1, seed=0, sigma_A=0.0)[0]
    pos = c.positions.copy()
    si = int(np.flatnonzero(c.numbers == 14)[0])
    o = int(np.flatnonzero(c.numbers == 8)[0])
    pos[o] = pos[si] + [0.1, 0.0, 0.0]
    return Frame(c.numbers, pos, c.cell, c.pbc, source="overlap")


def test_overlap_is_unphysical_never_ok(tmp_path, teacher):
    frames = [*cristobalite_frames(2, seed=1), overlap_frame()]
    (raw,) = teacher.label([frames[2]], tmp_path)
    assert raw.status == "ok" and abs(raw.energy) / 24 > 1e6  # the potential itself says "ok"
    write_unlabelled(tmp_path / "in.h5", frames)
    summary = label_dataset(tmp_path / "in.h5", tmp_path / "out.h5", teacher, progress=False)
    assert summary.counts == {"ok": 2, "unphysical": 1}
    key, status, _, message = summary.failures[0]
    assert key == frames[2].key and status == "unphysical" and "eV/atom" in message
    out = Dataset(tmp_path / "out.h5")
    (i,) = out.select(status="unphysical")
    assert np.isnan(out[i].energy) and np.isnan(out[i].forces).all()
    again = label_dataset(tmp_path / "in.h5", tmp_path / "out.h5", teacher, progress=False)
    assert again.counts == {} and again.skipped == {"ok": 2, "unphysical": 1}


def test_bounds_are_configurable_and_checked(tmp_path, teacher):
    write_unlabelled(tmp_path / "in.h5", cristobalite_frames(3, seed=2))
    tight = label_dataset(
        tmp_path / "in.h5",
        tmp_path / "tight.h5",
        teacher,
        progress=False,
        options=LabelOptions(bounds={"max_force_eV_A": 1.0}),
    )
    assert tight.counts == {"unphysical": 3} and "max |F|" in tight.failures[0][3]
    with pytest.raises(ConfigError, match="max_force_eV_A"):
        label_dataset(
            tmp_path / "in.h5", tmp_path / "x.h5", teacher,
            options=LabelOptions(bounds={"max_force_eV_A": 0}),
        )  # fmt: skip
    with pytest.raises(ConfigError, match="max_forces"):
        label_dataset(
            tmp_path / "in.h5", tmp_path / "x.h5", teacher,
            options=LabelOptions(bounds={"max_forces": 1.0}),
        )  # fmt: skip
    cli = subprocess.run(
        [sys.executable, "-m", "mlmd.cli", "label", "in.h5", "-o", "cli.h5"]
        + ["--reference", "teacher", "--max-stress-GPa", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["counts"] == {"unphysical": 3}


WORKER = """
import json, sys, time
from pathlib import Path
from mlmd.reference import LabelOptions, label_dataset
Path(sys.argv[3] + ".ready").write_text("")
while not Path(sys.argv[4]).exists():
    time.sleep(0.005)
s = label_dataset(sys.argv[1], sys.argv[2], "teacher", config={"device": "cpu"},
                  progress=False, options=LabelOptions(flush_frames=4, flush_s=0.0, poll_s=0.02))
Path(sys.argv[3]).write_text(json.dumps(s.to_dict()))
"""


def test_concurrent_labellers_share_the_frames(tmp_path):
    n, runs = 300, 3
    frames = cristobalite_frames(n, seed=5)
    write_unlabelled(tmp_path / "in.h5", frames)
    out, go = tmp_path / "out.h5", tmp_path / "go"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, tmp_path / "in.h5", out, tmp_path / f"s{k}", go],
            env=env,
            cwd=REPO,
        )
        for k in range(runs)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"s{k}.ready").exists() for k in range(runs)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.write_text("")
    assert [p.wait(timeout=180) for p in procs] == [0] * runs
    summaries = [json.loads((tmp_path / f"s{k}").read_text()) for k in range(runs)]
    labelled = [s["counts"].get("ok", 0) for s in summaries]
    assert sum(labelled) == n  # each frame labelled by exactly one run
    assert sum(c > 0 for c in labelled) >= 2  # and the work was shared
    for s in summaries:  # every run saw the whole output when it returned
        assert s["out_counts"] == {"ok": n}
    ds = Dataset(out)
    assert len(ds) == n and set(ds.keys()) == {f.key for f in frames}
    journal = (tmp_path / "out.label" / "results.jsonl").read_text().splitlines()
    assert len(journal) == n and len({json.loads(r)["key"] for r in journal}) == n
    assert not list((tmp_path / ".out.h5.claims").iterdir())  # done frames leave no file
