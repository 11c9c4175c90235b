"""The labelling driver and ``mlmd label`` with the teacher: labels equal the potential's,
reruns skip, failed frames are retried only on request, a SIGKILLed run resumes to exactly
one label per frame."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cristobalite_frames, write_unlabelled

from mlmd.data import Dataset, Frame
from mlmd.errors import InputError
from mlmd.potential import evaluate, graph_from_frames
from mlmd.reference import LabelOptions, get_reference, label_dataset

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def teacher():
    return get_reference("teacher", config={"device": "cpu"})


def test_teacher_labels_equal_the_potential(tmp_path, teacher):
    frames = cristobalite_frames(12, seed=1)
    write_unlabelled(tmp_path / "in.h5", frames)
    summary = label_dataset(
        tmp_path / "in.h5",
        tmp_path / "out.h5",
        teacher,
        progress=False,
        options=LabelOptions(flush_frames=5),
    )
    assert summary.counts == {"ok": 12} and summary.out_counts == {"ok": 12}
    out = Dataset(tmp_path / "out.h5")
    assert out.reference == teacher.reference and out.reference["name"] == "teacher"
    got = {f.key: f for f in out}
    g = graph_from_frames(frames, teacher.cutoff_A)
    ev = evaluate(teacher.potential, g)
    stress = ev.stress(g.cell).numpy()
    for s, frame in enumerate(frames):
        label = got[frame.key]
        assert label.status == "ok" and label.source == "cristobalite"
        assert label.energy == pytest.approx(float(ev.energy[s].detach()), rel=1e-12)
        np.testing.assert_allclose(label.forces, ev.forces[24 * s : 24 * (s + 1)].numpy())
        np.testing.assert_allclose(label.stress, stress[s])
    # forces are -dE/dr: a finite difference on one coordinate agrees
    f0 = frames[0]
    h = 1e-5
    plus, minus = (
        Frame(f0.numbers, f0.positions + d * h * np.eye(24 * 3)[5].reshape(24, 3), f0.cell, True)
        for d in (1, -1)
    )
    ep, em = (float(r.energy) for r in teacher.label([plus, minus], tmp_path))
    assert -(ep - em) / (2 * h) == pytest.approx(got[f0.key].forces[1, 2], abs=1e-5)


def test_rerun_skips_done_and_retries_failed_only_on_request(tmp_path, teacher):
    frames = cristobalite_frames(6, seed=2)
    write_unlabelled(tmp_path / "in.h5", frames)
    out_path = tmp_path / "out.h5"
    # an earlier run: frames 0-1 ok, frame 2 timed out, frame 3 crashed
    out = Dataset.create(out_path, teacher.reference)
    done = teacher.label(frames[:2], tmp_path)
    out.append(
        [r.apply(f) for r, f in zip(done, frames[:2], strict=True)]
        + [frames[2].with_labels(status="timeout"), frames[3].with_labels(status="crashed")]
    )
    first = label_dataset(tmp_path / "in.h5", out_path, teacher, progress=False)
    assert first.counts == {"ok": 2}  # frames 4, 5
    assert first.skipped == {"ok": 2, "timeout": 1, "crashed": 1}
    again = label_dataset(tmp_path / "in.h5", out_path, teacher, progress=False)
    assert again.counts == {} and again.skipped == {"ok": 4, "timeout": 1, "crashed": 1}
    retry = label_dataset(
        tmp_path / "in.h5",
        out_path,
        teacher,
        progress=False,
        options=LabelOptions(retry_failed=True),
    )
    assert retry.counts == {"ok": 2} and retry.skipped == {"ok": 4}
    final = Dataset(out_path)
    assert len(final) == 6 and sorted(final.keys()) == sorted(f.key for f in frames)
    assert set(final.statuses().tolist()) == {"ok"}


def test_failures_are_statuses_not_labels(tmp_path, teacher):
    frames = cristobalite_frames(3, seed=3)
    alien = Frame([1, 1], [[0, 0, 0], [0.74, 0, 0]], np.eye(3) * 6, True)  # H2: not SiO2
    write_unlabelled(tmp_path / "in.h5", [*frames, alien])
    summary = label_dataset(tmp_path / "in.h5", tmp_path / "out.h5", teacher, progress=False)
    assert summary.counts == {"ok": 3, "failed": 1}
    assert summary.failures[0][:2] == (alien.key, "failed")
    out = Dataset(tmp_path / "out.h5")
    (i,) = out.select(status="failed")
    assert np.isnan(out[i].energy) and np.isnan(out[i].forces).all()


def test_output_of_another_reference_is_refused(tmp_path, teacher):
    write_unlabelled(tmp_path / "in.h5", cristobalite_frames(2, seed=4))
    Dataset.create(tmp_path / "out.h5", {"name": "cp2k", "cutoff_Ry": 400.0})
    with pytest.raises(InputError) as err:
        label_dataset(tmp_path / "in.h5", tmp_path / "out.h5", teacher, progress=False)
    assert err.value.field == "reference"
    with pytest.raises(InputError, match="same file"):
        label_dataset(tmp_path / "in.h5", tmp_path / "in.h5", teacher, progress=False)


KILL_SCRIPT = """
import sys
from mlmd.reference import LabelOptions, label_dataset
label_dataset(sys.argv[1], sys.argv[2], "teacher", config={{"device": "cpu"}},
              progress=False, options=LabelOptions(flush_frames={flush}, flush_s=0.0))
"""


def test_sigkill_then_restart_labels_every_frame_exactly_once(tmp_path, teacher):
    n = 600
    frames = cristobalite_frames(n, seed=5)
    write_unlabelled(tmp_path / "in.h5", frames)
    out_path, journal = tmp_path / "out.h5", tmp_path / "out.label" / "results.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT.format(flush=4), tmp_path / "in.h5", out_path],
        env=env,
        cwd=REPO,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 40:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the labelling run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = len(Dataset(out_path))
    assert 40 <= killed_at < n  # the kill landed mid-way; finished batches were kept
    summary = label_dataset(tmp_path / "in.h5", out_path, teacher, progress=False)
    assert summary.skipped == {"ok": killed_at}
    assert summary.counts == {"ok": n - killed_at}  # nothing labelled twice
    out = Dataset(out_path)
    keys = out.keys()
    assert len(out) == n and len(set(keys)) == n
    assert set(keys) == {f.key for f in frames}
    assert set(out.statuses().tolist()) == {"ok"}
    rows = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len({r["key"] for r in rows}) == len(rows)  # each key journaled once
    # labels written before the kill are the teacher's
    probe = out[0]
    (fresh,) = teacher.label([probe.unlabelled()], tmp_path)
    assert probe.energy == pytest.approx(fresh.energy, rel=1e-12)


def test_cli_labels_reports_and_rejects_bad_config(tmp_path):
    write_unlabelled(tmp_path / "in.h5", cristobalite_frames(5, seed=6))
    cmd = [sys.executable, "-m", "mlmd.cli", "label", str(tmp_path / "in.h5")]
    ok = subprocess.run(
        [*cmd, "-o", str(tmp_path / "out.h5"), "--reference", "teacher"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "MLMD_PROGRESS": "1"},  # draw although stderr is a pipe
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["counts"] == {"ok": 5}
    assert "label[teacher]" in ok.stderr and "5/5 100%" in ok.stderr and "ETA" in ok.stderr
    cfg = tmp_path / "ref.toml"
    cfg.write_text('preset = "fast"\ncutof_Ry = 300.0\n')
    bad = subprocess.run(
        [*cmd, "-o", str(tmp_path / "dft.h5"), "--reference", "cp2k", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert bad.returncode == 2
    assert "cutof_Ry" in bad.stderr and "cutoff_Ry" in bad.stderr
    assert not (tmp_path / "dft.h5").exists()
    assert torch.get_default_dtype() == torch.float32  # the driver leaves torch defaults alone
