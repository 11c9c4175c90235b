"""mlmd/analysis/reader.py: open_trajectory dispatches by file and names bad ones; --frames
parsing (the formats themselves: test_reader_h5md.py, test_reader_ase.py)."""

import h5py
import pytest

from mlmd.analysis import open_trajectory
from mlmd.analysis.reader import parse_frames
from mlmd.errors import InputError


def test_bad_inputs_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        open_trajectory(tmp_path / "missing.h5")
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f.create_group("data")
    with pytest.raises(InputError, match="particles"):
        open_trajectory(tmp_path / "empty.h5")
    (tmp_path / "junk.txt").write_text("not a trajectory\n")
    with pytest.raises(InputError, match="junk.txt"):
        open_trajectory(tmp_path / "junk.txt")


def test_parse_frames():
    assert parse_frames("10::2") == slice(10, None, 2)
    assert parse_frames(":") == slice(None)
    assert parse_frames("5") == slice(5, 6)
    assert parse_frames("-1") == slice(-1, None)
    with pytest.raises(InputError, match="--frames"):
        parse_frames("a:b")
