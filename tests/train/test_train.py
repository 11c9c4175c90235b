"""Training: loss goes down, exact resume after a kill, seeds, bootstrap, config checks."""

import json

import numpy as np
import pytest
import torch

from mlmd.data import Dataset
from mlmd.errors import InputError
from mlmd.potential.export import load_member
from mlmd.train.loop import split_indices, train_member

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


def test_members_differ_by_seed_and_bootstrap(small_dataset):
    ds = Dataset(small_dataset)
    cfg = tiny_config()
    t0, v0, s0 = split_indices(ds, cfg, 0)
    t1, v1, s1 = split_indices(ds, cfg, 1)
    assert np.array_equal(v0, v1) and np.array_equal(s0, s1)  # same held-out frames
    assert len(t1) == len(t0) and set(t1) <= set(t0)
    assert len(set(t1.tolist())) < len(t1)  # a bootstrap resample repeats frames
    assert cfg.member_seed(0) != cfg.member_seed(1)


def test_only_ok_frames_are_used(small_dataset, tmp_path):
    src = Dataset(small_dataset)
    path = tmp_path / "mixed.h5"
    ds = Dataset.create(path, src.reference)
    frames = list(src)
    ds.append(frames[:2] + [f.unlabelled() for f in frames[2:]])
    with pytest.raises(InputError, match="2 frames with status ok"):
        train_member(path, tmp_path / "m", tiny_config())


def test_cached_edge_terms_give_the_same_predictions(small_dataset):
    from mlmd.potential.model import BodyOrderPotential
    from mlmd.train.batch import collate, load_samples, with_edge_terms
    from mlmd.train.loss import predict

    cfg = tiny_config()
    samples = load_samples(Dataset(small_dataset), [0, 1, 2], cfg.model.cutoff_A)
    model = BodyOrderPotential(cfg.model, seed=1)
    plain = predict(model, collate(samples), training=True)
    cached = predict(model, collate(with_edge_terms(samples, model)), training=True)
    for a, b in [(plain.energy, cached.energy), (plain.forces, cached.forces),
                 (plain.stress, cached.stress)]:  # fmt: skip
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    grads = [torch.autograd.grad(p.forces.square().sum(), model.mix[0])[0] for p in (plain, cached)]
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)
