"""Content-hashed steps and the campaign status file."""

import json

from mlmd.workflow import CampaignStatus, StepStore, step_key


def test_step_key_follows_file_contents_and_params(tmp_path):
    a = tmp_path / "a.h5"
    a.write_bytes(b"one")
    k1 = step_key("label", [a], {"preset": "fast"})
    assert step_key("label", [a], {"preset": "fast"}) == k1
    assert step_key("label", [a], {"preset": "production"}) != k1
    a.write_bytes(b"two")
    assert step_key("label", [a], {"preset": "fast"}) != k1


def test_step_is_done_only_after_mark_done(tmp_path):
    store = StepStore(tmp_path)
    out = store.directory("train", "abc")
    assert out.is_dir() and not store.is_done("train", "abc")
    store.mark_done("train", "abc", {"model": str(out / "model")})
    assert store.is_done("train", "abc")
    assert store.outputs("train", "abc")["model"].endswith("model")
    assert not list(out.glob("*.tmp"))


def test_status_file_counts_states(tmp_path):
    status = CampaignStatus(tmp_path, "quickstart")
    status.set("label", "f1", "running")
    status.set("label", "f1", "done")
    status.set("label", "f2", "reused")
    status.set("label", "f3", "failed")
    status.note("excluded f3: scf_not_converged")
    saved = json.loads((tmp_path / "status.json").read_text())
    assert saved["stages"]["label"] == {"done": 1, "reused": 1, "failed": 1}
    assert saved["notes"] == ["excluded f3: scf_not_converged"]
