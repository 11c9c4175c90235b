"""What a member trains on: its seeded bootstrap of the shared split, only ``ok`` frames."""

import numpy as np
import pytest

from mlmd.data import Dataset
from mlmd.errors import InputError
from mlmd.train.loop import train_member
from mlmd.train.setup import split_indices

from .conftest import tiny_config


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
