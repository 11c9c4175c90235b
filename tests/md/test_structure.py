"""Start structures: read on rank 0 without ASE's MPI collective (no hang under mpiexec),
checked for finite positions and overlaps before any step."""

from __future__ import annotations

import os
import subprocess

import ase.io
import numpy as np
import pytest

from mlmd.data import build
from mlmd.data.convert import frame_to_atoms
from mlmd.errors import InputError
from mlmd.md import run_md
from mlmd.md.config import StructureConfig
from mlmd.md.structure import Structure, check_start, load_structure
from tests.md.helpers import Morse, fcc_crystal, small_config
from tests.md.test_parallel import MPIEXEC, ROOT

TOML = """
steps = 10
potential = "teacher"
torch_threads = 1
initial_temperature_K = 300.0
[structure]
extxyz = "{start}"
[ensemble]
kind = "nve"
[output]
directory = "{out}"
thermo_every = 5
trajectory_every = 5
"""


@pytest.mark.mpi
def test_mpiexec_2_ranks_from_an_extxyz_start_runs(tmp_path):
    """`mpiexec -n 2 mlmd md run` with [structure] extxyz: rank 0 reads, ASE serially (its
    default under mpi4py is a broadcast that rank 1 never joined: a hang)."""
    start = tmp_path / "start.extxyz"
    ase.io.write(start, frame_to_atoms(build.sio2_crystal("cristobalite", (2, 1, 1))))
    cfg = tmp_path / "run.toml"
    cfg.write_text(TOML.format(start=start, out=tmp_path / "out"))
    mlmd = str(MPIEXEC.parent / "mlmd")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(
        [str(MPIEXEC), "-n", "2", mlmd, "md", "run", str(cfg), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert '"ranks": 2' in res.stdout and '"step": 10' in res.stdout


def cristobalite() -> Structure:
    f = build.sio2_crystal("cristobalite", (1, 1, 1))
    return Structure(np.array(f.numbers), np.array(f.positions), np.array(f.cell))


def test_overlap_across_the_periodic_boundary_is_named():
    st = cristobalite()
    pos = st.positions.copy()
    pos[2] = pos[9] + st.cell[0] + [0.2, 0.0, 0.0]  # an image of atom 9, 0.2 Å away
    with pytest.raises(InputError, match="2–9 at 0.2 Å") as info:
        check_start(Structure(st.numbers, pos, st.cell), 0.5, "start.extxyz")
    assert info.value.file == "start.extxyz"
    check_start(st, 0.5, "start.extxyz")  # the crystal itself passes


def test_non_finite_cell_is_refused():
    st = cristobalite()
    cell = st.cell.copy()
    cell[1, 1] = np.inf
    with pytest.raises(InputError, match="non-finite cell"):
        check_start(Structure(st.numbers, st.positions, cell), 0.5, "start.extxyz")


def test_overlapping_start_is_refused_naming_the_atoms(tmp_path):
    atoms = fcc_crystal((3, 3, 3), rattle=0.0)
    atoms.positions[5] = atoms.positions[6] + [0.001, 0.0, 0.0]
    with pytest.raises(InputError, match=r"closer than 0.5 Å: 5–6 at 0.001 Å") as info:
        run_md(small_config(tmp_path), potential=Morse(), structure=atoms, echo=False)
    assert info.value.field == "structure"
    atoms.positions[5] = np.nan
    with pytest.raises(InputError, match="atoms 5 have non-finite positions"):
        run_md(small_config(tmp_path), potential=Morse(), structure=atoms, echo=False)
    assert not (tmp_path / "trajectory.h5").exists()


def test_extxyz_frames_by_index_and_an_index_past_the_end_is_named(tmp_path):
    """A start frame of an extxyz file by index (negative from the end); one past the end is
    an error naming structure.index (was a StopIteration traceback; index = -30 of 8
    structures silently ran from structure 0)."""
    start = tmp_path / "start.extxyz"
    frames = [build.sio2_crystal("cristobalite"), build.sio2_crystal("quartz")]
    ase.io.write(start, [frame_to_atoms(f) for f in frames])
    for index, frame in ((0, frames[0]), (1, frames[1]), (-1, frames[1]), (-2, frames[0])):
        st = load_structure(StructureConfig(extxyz=str(start), index=index))
        assert np.array_equal(st.numbers, frame.numbers)
        assert np.abs(st.positions - frame.positions).max() < 1e-7  # ASE's %16.8f text
    for index in (2, -3):
        with pytest.raises(InputError, match=f"frame {index} out of range") as info:
            load_structure(StructureConfig(extxyz=str(start), index=index))
        assert info.value.field == "structure.index" and info.value.file == str(start)


def test_a_file_that_is_not_extxyz_is_named_not_a_traceback(tmp_path):
    """A PNG or a POSCAR given as [structure] extxyz: one InputError naming the file and the
    key (was a UnicodeDecodeError traceback, and a hang on 2 ranks)."""
    png = tmp_path / "start.extxyz"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary")
    with pytest.raises(InputError, match="not a readable extxyz file") as info:
        load_structure(StructureConfig(extxyz=str(png)))
    assert (info.value.file, info.value.field) == (str(png), "structure.extxyz")


def test_an_element_the_potential_lacks_names_the_start_file(tmp_path):
    """A Cu atom in a SiO2 start under the teacher: the message names the extxyz file (it
    named only 'numbers'), before any output is written."""
    atoms = frame_to_atoms(build.sio2_crystal("cristobalite", (1, 1, 1)))
    atoms.numbers[0] = 29
    start = tmp_path / "cu.extxyz"
    ase.io.write(start, atoms)
    cfg = tmp_path / "run.toml"
    cfg.write_text(TOML.format(start=start, out=tmp_path / "out"))
    with pytest.raises(InputError, match=r"Cu \(29\)") as info:
        run_md(str(cfg), echo=False)
    assert info.value.file == str(start)
    assert not (tmp_path / "out").exists()


@pytest.mark.mpi
def test_mpiexec_2_ranks_with_a_bad_start_file_exits_2_at_once(tmp_path):
    """A non-extxyz start on 2 ranks: exit 2 with the file named (rank 0's traceback left
    rank 1 waiting in a broadcast forever)."""
    start = tmp_path / "start.extxyz"
    start.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary")
    cfg = tmp_path / "run.toml"
    cfg.write_text(TOML.format(start=start, out=tmp_path / "out"))
    res = subprocess.run(
        [str(MPIEXEC), "-n", "2", str(MPIEXEC.parent / "mlmd"), "md", "run", str(cfg)],
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr and f"{start}: structure.extxyz" in res.stderr
    assert not (tmp_path / "out").exists()
