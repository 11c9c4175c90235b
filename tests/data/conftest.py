"""The data tests' shared dataset: 12 frames of :func:`make_frame`, every third unlabelled."""

from __future__ import annotations

import pytest

from mlmd.data import Dataset
from tests.data._helpers import REF, make_frame


@pytest.fixture
def ds(tmp_path):
    """A fresh dataset file of 12 frames (frames 2, 5, 8, 11 unlabelled)."""
    d = Dataset.create(tmp_path / "d.h5", REF)
    d.append([make_frame(i, labelled=i % 3 != 2) for i in range(12)])
    return d
