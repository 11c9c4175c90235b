"""extxyz import/export: MACE- and GAP-style label keys, info and extra arrays kept, no label
dropped without a warning, malformed files as clear errors (never a traceback)."""

from __future__ import annotations

import logging

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from ase.stress import voigt_6_to_full_3x3_stress

from mlmd.data import Dataset, LabelKeys, read_extxyz, write_extxyz
from mlmd.errors import InputError
from tests.cli_helpers import call_mlmd
from tests.data._helpers import digest

MACE = LabelKeys(energy="REF_energy", forces="REF_forces", stress="REF_stress")
MACE_OPTIONS = ["--energy-key", "REF_energy", "--forces-key", "REF_forces"]
MACE_OPTIONS += ["--stress-key", "REF_stress"]


def mace_images(n: int = 3) -> list:
    """Cu cells with MACE-style labels (stress as 6 Voigt or 9 numbers), a config_type and
    extra per-atom arrays (int tags, float charges)."""
    rng = np.random.default_rng(0)
    images = []
    for i in range(n):
        a = bulk("Cu", "fcc", a=3.6, cubic=True) * (1, 1, 2)
        a.rattle(0.05, seed=i)
        a.info["REF_energy"] = -3.5 * len(a) + rng.normal()
        a.arrays["REF_forces"] = rng.normal(size=(len(a), 3))
        s = rng.normal(size=(3, 3)) * 1e-3
        a.info["REF_stress"] = (s + s.T).reshape(9) if i % 2 else rng.normal(size=6) * 1e-3
        a.info["config_type"] = f"md_{i}"
        a.arrays["site_tag"] = np.arange(len(a))
        a.arrays["REF_charges"] = rng.normal(size=len(a))
        images.append(a)
    return images


def gap_images(n: int = 2) -> list:
    """Si cells with GAP-style labels: energy, a per-atom ``force`` and a ``virial`` (eV)."""
    rng = np.random.default_rng(1)
    images = []
    for i in range(n):
        a = bulk("Si", "diamond", a=5.43, cubic=True)
        a.rattle(0.02, seed=i)
        a.info["energy"] = -5.4 * len(a) + i
        a.arrays["force"] = rng.normal(size=(len(a), 3))
        w = rng.normal(size=(3, 3))
        a.info["virial"] = w + w.T
        a.info["config_type"] = "diamond"
        images.append(a)
    return images


def _stress_of(value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    return voigt_6_to_full_3x3_stress(value) if value.shape == (6,) else value.reshape(3, 3)


def test_mace_keys_give_the_labels_of_the_file(tmp_path):
    images = mace_images()
    path = tmp_path / "mace.extxyz"
    ase.io.write(path, images, format="extxyz")
    frames = read_extxyz(path, keys=MACE)
    raw = ase.io.read(path, index=":", format="extxyz")  # what the file holds, as ASE reads it
    for frame, atoms in zip(frames, raw, strict=True):
        assert frame.status == "ok"
        assert frame.energy == atoms.info["REF_energy"]
        assert np.array_equal(frame.forces, atoms.arrays["REF_forces"])
        assert np.array_equal(frame.stress, _stress_of(atoms.info["REF_stress"]))
        assert frame.info == {"config_type": atoms.info["config_type"]}
        assert set(frame.arrays) == {"site_tag", "REF_charges"}
        assert np.array_equal(frame.arrays["site_tag"], atoms.arrays["site_tag"])
        assert frame.arrays["site_tag"].dtype.kind == "i"


def test_gap_virial_becomes_minus_virial_over_volume(tmp_path):
    images = gap_images()
    path = tmp_path / "gap.extxyz"
    ase.io.write(path, images, format="extxyz")
    frames = read_extxyz(path, keys=LabelKeys(forces="force"))
    raw = ase.io.read(path, index=":", format="extxyz")
    for frame, atoms in zip(frames, raw, strict=True):
        assert frame.status == "ok" and frame.energy == atoms.get_potential_energy()
        assert np.array_equal(frame.forces, atoms.arrays["force"])
        assert np.array_equal(frame.stress, -atoms.info["virial"] / atoms.get_volume())
    atoms = images[0].copy()
    atoms.info["stress"] = -atoms.info["virial"] / atoms.get_volume() * 1.01
    ase.io.write(path, [atoms], format="extxyz")
    with pytest.raises(InputError, match="disagree") as info:
        read_extxyz(path, keys=LabelKeys(forces="force"))
    assert info.value.file == str(path) and "structure 0" in info.value.field


def test_unused_label_keys_are_kept_and_reported(tmp_path, caplog):
    path = tmp_path / "mace.extxyz"
    ase.io.write(path, mace_images(), format="extxyz")
    with caplog.at_level(logging.WARNING, logger="mlmd.data.extxyz"):
        frames = read_extxyz(path)  # default keys: energy, forces, stress
    assert {f.status for f in frames} == {"unlabelled"}
    text = caplog.text
    for key, option in (("REF_energy", "--energy-key"), ("REF_forces", "--forces-key")):
        assert f"'{key}'" in text and f"{option} {key}" in text
    assert "REF_stress" in text and "REF_charges" not in text
    assert "REF_energy" in frames[0].info and "REF_forces" in frames[0].arrays  # not dropped


def test_import_export_keeps_labels_info_and_arrays(tmp_path):
    src = tmp_path / "mace.extxyz"
    ase.io.write(src, mace_images(), format="extxyz")
    before = digest(src)
    h5, out = tmp_path / "d.h5", tmp_path / "back.extxyz"
    r = call_mlmd("data", "import", src, "-o", h5, *MACE_OPTIONS, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "(ok 3)" in r.stdout and digest(src) == before
    r = call_mlmd("data", "export", h5, "-o", out, *MACE_OPTIONS, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    stored, back = list(Dataset(h5)), read_extxyz(out, keys=MACE)
    original = read_extxyz(src, keys=MACE)
    for a, b, c in zip(original, stored, back, strict=True):
        for frame in (b, c):
            assert frame.energy == a.energy and frame.key == a.key
            assert np.array_equal(frame.forces, a.forces)
            assert np.array_equal(frame.stress, a.stress)
            assert frame.info == a.info
            assert set(frame.arrays) == set(a.arrays)
            for name in a.arrays:
                assert np.array_equal(frame.arrays[name], a.arrays[name])
                assert frame.arrays[name].dtype == a.arrays[name].dtype
    # ASE reads the export as a MACE-style file too
    again = ase.io.read(out, index=":", format="extxyz")
    assert again[1].info["config_type"] == "md_1" and "REF_forces" in again[1].arrays


def test_gap_export_writes_a_virial(tmp_path):
    src = tmp_path / "gap.extxyz"
    ase.io.write(src, gap_images(), format="extxyz")
    h5, out = tmp_path / "g.h5", tmp_path / "g.extxyz"
    r = call_mlmd("data", "import", src, "-o", h5, "--forces-key", "force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    args = ["data", "export", h5, "-o", out, "--forces-key", "force", "--virial-key", "virial"]
    assert call_mlmd(*args, cwd=tmp_path).returncode == 0
    for a, b in zip(ase.io.read(src, ":"), ase.io.read(out, ":"), strict=True):
        assert np.allclose(a.info["virial"], b.info["virial"], rtol=1e-14, atol=1e-14)
        assert "stress" not in b.info and b.calc.results.get("stress") is None


def test_frames_from_the_api_keep_info_and_arrays(tmp_path):
    atoms = mace_images(1)[0]
    frames = read_extxyz(_write(tmp_path / "a.extxyz", [atoms]), keys=MACE)
    frames[0].info["nested"] = {"k": [1, 2.5], "flag": True}
    path = tmp_path / "x.extxyz"
    write_extxyz(frames, path, keys=MACE)
    back = read_extxyz(path, keys=MACE)[0]
    assert back.info == frames[0].info


def _write(path, images):
    ase.io.write(path, images, format="extxyz")
    return path


@pytest.mark.parametrize(
    "text, field",
    [
        ("1\nenergy=abc\nSi 0 0 0\n", "structure 0: energy"),
        ("1\nenergy=1.0 Properties=species:S:1:pos:R:3:forces:R:2\nSi 0 0 0 1 1\n", "forces"),
        ("1\nmlmd_weight=abc\nSi 0 0 0\n", "structure 0: mlmd_weight"),
        ("1\nmlmd_status=wat\nSi 0 0 0\n", "structure 0: mlmd_status"),
        ('1\nREF_stress="1 2 3 4"\nSi 0 0 0\n', "structure 0: REF_stress"),
    ],
)
def test_malformed_values_name_the_file_and_structure(tmp_path, text, field):
    path = tmp_path / "bad.extxyz"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_extxyz(path, require_forces=False, keys=LabelKeys(stress="REF_stress"))
    assert info.value.file == str(path) and field in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00binary",
        b"Si\n1.0\n5.43 0 0\n0 5.43 0\n0 0 5.43\nSi\n2\nDirect\n0 0 0\n0.25 0.25 0.25\n",
        b"data_quartz\n_cell_length_a 4.9\n",
        b'{"not": "xyz"}\n',
    ],
    ids=["png", "poscar", "cif", "json"],
)
def test_a_non_extxyz_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "structures.extxyz"
    path.write_bytes(content)
    r = call_mlmd("data", "import", path, "-o", tmp_path / "d.h5", cwd=tmp_path)
    assert r.returncode == 2 and "not a readable extxyz file" in r.stderr and str(path) in r.stderr
    assert r.stderr.strip().count("\n") == 0 and not (tmp_path / "d.h5").exists()
