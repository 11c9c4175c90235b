"""``mlmd build --material`` and ``mlmd material`` (mlmd/materials/cli.py): files built and
checked; a bad material file exits 2 naming file and field and writes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from mlmd.data import Dataset
from mlmd.materials import (
    load_material,
    random_structure,
)
from tests.cli_helpers import call_mlmd
from tests.data._helpers import digest
from tests.materials import tolerances as tol
from tests.materials.helpers import BAD_FILES, MATERIALS, write_material


@pytest.mark.parametrize("case", ["unknown element", "non-integer formula", "unknown key",
                                  "missing seed file", "density range inverted"])  # fmt: skip
def test_build_with_a_bad_material_exits_2_and_writes_nothing(tmp_path, case):
    tables, field, what = BAD_FILES[case]
    path = write_material(tmp_path, **tables)
    before = digest(path)
    out = tmp_path / "out.h5"
    r = call_mlmd("build", "--material", path, "--atoms", "9", "-o", out, cwd=tmp_path)
    err = r.stderr
    assert r.returncode == 2 and str(path) in err and field in err and what in err, err
    assert "Traceback" not in err and not out.exists() and digest(path) == before


def test_build_command_writes_random_crystal_and_start_frames(tmp_path):
    sio2 = MATERIALS / "sio2.toml"
    r = call_mlmd("build", "--material", sio2, "--atoms", "96", "--seed", "2",
                  "-o", tmp_path / "r.h5", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    frame = Dataset(tmp_path / "r.h5")[0]
    assert frame.n_atoms == 96 and frame.status == "unlabelled"
    assert np.array_equal(
        frame.positions, random_structure(load_material(sio2), 96, seed=2).positions
    )
    cuzr = MATERIALS / "cuzr.toml"
    r = call_mlmd("build", "--material", cuzr, "--crystal", "b2", "--repeat", "2", "2", "2",
                  "-o", tmp_path / "c.h5", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0 and Dataset(tmp_path / "c.h5")[0].n_atoms == 16, r.stderr
    r = call_mlmd("build", "--material", sio2, "--crystal", "cristobalite", "--atoms", "1000",
                  "-o", tmp_path / "a.h5", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert Dataset(tmp_path / "a.h5")[0].n_atoms == 1152  # 3 × 4 × 4 cells
    r = call_mlmd("build", "--material", sio2, "--start", "small", "--frames", "3",
                  "-o", tmp_path / "s.h5", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0 and len(Dataset(tmp_path / "s.h5")) == 3, r.stderr
    for args, what in (
        (["--atoms", "100"], "multiple of 3"),
        (["--atoms", "96", "--repeat", "1", "1", "1"], "--repeat"),
        (
            ["--atoms", "96", "--crystal", "quartz", "--repeat", "2", "2", "2"],
            "--repeat or --atoms",
        ),
        (["--start", "small", "--crystal", "quartz"], "--start takes no --crystal"),
        (["--crystal", "quartz", "--density", "2.2"], "--density does not go"),
        (["--seed", "3"], "nothing to build"),
        (["--atoms", "300", "--density", "6"], "--density"),
        (["--crystal", "tridymite"], "unknown crystal"),
        (["--start", "huge"], "no start recipe"),
    ):
        r = call_mlmd("build", "--material", sio2, *args, "-o", tmp_path / "n.h5", cwd=tmp_path)
        assert r.returncode == 2 and what in r.stderr and "fix:" in r.stderr, (args, r.stderr)
        assert not (tmp_path / "n.h5").exists()


def test_material_command_checks_a_file_and_its_references(tmp_path):
    import json

    sio2 = MATERIALS / "sio2.toml"
    r = call_mlmd("material", sio2, "--all-references", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["formula"] == {"Si": 1, "O": 2} and info["species"] == [8, 14]
    assert info["crystals"]["quartz"] == {
        "atoms": 9,
        "density_g_cm3": pytest.approx(2.646, abs=tol.LISTED_DENSITY_G_CM3),
    }
    assert set(info["references"]) == {"cp2k", "cp2k_fast", "teacher"}
    assert info["references"]["teacher"]["name"] == "teacher"
    assert info["experiment"]["angle_SiOSi_deg"]["uncertainty"] == 1.5
    r = call_mlmd("material", sio2, cwd=tmp_path)
    assert r.returncode == 0 and "is valid" in r.stdout and "quartz: 9 atoms" in r.stdout, r.stderr
    bad = write_material(
        tmp_path, references='[references.teacher]\nname = "teacher"\nsettings = { threads = -1 }\n'
    )
    r = call_mlmd("material", bad, cwd=tmp_path)  # parses: settings are the backend's
    assert r.returncode == 0, r.stderr
    r = call_mlmd("material", bad, "--reference", "teacher", cwd=tmp_path)
    err = r.stderr
    assert r.returncode == 2 and str(bad) in err and "references.teacher.settings.threads" in err, (
        err
    )
