"""`mlmd traj export`: extxyz and LAMMPS dumps that ASE reads back to the stored numbers."""

from __future__ import annotations

import ase.io
import h5py
import numpy as np
import pytest
from ase import units as ase_units

from mlmd.cli import main
from mlmd.md.h5md import FORCE_KJ_MOL_PER_EV
from tests.md import tolerances as tol
from tests.md.helpers import fcc_crystal, morse_nve_trajectory

#: the text formats keep 10 significant digits
TEXT_A = 1e-8


@pytest.fixture(scope="module", params=[False, True], ids=["orthorhombic", "triclinic"])
def trajectory(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("traj")
    atoms = fcc_crystal((2, 2, 2))
    if request.param:
        atoms.set_cell(atoms.cell.array @ np.array([[1, 0.1, 0], [0, 1, 0.05], [0, 0, 1]]), True)
    path = morse_nve_trajectory(out, atoms)
    with h5py.File(path) as f:
        p = f["particles/all"]
        stored = {k: p[f"{k}/value"][()] for k in ("position", "velocity", "force", "box/edges")}
        stored["species"], stored["step"] = p["species"][()], p["position/step"][()]
    stored["force"] = stored["force"] / FORCE_KJ_MOL_PER_EV
    return path, stored


def test_extxyz_export_round_trips_through_ase(trajectory, tmp_path):
    path, stored = trajectory
    out = tmp_path / "t.extxyz"
    assert main(["traj", "export", str(path), "-o", str(out), "--frames", "1::2"]) == 0
    frames = ase.io.read(out, index=":")
    assert [a.info["step"] for a in frames] == [5, 15]
    for a, k in zip(frames, (1, 3), strict=True):
        assert np.array_equal(a.numbers, stored["species"])
        assert np.abs(a.positions - stored["position"][k]).max() < TEXT_A
        assert np.abs(a.cell.array - stored["box/edges"][k]).max() < TEXT_A
        v = a.get_velocities() * ase_units.fs  # → Å/fs
        assert np.abs(v - stored["velocity"][k]).max() < TEXT_A
        assert np.abs(a.get_forces() - stored["force"][k]).max() < tol.EXPORTED_FORCE_EV_A


def test_lammps_dump_export_round_trips_through_ase(trajectory, tmp_path):
    path, stored = trajectory
    out = tmp_path / "t.lammpstrj"
    assert main(["traj", "export", str(path), "-o", str(out)]) == 0
    frames = ase.io.read(out, index=":", format="lammps-dump-text")
    assert len(frames) == 5
    for k, a in enumerate(frames):
        assert a.get_chemical_symbols() == ["Ar"] * len(stored["species"])
        cell = stored["box/edges"][k]
        assert np.allclose(a.cell.cellpar(), ase.geometry.cell_to_cellpar(cell), atol=1e-8)
        # LAMMPS's frame is rotated: compare fractional coordinates and distances
        frac = stored["position"][k] @ np.linalg.inv(cell)
        assert np.abs(a.get_scaled_positions(wrap=False) - frac).max() < TEXT_A
        assert np.allclose(
            np.linalg.norm(a.get_forces(), axis=1),
            np.linalg.norm(stored["force"][k], axis=1),
            atol=1e-6,
        )
    assert "ITEM: TIMESTEP\n20\n" in out.read_text()


def test_unknown_suffix_and_missing_file_exit_2(trajectory, tmp_path, capsys):
    path, _ = trajectory
    assert main(["traj", "export", str(path), "-o", str(tmp_path / "t.pdb")]) == 2
    assert "unknown export format '.pdb'" in capsys.readouterr().err
    assert main(["traj", "export", str(tmp_path / "no.h5"), "-o", str(tmp_path / "t.xyz")]) == 2
    assert not (tmp_path / "t.xyz").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frames", "a:b"], "--frames: 'a:b' is not a slice"),
        (["--frames", "9:9"], "--frames: '9:9' selects no frame"),
        (["--frames", "100:200"], "selects no frame (the trajectory has 5)"),
    ],
)
def test_a_refused_export_writes_nothing(trajectory, tmp_path, capsys, args, message):
    """A bad or empty frame selection: exit 2, and no file at all in the output directory
    (a failed export left its '.t.xyz.part'; an empty selection wrote an empty file, exit 0)."""
    path, _ = trajectory
    out = tmp_path / "out"
    out.mkdir()
    assert main(["traj", "export", str(path), "-o", str(out / "t.xyz"), *args]) == 2
    assert message in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_a_file_that_is_not_a_trajectory_leaves_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_text("not HDF5")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["traj", "export", str(bad), "-o", str(out / "t.lammpstrj")]) == 2
    assert "bad.h5" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_a_missing_output_directory_is_named(trajectory, tmp_path, capsys):
    """The message names the user's path (it named the hidden '.t.xyz.part')."""
    path, _ = trajectory
    target = tmp_path / "no" / "t.xyz"
    assert main(["traj", "export", str(path), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{target}: directory {target.parent} does not exist" in err and ".part" not in err
    assert not (tmp_path / "no").exists()


def test_an_existing_output_is_replaced_only_with_overwrite(trajectory, tmp_path, capsys):
    """Like ``build`` and ``data merge``: an existing file is refused, kept byte for byte."""
    path, _ = trajectory
    out = tmp_path / "t.xyz"
    out.write_text("earlier output\n")
    assert main(["traj", "export", str(path), "-o", str(out)]) == 2
    assert f"{out}: already exists" in capsys.readouterr().err
    assert out.read_text() == "earlier output\n"
    assert main(["traj", "export", str(path), "-o", str(out), "--overwrite"]) == 0
    assert len(ase.io.read(out, index=":")) == 5
