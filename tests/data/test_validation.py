"""Checks of a dataset file on read: damaged layout, non-finite positions and keys that are
not content hashes are errors naming the file and the HDF5 path; nothing is written after a
failed check on write."""

from __future__ import annotations

import numpy as np
import pytest

from mlmd.data import Dataset, Frame
from mlmd.errors import InputError
from tests.data._helpers import damage, make_frame, same_frame


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (lambda f: f.attrs.__setitem__("format", "h5md"), "format"),
        (lambda f: f.__delitem__("atoms/forces"), "atoms/forces"),
        (lambda f: f["frames/offset"].__setitem__(1, 99), "frames/offset"),
        (lambda f: f.attrs.__setitem__("reference", "not json"), "reference"),
    ],
)
def test_reading_rejects_damaged_files(ds, action, field):
    ds.close()
    damage(ds.path, action)
    with pytest.raises(InputError) as err:
        len(Dataset(ds.path))
    assert err.value.field == field and err.value.file == str(ds.path) and err.value.fix


def test_nan_positions_in_file_are_reported(ds):
    ds.close()
    damage(ds.path, lambda f: f["atoms/positions"].__setitem__(0, [np.nan] * 3))
    d = Dataset(ds.path)
    with pytest.raises(InputError, match="positions") as err:
        d[0]
    assert err.value.field == "atoms/positions"
    with pytest.raises(InputError, match="positions"):
        d.validate()
    assert same_frame(d[1], make_frame(1))  # other frames still read


@pytest.mark.parametrize("key", ["/abs/victim", "../victim", "0" * 31 + "/", "A" * 32, ""])
def test_keys_that_are_not_content_hashes_are_refused_on_read(ds, key):
    ds.close()
    damage(ds.path, lambda f: f["frames/key"].__setitem__(3, key))
    with pytest.raises(InputError, match="not a content hash") as err:
        len(Dataset(ds.path))
    assert err.value.field == "frames/key" and err.value.file == str(ds.path)


def test_keys_that_are_not_content_hashes_are_refused_on_write(ds):
    before = ds.path.read_bytes()
    for key in ("../victim", "/abs/x", "a;touch X"):
        with pytest.raises(InputError, match="content hash"):
            ds.append([make_frame(60), Frame(**{**make_frame(61).__dict__, "key": key})])
        with pytest.raises(InputError, match="content hash"):
            ds.upsert([Frame(**{**make_frame(62).__dict__, "key": key})])
    assert ds.path.read_bytes() == before
