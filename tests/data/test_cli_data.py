"""``mlmd data`` and ``mlmd build`` through the real command line.

The round trip and one bad input run the console entry point in a subprocess; the other
cases call the same dispatcher (``mlmd.cli.main``) in-process to keep the suite fast.
"""

from __future__ import annotations

import json

import ase.io
import h5py
import numpy as np
import pytest

from mlmd.data import Dataset, frame_to_atoms, write_frames
from tests.cli_helpers import call_mlmd, run_mlmd
from tests.data._helpers import digest, make_frame

ARRAYS = ("numbers", "positions", "cell", "pbc")


def _ase_labelled_file(path, n=6):
    """An extxyz written by ASE itself: energies, forces, stress, mixed pbc, ragged."""
    images = []
    for i in range(n):
        atoms = frame_to_atoms(make_frame(i))
        atoms.info.clear()
        images.append(atoms)
    ase.io.write(path, images, format="extxyz")
    return images


def test_extxyz_import_export_is_float64_identical(tmp_path):
    src, h5, out = tmp_path / "in.extxyz", tmp_path / "d.h5", tmp_path / "out.extxyz"
    _ase_labelled_file(src)
    ref = '{"name": "teacher", "potential": "vashishta1994"}'
    r = run_mlmd("data", "import", src, "-o", h5, "--reference", ref)
    assert r.returncode == 0, r.stderr
    r = run_mlmd("data", "export", h5, "-o", out)
    assert r.returncode == 0, r.stderr
    written = out.read_bytes()
    r = call_mlmd("data", "export", h5, "-o", out, cwd=tmp_path)  # never replaced silently
    assert r.returncode == 2 and f"{out}: already exists" in r.stderr, r.stderr
    assert out.read_bytes() == written
    r = call_mlmd("data", "export", h5, "-o", out, "--overwrite", cwd=tmp_path)
    assert r.returncode == 0 and out.read_bytes() == written, r.stderr
    before = ase.io.read(src, ":", format="extxyz")
    after = ase.io.read(out, ":", format="extxyz")
    assert len(before) == len(after) == 6
    for a, b in zip(before, after, strict=True):
        for name in ARRAYS:
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert np.array_equal(a.cell[:], b.cell[:])
        assert a.get_potential_energy() == b.get_potential_energy()
        assert np.array_equal(a.get_forces(), b.get_forces())
        assert np.array_equal(a.get_stress(), b.get_stress())
        assert b.info["mlmd_status"] == "ok"


def test_info_json_counts_and_import_appends(tmp_path):
    src, h5 = tmp_path / "in.extxyz", tmp_path / "d.h5"
    images = _ase_labelled_file(src, n=5)
    assert call_mlmd("data", "import", src, "-o", h5, cwd=tmp_path).returncode == 0
    r = call_mlmd("data", "import", src, src, "-o", h5, cwd=tmp_path)  # appends to OUT
    assert r.returncode == 0, r.stderr
    r = call_mlmd("data", "info", h5, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    n_atoms = sum(len(a) for a in images)
    n_si = sum(int((a.numbers == 14).sum()) for a in images)
    assert info["frames"] == 15 and info["atoms"] == 3 * n_atoms
    assert info["species"] == {"O": 3 * (n_atoms - n_si), "Si": 3 * n_si}
    assert info["status"] == {"ok": 15} and info["frames_with_stress"] == 15
    assert info["reference"] == {"name": "unknown"}
    e = [a.get_potential_energy() / len(a) for a in images]
    assert info["energy_per_atom_eV"]["min"] == pytest.approx(min(e), rel=1e-12)
    f = np.concatenate([a.get_forces() for a in images])
    assert info["force_component_eV_A"]["rms"] == pytest.approx(np.sqrt((f**2).mean()))
    r = call_mlmd("data", "info", h5, cwd=tmp_path)
    assert r.returncode == 0 and "15 frames" in r.stdout


def test_merge_dedupes_by_key(tmp_path):
    a, b, c = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"
    ref = {"name": "teacher"}
    write_frames(a, ref, [make_frame(i) for i in range(4)])
    write_frames(b, ref, [make_frame(i, labelled=False) for i in range(2, 7)])
    r = call_mlmd("data", "merge", a, b, "-o", c, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ds = Dataset(c)
    assert len(ds) == 7 and ds.reference == ref
    assert sorted(ds.keys()) == sorted(make_frame(i).key for i in range(7))
    assert list(ds.statuses()).count("ok") == 4  # labelled copies of keys 2, 3 win
    r = call_mlmd(
        "data", "merge", a, b, "-o", tmp_path / "all.h5", "--keep-duplicates", cwd=tmp_path
    )
    assert r.returncode == 0 and len(Dataset(tmp_path / "all.h5")) == 9


def _nan_positions_h5(path):
    write_frames(path, {"name": "teacher"}, [make_frame(i) for i in range(3)])
    with h5py.File(path, "r+") as f:
        f["atoms/positions"][5] = [np.nan, 0.0, 0.0]


def _bad_inputs(tmp):
    good = tmp / "good.h5"
    write_frames(good, {"name": "teacher"}, [make_frame(i) for i in range(3)])
    truncated = tmp / "trunc.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    other_h5 = tmp / "traj.h5"
    with h5py.File(other_h5, "w") as f:
        f.create_group("h5md").attrs["version"] = [1, 1]
    cp2k = tmp / "cp2k.h5"
    write_frames(cp2k, {"name": "cp2k", "cutoff_Ry": 400}, [make_frame(9)])
    no_forces = tmp / "noforces.extxyz"
    no_forces.write_text(
        '2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 energy=-3.5 '
        'pbc="T T T"\nSi 0 0 0\nO 1.6 0 0\n'
    )
    nan_xyz = tmp / "nan.extxyz"
    nan_xyz.write_text(
        '2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 pbc="T T T"\n'
        "Si 0 0 0\nO nan 0 0\n"
    )
    _nan_positions_h5(tmp / "nan.h5")
    return {
        "truncated info": (["data", "info", truncated], [truncated], "trunc.h5", "truncated"),
        "truncated append": (
            ["data", "import", no_forces, "--allow-missing-forces", "-o", truncated],
            [truncated, no_forces],
            "trunc.h5",
            "truncated",
        ),
        "truncated merge": (
            ["data", "merge", good, truncated, "-o", tmp / "m.h5"],
            [good, truncated],
            "trunc.h5",
            "truncated",
        ),
        "other hdf5": (["data", "export", other_h5, "-o", tmp / "x.xyz"], [other_h5], "traj.h5",
                       "format"),
        "xyz as dataset": (["data", "info", no_forces], [no_forces], "noforces",
                           "not an HDF5 file"),
        "h5 as extxyz": (["data", "import", good, "-o", tmp / "n.h5"], [good], "good.h5",
                         "extxyz"),
        "two references": (["data", "merge", good, cp2k, "-o", tmp / "m.h5"], [good, cp2k],
                           "cp2k.h5", "reference"),
        "import other reference": (
            ["data", "import", no_forces, "--allow-missing-forces", "-o", cp2k,
             "--reference", '{"name": "teacher"}'],
            [cp2k, no_forces], "cp2k.h5", "reference",
        ),
        "missing forces": (["data", "import", no_forces, "-o", tmp / "n.h5"], [no_forces],
                           "noforces.extxyz", "forces"),
        "nan positions xyz": (["data", "import", nan_xyz, "-o", tmp / "n.h5"], [nan_xyz],
                              "nan.extxyz", "positions"),
        "nan positions h5": (["data", "export", tmp / "nan.h5", "-o", tmp / "x.xyz"],
                             [tmp / "nan.h5"], "nan.h5", "positions"),
        "bad stoichiometry": (["build", "sio2", "--atoms", "100", "--density", "2.2", "-o",
                               tmp / "s.h5"], [], "n_atoms", "multiple of 3"),
    }  # fmt: skip


def test_bad_input_exit_code_of_the_console_command(tmp_path):
    args, inputs, where, what = _bad_inputs(tmp_path)["truncated info"]
    before = digest(inputs[0])
    r = run_mlmd(*args)
    assert r.returncode == 2 and where in r.stderr and what in r.stderr and "fix:" in r.stderr
    assert "Traceback" not in r.stderr and digest(inputs[0]) == before


def test_bad_inputs_exit_2_with_clear_message_and_untouched_inputs(tmp_path):
    cases = _bad_inputs(tmp_path)
    for name, (args, inputs, where, what) in cases.items():
        before = {p: digest(p) for p in inputs}
        r = call_mlmd(*args, cwd=tmp_path)
        assert r.returncode == 2, f"{name}: rc {r.returncode}\n{r.stderr}"
        assert where in r.stderr and what in r.stderr and "fix:" in r.stderr, (name, r.stderr)
        assert {p: digest(p) for p in inputs} == before, f"{name}: an input changed"
        assert not (tmp_path / "n.h5").exists() and not (tmp_path / "m.h5").exists(), name
        assert not list(tmp_path.glob("*.tmp-*")), name


def test_missing_forces_allowed_become_missing_output(tmp_path):
    _bad_inputs(tmp_path)
    h5 = tmp_path / "mf.h5"
    noforces = tmp_path / "noforces.extxyz"
    r = call_mlmd("data", "import", noforces, "--allow-missing-forces", "-o", h5, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    frame = Dataset(h5)[0]
    assert frame.status == "missing_output" and frame.energy == -3.5
    assert np.isnan(frame.forces).all()


def test_build_sio2_commands(tmp_path):
    r = call_mlmd("build", "sio2", "--atoms", "192", "--density", "2.2", "--seed", "4",
                  "-o", tmp_path / "r.h5", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    ds = Dataset(tmp_path / "r.h5")
    assert ds.reference == {"name": "none"} and len(ds) == 1 and ds[0].n_atoms == 192
    assert ds.statuses().tolist() == ["unlabelled"]
    r = call_mlmd("build", "sio2", "--crystal", "cristobalite", "--repeat", "2", "1", "1",
                  "-o", tmp_path / "c.h5", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert Dataset(tmp_path / "c.h5")[0].n_atoms == 48
    r = call_mlmd("build", "sio2", "--crystal", "quartz", "-o", tmp_path / "c.h5", cwd=tmp_path)
    assert r.returncode == 2 and "exists" in r.stderr
    r = call_mlmd("build", "sio2", "--crystal", "quartz", "--atoms", "9",
                  "-o", tmp_path / "q.h5", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 2 and "--crystal" in r.stderr
    r = call_mlmd("build", "sio2", "--density", "2.2", "-o", tmp_path / "q.h5", cwd=tmp_path)
    assert r.returncode == 2 and "--atoms" in r.stderr and not (tmp_path / "q.h5").exists()


@pytest.mark.parametrize(
    "command",
    [
        "data import {x} -o {out}",
        "data merge {h5} -o {out}",
        "data export {h5} -o {out}",
        "build sio2 --atoms 24 --density 2.2 -o {out}",
    ],
)
def test_an_output_in_a_missing_directory_is_named(tmp_path, command):
    """``-o no/x.h5``: one line naming the user's path and its missing directory (it named a
    hidden temporary: 'x.h5.tmp-vm-123-ab12cd34.tmp-vm-123-…: No such file or directory')."""
    h5, x = tmp_path / "d.h5", tmp_path / "d.extxyz"
    write_frames(h5, {"name": "test"}, [make_frame(i) for i in range(3)])
    ase.io.write(x, [frame_to_atoms(make_frame(0))], format="extxyz")
    out = tmp_path / "no" / "x.h5"
    r = call_mlmd(*command.format(x=x, h5=h5, out=out).split(), cwd=tmp_path)
    assert r.returncode == 2 and f"{out}: directory {out.parent} does not exist" in r.stderr, (
        r.stderr
    )
    assert ".tmp-" not in r.stderr and not (tmp_path / "no").exists()


def test_a_dataset_in_a_missing_directory_is_named(tmp_path):
    """The writer lock (``.<name>.lock`` beside the file) is the first thing opened."""
    from mlmd.errors import InputError

    with pytest.raises(InputError, match="does not exist") as info:
        Dataset.create(tmp_path / "no" / "x.h5", {"name": "test"})
    assert ".lock" not in str(info.value)
