"""Reading trajectories: generic H5MD (other writers' conventions), extxyz and LAMMPS dumps."""

import h5py
import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from mlmd.analysis import open_trajectory
from mlmd.analysis.reader import parse_frames
from mlmd.errors import InputError


def write_generic_h5md(path, positions_nm, box_nm, species, dt_ps):
    """An H5MD file as another program writes it: particle group 'trajectory', nm and ps, a
    fixed box given as its diagonal, fixed-interval step/time, type-indexed species, and no
    image, velocity, mass, observables or mlmd creator."""
    with h5py.File(path, "w") as f:
        f.create_group("h5md").attrs["version"] = [1, 1]
        f["h5md"].create_group("creator").attrs["name"] = "some-md-code"
        g = f.create_group("particles/trajectory")
        box = g.create_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = [b"periodic"] * 3
        box.create_dataset("edges", data=box_nm).attrs["unit"] = "nm"
        pos = g.create_group("position")
        pos.create_dataset("value", data=positions_nm).attrs["unit"] = "nm"
        step = pos.create_dataset("step", data=100)
        step.attrs["offset"] = 1000
        pos.create_dataset("time", data=dt_ps).attrs["unit"] = "ps"
        g.create_dataset("species", data=species)


def test_generic_h5md_without_mlmd_groups(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((4, 30, 3)) * 1.5
    species = np.array([1] * 10 + [2] * 20)
    path = tmp_path / "other.h5"
    write_generic_h5md(path, x, np.array([1.5, 1.6, 1.7]), species, 0.05)
    with open_trajectory(path) as r:
        assert r.n_frames == 4 and r.n_atoms == 30
        assert not r.has_images and not r.has_velocities and r.observables() == {}
        assert list(np.unique(r.numbers)) == [-2, -1]  # anonymous kinds type1, type2
        assert np.isnan(r.masses).all()
        frames = list(r.frames(slice(1, None, 2)))
    assert [f.index for f in frames] == [1, 3]
    assert [f.step for f in frames] == [1100, 1300]
    assert frames[1].time_fs == pytest.approx(150.0)
    np.testing.assert_allclose(frames[0].positions, x[1] * 10)
    np.testing.assert_allclose(frames[0].cell, np.diag([15.0, 16.0, 17.0]))
    with open_trajectory(path, species_map={1: "Si", 2: "O"}) as r:
        assert list(r.numbers[[0, 29]]) == [14, 8]
        assert r.masses[0] == pytest.approx(28.085, abs=1e-3)
    with pytest.raises(InputError, match="species value 2"):
        open_trajectory(path, species_map={1: "Si"})


def test_extxyz_through_ase(tmp_path):
    rng = np.random.default_rng(1)
    frames = []
    for k in range(3):
        atoms = Atoms("SiO2", positions=rng.random((3, 3)) * 5, cell=[6, 6, 6], pbc=True)
        atoms.set_velocities(np.full((3, 3), 0.01 * (k + 1)))  # ASE velocity units
        atoms.info["time_fs"] = 2.0 * k
        frames.append(atoms)
    write(tmp_path / "t.extxyz", frames)
    with open_trajectory(tmp_path / "t.extxyz") as r:
        assert r.format == "extxyz" and r.has_velocities and r.time_known
        assert list(r.numbers) == [14, 8, 8]
        snaps = list(r.frames())
    from ase import units

    assert len(snaps) == 3 and snaps[2].time_fs == 4.0
    np.testing.assert_allclose(snaps[2].velocities, 0.03 * units.fs)  # Å/fs
    np.testing.assert_allclose(snaps[1].positions, frames[1].positions)


LAMMPS_DUMP = """ITEM: TIMESTEP
{step}
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp pp
0.0 10.0
0.0 11.0
0.0 12.0
ITEM: ATOMS id type x y z
1 1 1.0 2.0 3.0
2 2 {x} 5.0 6.0
3 2 7.0 8.0 9.0
"""


def test_lammps_dump_through_ase(tmp_path):
    path = tmp_path / "dump.lammpstrj"
    path.write_text(LAMMPS_DUMP.format(step=0, x=4.0) + LAMMPS_DUMP.format(step=50, x=4.5))
    with open_trajectory(path, species_map={1: "Si", 2: "O"}, timestep_fs=0.5) as r:
        assert r.format.startswith("lammps") and list(r.numbers) == [14, 8, 8]
        snaps = list(r.frames())
    assert [s.step for s in snaps] == [0, 50] and snaps[1].time_fs == 25.0
    assert snaps[1].positions[1, 0] == pytest.approx(4.5)
    np.testing.assert_allclose(snaps[0].cell, np.diag([10.0, 11.0, 12.0]))
    with open_trajectory(path) as r:
        assert list(r.numbers) == [-1, -2, -2]  # types, not hydrogen and helium


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


def test_reads_the_md_engines_writer(tmp_path):
    """The MD engine's own H5MD writer (contract 4) round-trips through the reader: species,
    masses, wrapped positions + images → the unwrapped path, velocities, observables."""
    h5md = pytest.importorskip("mlmd.md.h5md")
    rng = np.random.default_rng(8)
    n, cell = 12, np.diag([8.0, 9.0, 10.0])
    species = np.array([14] * 4 + [8] * 8)
    w = h5md.H5MDWriter(
        tmp_path / "md.h5",
        species,
        np.where(species == 14, 28.085, 15.999),
        np.arange(n),
        {"timestep_fs": 1.0},
        velocities=True,
    )
    x = rng.random((n, 3)) * 8
    path = [x]
    for step in range(0, 50, 10):
        frac = x @ np.linalg.inv(cell)
        image = np.floor(frac).astype(int)
        w.write_frame(
            step, float(step), cell, (frac - image) @ cell, image, velocities=np.full((n, 3), 0.1)
        )
        w.write_observables(step, float(step), {"temperature": 300.0 + step})
        x = x + rng.normal(0, 2.0, (n, 3))  # large steps: only images can unwrap these
        path.append(x)
    w.close()
    with open_trajectory(tmp_path / "md.h5") as r:
        assert list(r.numbers) == list(species) and r.has_images and r.has_velocities
        snaps = list(r.frames())
        obs = r.observables()
    assert [s.step for s in snaps] == [0, 10, 20, 30, 40]
    for k, s in enumerate(snaps):
        np.testing.assert_allclose(s.positions + s.image @ cell, path[k], atol=1e-9)
    np.testing.assert_allclose(snaps[3].velocities, 0.1)
    np.testing.assert_allclose(obs["temperature"].value, [300, 310, 320, 330, 340])
    assert obs["temperature"].unit == "K"


@pytest.mark.parametrize("keep", [0.6, 0.98])
def test_a_truncated_trajectory_is_a_clear_error(tmp_path, keep, capsys):
    """A trajectory cut short (a killed copy, a full disk): exit 2 naming the file, not
    HDF5's traceback (issue 15)."""
    from mlmd.cli import main
    from tests.analysis.trajectories import synthetic_sio2_trajectory

    whole = synthetic_sio2_trajectory(tmp_path / "whole.h5", n_formula=20, n_frames=10).read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(InputError, match="truncated or damaged"):
        open_trajectory(cut)
    assert main(["analyze", str(cut), "-o", str(tmp_path / "o"), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "cut.h5" in err and "Traceback" not in err


RANK0_READS = """
import sys
from mpi4py import MPI
from mlmd.analysis.reader import open_trajectory
if MPI.COMM_WORLD.rank == 0:
    with open_trajectory(sys.argv[1]) as r:
        n = sum(1 for _ in r.frames())
    print("frames", n, flush=True)
MPI.COMM_WORLD.Barrier()
"""


@pytest.mark.mpi
def test_one_rank_reads_extxyz_under_mpi(tmp_path):
    """Under mpiexec, rank 0 alone reads an extxyz file: ASE's default read is a collective
    broadcast that the other rank never joins (a hang); parallel=False reads locally."""
    import subprocess
    import sys
    from pathlib import Path

    frames = [Atoms("SiO2", positions=np.eye(3) * k, cell=[6, 6, 6], pbc=True) for k in (1, 2)]
    write(tmp_path / "t.extxyz", frames)
    script = tmp_path / "rank0.py"
    script.write_text(RANK0_READS)
    mpiexec = Path(sys.executable).parent / "mpiexec"
    out = subprocess.run(
        [str(mpiexec), "-n", "2", sys.executable, str(script), str(tmp_path / "t.extxyz")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "frames 2" in out.stdout
