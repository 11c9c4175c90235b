"""The train/val/test split: seeded, disjoint, and the same frames land in the same parts
whatever their order in the file."""

from __future__ import annotations

import numpy as np
import pytest

from mlmd.data import Dataset
from mlmd.errors import InputError
from tests.data._helpers import REF


def test_split_is_seeded_disjoint_and_order_independent(tmp_path, ds):
    tr, va, te = ds.split((0.5, 0.25, 0.25), seed=3)
    assert (len(tr), len(va), len(te)) == (6, 3, 3)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(12))
    again = ds.split((0.5, 0.25, 0.25), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again, strict=True))
    other = ds.split((0.5, 0.25, 0.25), seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip((tr, va, te), other, strict=True))
    # the same frames in reverse file order land in the same parts
    rev = Dataset.create(tmp_path / "rev.h5", REF)
    rev.append([ds[i] for i in reversed(range(12))])
    keys = ds.keys()
    rev_parts = rev.split((0.5, 0.25, 0.25), seed=3)
    rev_keys = rev.keys()
    for mine, theirs in zip((tr, va, te), rev_parts, strict=True):
        assert {keys[i] for i in mine} == {rev_keys[i] for i in theirs}
    sub = ds.split((0.5, 0.5, 0.0), seed=1, indices=ds.select(status="ok"))
    assert sorted(np.concatenate(sub).tolist()) == ds.select(status="ok") and len(sub[2]) == 0
    with pytest.raises(InputError, match="fractions"):
        ds.split((0.5, 0.2, 0.2))
