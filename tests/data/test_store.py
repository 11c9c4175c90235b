"""The HDF5 dataset store: layout, lazy picklable reads, append/upsert, select, versions,
concurrent writers."""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import h5py
import numpy as np
import pytest

from mlmd.atomic import temp_path
from mlmd.data import Dataset, Frame
from mlmd.errors import InputError
from tests.data._helpers import REF, damage, make_frame, same_frame


def test_layout_and_attributes(ds):
    with h5py.File(ds.path, "r") as f:
        assert f.attrs["format"] == "mlmd.dataset" and int(f.attrs["version"]) == 2
        assert "mlmd_version" in f.attrs
        assert set(f["frames"]) == {
            "n_atoms", "offset", "cell", "pbc", "energy", "stress", "status", "key", "source",
            "weight", "info", "arrays",
        }  # fmt: skip
        assert set(f["atoms"]) == {"numbers", "positions", "forces"}
        n = f["frames/n_atoms"][()]
        assert f["atoms/positions"].shape == (n.sum(), 3)
        assert np.array_equal(f["frames/offset"][()], np.concatenate([[0], np.cumsum(n)[:-1]]))
    assert ds.reference == REF


def test_frames_round_trip_bit_identical(ds):
    expected = [make_frame(i, labelled=i % 3 != 2) for i in range(12)]
    assert len(ds) == 12
    assert all(same_frame(a, b) for a, b in zip(ds, expected, strict=True))
    assert same_frame(ds[-1], expected[-1]) and same_frame(ds[5], expected[5])
    assert ds[2].status == "unlabelled" and np.isnan(ds[2].forces).all()
    assert ds.keys() == [f.key for f in expected]
    assert list(ds.statuses()) == [f.status for f in expected]
    with pytest.raises(IndexError):
        ds[12]


def _count_ok(d: Dataset) -> int:
    return len(d.select(status="ok"))


def test_reader_pickles_lazily(ds):
    assert len(ds) == 12  # the handle is open now
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._h5 is None  # nothing opened until first use
    assert same_frame(clone[3], ds[3])
    with ProcessPoolExecutor(1) as pool:
        assert pool.submit(_count_ok, ds).result() == 8


def test_select(ds):
    assert ds.select(status="ok") == [i for i in range(12) if i % 3 != 2]
    assert ds.select(status=["unlabelled"]) == [2, 5, 8, 11]
    only_o = [i for i in range(12) if set(ds[i].numbers) == {8}]
    assert ds.select(species=["O"]) == only_o
    assert ds.select(species=[8, 14]) == list(range(12))
    keys = ds.keys()
    assert ds.select(keys=[keys[4], keys[7]], status="ok") == [4, 7]
    with pytest.raises(InputError, match="status"):
        ds.select(status="okay")


def test_upsert_replaces_by_key_and_appends_rest(ds):
    old = ds[2]
    relabelled = old.with_labels(energy=-1.5, forces=np.ones((old.n_atoms, 3)))
    assert ds.upsert([relabelled, make_frame(100)]) == (1, 1)
    assert len(ds) == 13 and ds[2].status == "ok" and ds[2].energy == -1.5
    assert same_frame(ds[12], make_frame(100)) and same_frame(ds[3], make_frame(3))


def test_append_validates_and_is_all_or_nothing(tmp_path, ds):
    before = (ds.path.read_bytes(), len(ds))
    bad = make_frame(50)
    bad.positions[0, 1] = np.nan
    with pytest.raises(InputError, match="positions"):
        ds.append([make_frame(49), bad])
    no_forces = Frame(numbers=[8], positions=[[0, 0, 0]], cell=np.eye(3), pbc=True)
    with pytest.raises(InputError, match="forces"):
        ds.append([Frame(**{**no_forces.__dict__, "energy": 1.0, "status": "ok"})])
    with pytest.raises(InputError, match="reference"):
        ds.append([make_frame(51)], reference={"name": "cp2k"})
    assert (ds.path.read_bytes(), len(ds)) == before
    with pytest.raises(InputError, match="exists"):
        Dataset.create(ds.path, REF)
    assert Dataset.open_or_create(ds.path, REF).reference == REF
    with pytest.raises(InputError, match="reference"):
        Dataset.open_or_create(ds.path, {"name": "cp2k"})


def test_version_1_files_are_read_and_upgraded_on_write(ds):
    ds.close()

    def to_v1(f):
        del f["frames/info"], f["frames/arrays"]
        f.attrs["version"] = 1

    damage(ds.path, to_v1)
    old = Dataset(ds.path)
    assert same_frame(old[4], make_frame(4)) and old[4].info == {} and old[4].arrays == {}
    extra = Frame(**{**make_frame(70).__dict__, "info": {"config_type": "x"}})
    old.append([extra])
    with h5py.File(ds.path, "r") as f:
        assert int(f.attrs["version"]) == 2 and f["frames/info"].shape == (13,)
    assert old[12].info == {"config_type": "x"} and old[3].info == {}
    assert same_frame(old[3], make_frame(3))


def test_info_and_arrays_round_trip_with_dtypes(tmp_path):
    base = make_frame(5)
    n = base.n_atoms
    info = {"config_type": "liquid", "T_K": 3000.5, "step": 7, "ok": True, "v": np.arange(3.0)}
    arrays = {"tags": np.arange(n, dtype=np.int32), "q": np.linspace(-1, 1, n) / 3}
    arrays["mask"] = np.arange(n) % 2 == 0
    frame = Frame(**{**base.__dict__, "info": info, "arrays": arrays})
    d = Dataset.create(tmp_path / "x.h5", REF)
    d.append([frame])
    back = d[0]
    assert {k: v for k, v in back.info.items() if k != "v"} == {
        k: v for k, v in info.items() if k != "v"
    }
    assert np.array_equal(back.info["v"], info["v"]) and back.info["v"].dtype == np.float64
    for name, values in arrays.items():
        assert np.array_equal(back.arrays[name], values)
        assert back.arrays[name].dtype == values.dtype
    with pytest.raises(InputError, match="cannot be stored"):
        d.append([Frame(**{**make_frame(6).__dict__, "info": {"bad": object()}})])


def _create_and_append(i: int, barrier, path: str, results) -> None:
    barrier.wait()
    try:
        Dataset.open_or_create(path, REF).append([make_frame(i)])
        results.put((i, ""))
    except BaseException as exc:  # report, do not hide: the test asserts there is none
        results.put((i, f"{type(exc).__name__}: {exc}"))


def test_writers_creating_one_new_dataset_at_once_all_succeed(tmp_path):
    """Before: a writer's `create` temporary was deleted by another writer's stale-file
    cleanup (24 of 100 writers crashed with FileNotFoundError in 10 rounds of 10)."""
    ctx = multiprocessing.get_context("fork")
    writers = 10
    for round_ in range(2):
        path = tmp_path / f"new{round_}.h5"
        barrier, results = ctx.Barrier(writers), ctx.Queue()
        procs = [
            ctx.Process(target=_create_and_append, args=(i, barrier, str(path), results))
            for i in range(writers)
        ]
        for p in procs:
            p.start()
        outcome = dict(results.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        assert [e for e in outcome.values() if e] == []
        d = Dataset(path)
        assert sorted(d.keys()) == sorted(make_frame(i).key for i in range(writers))
        assert sorted(p.name for p in tmp_path.glob(f"new{round_}.h5*")) == [path.name]


def test_a_live_writers_temporary_survives_and_a_dead_ones_is_removed(ds, tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        live_tmp, dead_tmp = temp_path(ds.path, live.pid), temp_path(ds.path, dead.pid)
        legacy_dead = tmp_path / f"{ds.path.name}.tmp-{dead.pid}"
        for p in (live_tmp, dead_tmp, legacy_dead):
            p.write_bytes(b"partial")
        ds.append([make_frame(80)])
        assert live_tmp.exists()  # before: every *.tmp-* was deleted, a live writer crashed
        assert not dead_tmp.exists() and not legacy_dead.exists()
    finally:
        live.kill()
        live.wait()
