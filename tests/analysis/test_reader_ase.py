"""mlmd/analysis/reader_ase.py: extxyz and LAMMPS dumps through ASE, read by one rank under MPI."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from mlmd.analysis import open_trajectory
from tests.mpi_helpers import run_script


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
    frames = [Atoms("SiO2", positions=np.eye(3) * k, cell=[6, 6, 6], pbc=True) for k in (1, 2)]
    write(tmp_path / "t.extxyz", frames)
    assert "frames 2" in run_script(RANK0_READS, tmp_path, str(tmp_path / "t.extxyz"))
