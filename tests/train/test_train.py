"""Training a member: the loss goes down, a model directory is written, a killed run resumes
exactly, and a resume under another config is refused."""

import json

import numpy as np
import pytest
import torch

from mlmd.errors import InputError
from mlmd.potential.export import load_member
from mlmd.train.loop import train_member

from .conftest import tiny_config


class Killed(Exception):
    """Raised from the epoch hook to stop training as a kill would."""


def _weights(directory):
    return load_member(directory).state_dict()


def test_training_reduces_the_loss_and_writes_a_model_dir(small_dataset, tmp_path):
    metrics = train_member(small_dataset, tmp_path, tiny_config(epochs=4))
    out = tmp_path / "member_0"
    history = json.loads(torch.load(out / "checkpoint.pt", weights_only=True)["state"])["history"]
    assert history[-1]["train_loss"] < 0.9 * history[0]["train_loss"]
    for name in ("config.json", "weights.pt", "train_config.json", "metrics.json"):
        assert (out / name).is_file()
    for name in ("learning_curve.png", "parity_test.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert {"val", "test"} <= set(metrics)
    assert np.isfinite(metrics["test"]["forces_rmse"]) and np.isfinite(
        metrics["test"]["stress_rmse"]
    )


def test_resume_after_kill_equals_uninterrupted_run(small_dataset, tmp_path):
    cfg = tiny_config(epochs=3)
    train_member(small_dataset, tmp_path / "a", cfg)

    def kill(epoch, record):
        if epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        train_member(small_dataset, tmp_path / "b", cfg, on_epoch_end=kill)
    assert not (tmp_path / "b" / "member_0" / "weights.pt").exists()
    train_member(small_dataset, tmp_path / "b", cfg)  # resumes at epoch 2
    a, b = _weights(tmp_path / "a" / "member_0"), _weights(tmp_path / "b" / "member_0")
    for key in a:
        assert torch.equal(a[key], b[key]), key  # also: two runs with one seed agree exactly


def test_resume_with_a_different_config_is_refused(small_dataset, tmp_path):
    train_member(small_dataset, tmp_path, tiny_config(epochs=1))
    with pytest.raises(InputError, match="lr"):
        train_member(small_dataset, tmp_path, tiny_config(epochs=2, lr=3e-3))
