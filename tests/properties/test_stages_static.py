"""The static properties of ``mlmd properties``: elastic constants and crystals files."""

import numpy as np
import pytest
from ase.io import write

from mlmd import units
from mlmd.errors import InputError
from mlmd.properties.config import CrystalsConfig, ElasticConfig, MDSettings
from mlmd.properties.stages_static import crystal_structure, run_crystals, run_elastic
from tests.properties.harmonic import C11, fcc

MD = MDSettings(potential="test-springs", device="cpu", torch_threads=1)


def test_elastic_stage_writes_matrix_and_plot(tmp_path):
    summary = run_elastic(MD, ElasticConfig(fmax_eV_A=1e-5), tmp_path, fcc(2))
    c = np.loadtxt(summary["files"]["dat"])
    assert c.shape == (6, 6) and c[0, 0] == pytest.approx(C11 / units.GPA, abs=0.05)
    assert open(summary["files"]["png"], "rb").read(4) == b"\x89PNG"
    assert summary["moduli_GPa"]["K_hill"] == pytest.approx(summary["value"])


def test_crystals_from_files_and_names(tmp_path):
    write(tmp_path / "argon.extxyz", fcc(1))
    cfg = CrystalsConfig(structures=(str(tmp_path / "argon.extxyz"),), reference="test-springs")
    summary = run_crystals(MD, cfg, tmp_path / "out")
    argon = summary["structures"]["argon"]
    assert argon["converged"] and abs(argon["vs_reference"]["a_rel"]) < 1e-9
    assert (tmp_path / "out" / "argon_relaxed.extxyz").is_file()
    assert len(crystal_structure("cristobalite")) == 24
    with pytest.raises(InputError, match="neither a built-in crystal nor a file"):
        crystal_structure("moissanite")
