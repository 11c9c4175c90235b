"""Serial ASE file I/O (mlmd.data.ase_io): one rank alone reads and writes under mpiexec, and
no other mlmd module calls ase.io's read, iread or write itself."""

import ast
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

import mlmd
from mlmd.data.ase_io import ase_iread, ase_read, ase_write
from tests.mpi_helpers import run_script

#: rank 1 alone writes, reads and streams a file; ASE's defaults would wait in a broadcast
#: for rank 0, which is already at the barrier (a hang, ended by the test's timeout).
RANK1_ALONE = """
import sys
from ase import Atoms
from mpi4py import MPI
from mlmd.data.ase_io import ase_iread, ase_read, ase_write
if MPI.COMM_WORLD.rank == 1:
    path = sys.argv[1]
    ase_write(path, [Atoms("SiO2", positions=[[0, 0, 0], [1.6, 0, 0], [0, 1.6, 0]],
                           cell=[5, 5, 5], pbc=True)] * 3, format="extxyz")
    n_read = len(ase_read(path, index=":", format="extxyz"))
    n_streamed = sum(1 for _ in ase_iread(path, index=":", format="extxyz"))
    print("rank 1 frames", n_read, n_streamed, flush=True)
MPI.COMM_WORLD.Barrier()
"""


def _atoms(k: int) -> Atoms:
    pos = np.array([[0.0, 0.0, 0.0], [1.6, 0.0, 0.0], [0.0, 1.6, 0.0]]) * k
    return Atoms("SiO2", positions=pos, cell=[6.0, 6.0, 6.0], pbc=True)


def test_write_read_and_stream_are_ases_own(tmp_path):
    path = tmp_path / "t.extxyz"
    ase_write(path, [_atoms(1), _atoms(2)])
    assert [len(a) for a in ase_read(path, index=":")] == [3, 3]
    last = ase_read(path)  # ASE's default index: the last frame
    np.testing.assert_array_equal(last.positions, _atoms(2).positions)
    assert [a.positions[1, 0] for a in ase_iread(path, index="0:2")] == [1.6, 3.2]
    with (tmp_path / "h.extxyz").open("w") as fh:  # an open file, as mlmd md export writes
        ase_write(fh, _atoms(1), format="extxyz")
    assert len(ase_read(tmp_path / "h.extxyz", format="extxyz")) == 3


@pytest.mark.mpi
def test_one_rank_alone_writes_reads_and_streams_under_mpiexec(tmp_path):
    out = run_script(RANK1_ALONE, tmp_path, str(tmp_path / "r1.extxyz"))
    assert "rank 1 frames 3 3" in out


ASE_IO = {"read", "iread", "write"}


def direct_calls(source: str) -> list[int]:
    """Lines of ``source`` that call ASE's MPI-aware file functions themselves:
    ``ase.io.read(...)`` (iread, write), names imported from ``ase.io``, or any call given a
    ``parallel=`` argument (as ``atoms.write(..., parallel=False)``)."""
    tree = ast.parse(source)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "ase.io":
            lines += [node.lineno] if {a.name for a in node.names} & ASE_IO else []
        elif isinstance(node, ast.Call):
            f = node.func
            on_ase_io = isinstance(f, ast.Attribute) and ast.unparse(f.value) == "ase.io"
            if (on_ase_io and f.attr in ASE_IO) or any(k.arg == "parallel" for k in node.keywords):
                lines.append(node.lineno)
    return sorted(lines)


def test_no_mlmd_module_calls_ases_file_io_directly():
    """mlmd and the code that runs it (apps, campaigns), any of which may run under mpiexec."""
    repo = Path(mlmd.__file__).parents[1]
    found = [
        f"{path.relative_to(repo)}:{n}"
        for part in ("mlmd", "apps", "campaigns")
        for path in sorted((repo / part).rglob("*.py"))
        if path.name != "ase_io.py"
        for n in direct_calls(path.read_text())
    ]
    assert not found, f"use mlmd.data.ase_io (serial) instead at {', '.join(found)}"


def test_the_scan_finds_each_kind_of_direct_call():
    source = (
        "import ase.io\nfrom ase.io import read\nase.io.iread('a')\n"
        "atoms.write('b', parallel=False)\nase.io.formats.filetype('c')\n"
    )
    assert direct_calls(source) == [2, 3, 4]
