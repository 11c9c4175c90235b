"""The ``xtb`` reference (tblite GFN1-xTB, real runs on 9-atom quartz): forces are the
negative energy gradient, the stress the strain derivative; unknown elements and bad settings
are clear errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import quartz, write_unlabelled

from mlmd.data import Dataset, Frame
from mlmd.errors import ConfigError
from mlmd.reference import ReferenceSetupError, get_reference, label_dataset

pytest.importorskip("tblite.interface", reason="tblite (pip install tblite) is missing")
#: Tight SCC so finite differences resolve 1e-4 eV/Å.
TIGHT = {"method": "GFN1-xTB", "accuracy": 0.01}


@pytest.fixture(scope="module")
def xtb():
    return get_reference("xtb", config=TIGHT)


def rattled_quartz(seed: int = 0) -> Frame:
    q = quartz()
    rng = np.random.default_rng(seed)
    return Frame(q.numbers, q.positions + rng.normal(0, 0.05, q.positions.shape), q.cell, True)


def test_forces_are_minus_the_energy_gradient(xtb):
    frame = rattled_quartz()
    (r,) = xtb.label([frame])
    assert r.status == "ok" and r.forces.shape == (9, 3)
    assert np.abs(r.forces).max() > 0.3  # a rattled cell: the check has teeth
    h = 1e-4
    for atom, axis in ((0, 0), (4, 2), (8, 1)):
        energies = []
        for sign in (1, -1):
            pos = frame.positions.copy()
            pos[atom, axis] += sign * h
            energies.append(xtb.label([Frame(frame.numbers, pos, frame.cell, True)])[0].energy)
        assert -(energies[0] - energies[1]) / (2 * h) == pytest.approx(
            r.forces[atom, axis], abs=2e-4
        )


def test_stress_is_the_strain_derivative(xtb):
    frame = rattled_quartz(1)
    (r,) = xtb.label([frame])
    h = 1e-4
    for i, j in ((0, 0), (2, 2), (0, 1)):
        energies = []
        for sign in (1, -1):
            eps = np.eye(3)
            eps[i, j] += sign * (h if i == j else h / 2)
            if i != j:
                eps[j, i] += sign * h / 2
            strained = Frame(frame.numbers, frame.positions @ eps, frame.cell @ eps, True)
            energies.append(xtb.label([strained])[0].energy)
        derivative = (energies[0] - energies[1]) / (2 * h) / frame.volume
        assert derivative == pytest.approx(r.stress[i, j], abs=2e-5)
    assert np.abs(r.stress).max() > 1e-3


def test_unknown_element_is_a_clear_error(tmp_path, xtb):
    bad = Frame([8, 118], [[0, 0, 0], [2.0, 0, 0]], np.eye(3) * 8, True)  # oganesson
    with pytest.raises(ReferenceSetupError, match="Og"):
        xtb.label([bad])
    write_unlabelled(tmp_path / "in.h5", [quartz(), bad])
    proc = subprocess.run(
        [sys.executable, "-m", "mlmd.cli", "label", "in.h5", "-o", "out.h5", "--reference", "xtb"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Og" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.h5").exists()


def test_label_dataset_and_settings(tmp_path):
    write_unlabelled(tmp_path / "in.h5", [quartz()])
    summary = label_dataset(
        tmp_path / "in.h5",
        tmp_path / "out.h5",
        "xtb",
        config={"method": "GFN2-xTB"},
        progress=False,
    )
    assert summary.counts == {"ok": 1}
    assert Dataset(tmp_path / "out.h5").reference["method"] == "GFN2-xTB"
    for bad, key in (({"method": "GFN3-xTB"}, "method"), ({"acuracy": 1.0}, "acuracy")):
        with pytest.raises(ConfigError, match=key):
            get_reference("xtb", config=bad)
