"""Merge and dedupe through the Python API."""

from __future__ import annotations

import pytest

from mlmd.data import Dataset, dedupe_dataset, dedupe_indices, merge_datasets, write_frames
from mlmd.errors import InputError
from tests.data._helpers import digest, make_frame, same_frame

REF = {"name": "teacher"}


def test_dedupe_prefers_ok_then_first():
    keys = ["a", "b", "a", "c", "b", "b"]
    status = ["unlabelled", "ok", "ok", "failed", "ok", "unlabelled"]
    assert dedupe_indices(keys, status) == [1, 2, 3]


def test_dedupe_dataset(tmp_path):
    src = tmp_path / "src.h5"
    frames = [make_frame(i % 4, labelled=i >= 4) for i in range(10)]
    write_frames(src, REF, frames)
    before = digest(src)
    assert dedupe_dataset(src, tmp_path / "out.h5") == 4
    out = Dataset(tmp_path / "out.h5")
    assert [f.status for f in out] == ["ok"] * 4
    assert all(same_frame(out[i], make_frame(i)) for i in range(4))
    assert digest(src) == before


def test_merge_guards(tmp_path):
    a, b, cp2k = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "cp2k.h5"
    write_frames(a, REF, [make_frame(0)])
    Dataset.create(b, REF)  # empty datasets merge fine
    write_frames(cp2k, {"name": "cp2k"}, [make_frame(1)])
    with pytest.raises(InputError, match="one of the inputs"):
        merge_datasets([a, b], a, overwrite=True)
    with pytest.raises(InputError, match="reference") as err:
        merge_datasets([a, cp2k], tmp_path / "c.h5")
    assert err.value.file == str(cp2k) and err.value.field == "reference"
    assert merge_datasets([b, a], tmp_path / "c.h5") == 1
    with pytest.raises(InputError, match="exists"):
        merge_datasets([a], tmp_path / "c.h5")
    assert merge_datasets([a, a], tmp_path / "c.h5", overwrite=True, dedupe=False) == 2
    assert same_frame(Dataset(tmp_path / "c.h5")[1], make_frame(0))


def test_merge_keeps_info_and_arrays_and_reads_version_1_inputs(tmp_path):
    import h5py
    import numpy as np

    from mlmd.data import Frame

    tagged = [
        Frame(**{**make_frame(i).__dict__, "info": {"config_type": f"c{i}"},
                 "arrays": {"q": np.arange(make_frame(i).n_atoms) / 7}})
        for i in range(3)
    ]  # fmt: skip
    write_frames(tmp_path / "a.h5", REF, tagged)
    write_frames(tmp_path / "b.h5", REF, [make_frame(i) for i in range(3, 5)])
    with h5py.File(tmp_path / "b.h5", "r+") as f:  # an old file without the extra columns
        del f["frames/info"], f["frames/arrays"]
        f.attrs["version"] = 1
    assert merge_datasets([tmp_path / "a.h5", tmp_path / "b.h5"], tmp_path / "m.h5") == 5
    merged = list(Dataset(tmp_path / "m.h5"))
    assert [f.info for f in merged] == [{"config_type": f"c{i}"} for i in range(3)] + [{}, {}]
    assert np.array_equal(merged[2].arrays["q"], tagged[2].arrays["q"])
    assert merged[4].arrays == {} and same_frame(merged[4], make_frame(4))
