"""mlmd.atomic: atomic replacement, per-writer temporaries, stale ones of dead writers removed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlmd.atomic import atomic_output, remove_stale_temps, temp_path, write_text


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_output_replaces_on_success_and_leaves_the_old_file_on_error(tmp_path):
    path = tmp_path / "out.json"
    write_text(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_output(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == "old" and sorted(tmp_path.iterdir()) == [path]
    with atomic_output(path) as tmp:
        assert tmp.parent == path.parent and tmp.name.startswith("out.json.tmp-")
        tmp.write_text("new")
    assert path.read_text() == "new" and sorted(tmp_path.iterdir()) == [path]


def test_temporaries_are_unique_per_call_and_name_the_writer(tmp_path):
    a, b = temp_path(tmp_path / "x"), temp_path(tmp_path / "x")
    assert a != b and f"-{os.getpid()}-" in a.name


def test_only_dead_writers_temporaries_on_this_host_are_removed(tmp_path):
    path = tmp_path / "data.h5"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _dead_pid()
        keep = [temp_path(path, live.pid), temp_path(path), tmp_path / "data.h5.tmp-otherhost-1-ab"]
        gone = [temp_path(path, dead), tmp_path / f"data.h5.tmp-{dead}"]  # new and old names
        unrelated = [tmp_path / "data.h5.lock", tmp_path / "data.h5.tmpdir", tmp_path / "data.h5"]
        for p in keep + gone + unrelated:
            p.write_text("x")
        assert sorted(remove_stale_temps(path)) == sorted(gone)
        assert all(p.exists() for p in keep + unrelated)
        assert not any(p.exists() for p in gone)
    finally:
        live.kill()
        live.wait()


def test_a_killed_writers_temporary_is_removed_by_the_next_writer(tmp_path):
    path = tmp_path / "model.pt"
    code = (
        "import os, sys\n"
        "from mlmd.atomic import atomic_output\n"
        "with atomic_output(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('partial')\n"
        "    os._exit(9)  # killed before the rename\n"
    )
    assert subprocess.run([sys.executable, "-c", code, str(path)]).returncode == 9
    assert len(list(tmp_path.glob("model.pt.tmp-*"))) == 1 and not path.exists()
    write_text(path, "done")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_a_missing_directory_is_named_not_the_temporary(tmp_path):
    """The error names the target and its missing directory (the OS error named the
    hidden temporary, e.g. 'x.h5.tmp-vm-123-ab12cd34: No such file or directory')."""
    from mlmd.errors import InputError

    target = tmp_path / "no" / "x.txt"
    with pytest.raises(InputError, match="does not exist") as info:
        write_text(target, "x")
    assert info.value.file == str(target) and ".tmp-" not in str(info.value)
    assert not (tmp_path / "no").exists()
