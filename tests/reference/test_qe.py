"""Real ``pw.x`` runs (Debian Quantum ESPRESSO, ultrasoft PBE pseudopotentials, 9-atom
alpha-quartz at Γ and 25 Ry so that each run takes seconds): physics of the labels, the SCF
ladder, failure statuses, k-points from the cell, missing pseudopotentials."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import quartz, write_unlabelled

from mlmd import units
from mlmd.data import Dataset, Frame
from mlmd.errors import ConfigError
from mlmd.reference import ReferenceSetupError, get_reference, label_dataset
from mlmd.reference.qe_input import kpoint_mesh
from mlmd.reference.qe_pseudo import DEFAULT_PSEUDO_DIR

needs_qe = pytest.mark.skipif(
    shutil.which("pw.x") is None,
    reason="pw.x NOT FOUND: the QE tests did not run (apt-get install quantum-espresso)",
)
pytestmark = [needs_qe]
#: Cheap but real: Γ point (gamma tricks), 25/200 Ry. Labels of a test, not of production.
FAST = {"ecutwfc_Ry": 25.0, "kspacing_A_inv": 0.0}
NET_FORCE_TOL = 0.05  # eV/Å, the bound
#: |ΔE + W| accepted for the force-work check, eV: 2 % of the work plus 1 meV (as CP2K's).
WORK_REL_TOL, WORK_ABS_TOL = 0.02, 1e-3


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Quartz A, and B = A displaced by a random 0.02 Å-scale step: two real pw.x runs."""
    qe = get_reference("qe", config=FAST)
    a = quartz()
    step = np.random.default_rng(7).normal(0.0, 0.02, a.positions.shape)
    b = Frame(a.numbers, a.positions + step, a.cell, a.pbc)
    ra, rb = qe.label([a, b], tmp_path_factory.mktemp("qe-pair"))
    return step, ra, rb


def test_labels_in_mlmd_units_with_small_net_force(pair):
    _, ra, rb = pair
    for r in (ra, rb):
        assert r.status == "ok", r.message
        assert r.log_path.name == "pw.out" and r.log_path.is_file()
        assert np.abs(r.forces.sum(axis=0)).max() < NET_FORCE_TOL
        assert np.isfinite(r.stress).all() and np.abs(r.stress - r.stress.T).max() < 1e-6
    assert ra.energy / 9 == pytest.approx(-3033.16 / 9, abs=0.5)  # Ry → eV (≈ -222.9 Ry)
    assert 0.1 < np.abs(ra.forces).max() < 5.0


def test_energy_difference_matches_force_work(pair):
    step, ra, rb = pair
    work = 0.5 * np.sum((ra.forces + rb.forces) * step)  # trapezoid of ∫ F · dr, eV
    assert abs(work) > 0.02  # the step does measurable work
    assert abs(rb.energy - ra.energy + work) < WORK_REL_TOL * abs(work) + WORK_ABS_TOL


def test_kpoints_follow_the_cell():
    cell = quartz().cell  # a = 4.916 Å, c = 5.405 Å: |b| = 1.476, 1.162 Å⁻¹
    assert kpoint_mesh(cell, 0.0) == (1, 1, 1)
    assert kpoint_mesh(cell, 0.25) == (6, 6, 5)
    assert kpoint_mesh(cell, 0.5) == (3, 3, 3)
    assert kpoint_mesh(np.eye(3) * 20.0, 0.25) == (2, 2, 2)  # a 20 Å cell


def test_scf_failure_is_a_status_and_the_ladder_recovers(tmp_path):
    write_unlabelled(tmp_path / "in.h5", [quartz()])
    starve = {**FAST, "electron_maxstep": 2}
    off = label_dataset(
        tmp_path / "in.h5",
        tmp_path / "off.h5",
        "qe",
        config={**starve, "ladder": {"enabled": False}},
        progress=False,
    )
    assert off.counts == {"scf_not_converged": 1}
    log = off.failures[0][2]
    assert "convergence NOT achieved" in open(log).read()
    assert np.isnan(Dataset(tmp_path / "off.h5")[0].energy)
    on = label_dataset(tmp_path / "in.h5", tmp_path / "on.h5", "qe", config=starve, progress=False)
    assert on.counts == {"ok": 1}
    workdir = tmp_path / "on.label" / quartz().key
    assert sorted(p.name for p in workdir.iterdir()) == ["0-base", "1-mixing"]
    assert "local-TF" in (workdir / "1-mixing" / "pw.in").read_text()
    assert not (workdir / "1-mixing" / "tmp").exists()  # wavefunctions removed


def test_timeout_and_crash_are_statuses(tmp_path):
    slow = get_reference("qe", config={**FAST, "run": {"timeout_s": 0.2}})
    (r,) = slow.label([quartz()], tmp_path / "t")
    assert r.status == "timeout" and r.forces is None
    # a BLYP oxygen beside a PBE silicon: pw.x stops on the conflicting functionals
    mixed = get_reference("qe", config={**FAST, "pseudopotentials": {"O": "O.blyp-mt.UPF"}})
    (r,) = mixed.label([quartz()], tmp_path / "c")
    assert r.status == "crashed" and "pw.x exited" in r.message, r.message


def test_missing_pseudopotential_names_element_and_directory(tmp_path):
    pseudo = tmp_path / "pseudo"
    pseudo.mkdir()
    shutil.copy(f"{DEFAULT_PSEUDO_DIR}/Si.pbe-nl-rrkjus_psl.1.0.0.UPF", pseudo)
    cfg = tmp_path / "qe.toml"
    cfg.write_text(f'ecutwfc_Ry = 25.0\n[run]\npseudo_dir = "{pseudo}"\n')
    write_unlabelled(tmp_path / "in.h5", [quartz()])
    before = (tmp_path / "in.h5").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "mlmd.cli", "label", "in.h5", "-o", "out.h5"]
        + ["--reference", "qe", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "for O in" in proc.stderr and str(pseudo) in proc.stderr
    assert not (tmp_path / "out.h5").exists() and not (tmp_path / "out.label").exists()
    assert (tmp_path / "in.h5").read_bytes() == before
    with pytest.raises(ReferenceSetupError, match="pseudopotentials.O"):
        get_reference("qe", config={"pseudopotentials": {"O": "O.nothing.UPF"}})


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"ecutwfc": 30.0}, "ecutwfc"),
        ({"kspacing_A_inv": -1.0}, "kspacing_A_inv"),
        ({"ecutrho_Ry": 50.0}, "ecutrho_Ry"),
        ({"smearing": "cold"}, "smearing"),
        ({"run": {"ranks": 0}}, "run.ranks"),
    ],
)
def test_bad_settings_name_the_key(config, key):
    with pytest.raises(ConfigError) as err:
        get_reference("qe", config=config)
    assert key in str(err.value)


def test_stress_sign_is_ase(pair):
    _, ra, _ = pair
    # PBE at the experimental quartz volume: QE prints a negative pressure (tension) at Γ
    # and 25 Ry; ASE's sign makes the trace positive (pressure = −trace/3 < 0).
    assert -np.trace(ra.stress) / 3 / units.GPA < 0


@pytest.mark.slow
def test_concurrent_dft_labellers_share_the_frames(tmp_path):
    """Two ``mlmd label --reference qe`` runs on one output: each frame is run once."""
    rng = np.random.default_rng(11)
    q = quartz()
    frames = [
        Frame(q.numbers, q.positions + rng.normal(0, 0.03, (9, 3)), q.cell, True) for _ in range(4)
    ]
    write_unlabelled(tmp_path / "in.h5", frames)
    (tmp_path / "qe.toml").write_text("ecutwfc_Ry = 25.0\nkspacing_A_inv = 0.0\n")
    cmd = [sys.executable, "-m", "mlmd.cli", "label", "in.h5", "-o", "out.h5"]
    cmd += ["--reference", "qe", "--config", "qe.toml"]
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    counts = [json.loads(o)["counts"].get("ok", 0) for o in outs]
    assert sum(counts) == 4  # not 8: no frame was run twice
    runs = sorted(p.name for p in (tmp_path / "out.label").iterdir() if p.is_dir())
    assert runs == sorted(f.key for f in frames)
    assert all(len(list((tmp_path / "out.label" / k).iterdir())) == 1 for k in runs)
    assert Dataset(tmp_path / "out.h5").statuses().tolist() == ["ok"] * 4
