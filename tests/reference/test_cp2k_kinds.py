"""CP2K for any element: basis set and GTH pseudopotential chosen per element from CP2K's
data files, a clear error for an element without them, and one real run beyond SiO2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from conftest import CP2K_FOUND, needs_cp2k, quartz, write_unlabelled

from mlmd.data import Frame
from mlmd.reference import ReferenceSetupError, get_reference
from mlmd.reference.cp2k_input import ladder, write_input
from mlmd.reference.cp2k_kinds import Kind, choose_kind
from mlmd.reference.cp2k_settings import load_cp2k_config

DATA = Path("/usr/share/cp2k")
needs_data = pytest.mark.skipif(
    not (DATA / "BASIS_MOLOPT").is_file(), reason="CP2K's data files are missing (cp2k-data)"
)
pytestmark = [needs_data]


def kind(element: str, **overrides) -> Kind:
    return choose_kind(
        element,
        basis_set="DZVP-MOLOPT-SR-GTH",
        pseudopotential="GTH-PBE",
        basis_file=DATA / "BASIS_MOLOPT",
        potential_file=DATA / "GTH_POTENTIALS",
        **overrides,
    )


def test_families_resolve_per_element():
    # the family names where the files list them with the basis's valence (Si: q4, Zr: q12)
    for element in ("Si", "O", "Zr", "Cu", "Ge", "Na", "Cl"):
        assert kind(element) == Kind("DZVP-MOLOPT-SR-GTH", "GTH-PBE")
    # GTH_POTENTIALS has Cu q11 (the family's default, matching the basis) and q19
    assert kind("Cu", basis_override="DZVP-MOLOPT-SR-GTH", potential_override="GTH-PBE-q19") == (
        Kind("DZVP-MOLOPT-SR-GTH", "GTH-PBE-q19")
    )
    # TZV2P-MOLOPT-GTH exists for O (q6): the potential with that valence is the family's
    assert kind("O", basis_override="TZV2P-MOLOPT-GTH").potential == "GTH-PBE"


def test_a_basis_no_element_has_is_an_error():
    with pytest.raises(ReferenceSetupError, match="for no element") as err:
        choose_kind(
            "Si",
            basis_set="NO-SUCH-BASIS",
            pseudopotential="GTH-PBE",
            basis_file=DATA / "BASIS_MOLOPT",
            potential_file=DATA / "GTH_POTENTIALS",
        )
    assert err.value.field == "basis_set"


def test_element_without_basis_names_element_and_file():
    with pytest.raises(ReferenceSetupError) as err:
        kind("U")
    assert err.value.field == "basis_sets.U" and "BASIS_MOLOPT" in str(err.value)
    with pytest.raises(ReferenceSetupError, match="basis_sets.Og"):
        kind("Og")


def test_input_uses_the_kinds():
    s, _ = load_cp2k_config({"preset": "fast"})
    text = write_input(quartz(), s, ladder(s)[0], None, {"Si": Kind("B1", "P1")})
    assert "&KIND Si\n      BASIS_SET B1\n      POTENTIAL P1" in text
    assert "&KIND O\n      BASIS_SET DZVP-MOLOPT-SR-GTH\n      POTENTIAL GTH-PBE" in text


@pytest.mark.skipif(not CP2K_FOUND, reason="needs the cp2k binary (no run is started)")
def test_reference_records_only_special_kinds_and_refuses_unknown_elements(tmp_path):
    cp2k = get_reference("cp2k", preset="fast", ranks=1)
    cp2k.check_elements([8, 14, 40])
    assert "kinds" not in cp2k.reference  # SiO2 (and Zr) datasets keep their reference
    custom = get_reference("cp2k", config={"preset": "fast", "potentials": {"Cu": "GTH-PBE-q19"}})
    assert custom.reference["kinds"] == {
        "Cu": {"basis_set": "DZVP-MOLOPT-SR-GTH", "potential": "GTH-PBE-q19"}
    }
    uranium = Frame([92, 8], [[0, 0, 0], [2.0, 0, 0]], np.eye(3) * 8, True)
    write_unlabelled(tmp_path / "in.h5", [quartz(), uranium])
    proc = subprocess.run(
        [sys.executable, "-m", "mlmd.cli", "label", "in.h5", "-o", "out.h5"]
        + ["--reference", "cp2k", "--preset", "fast", "--ranks", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "for U in" in proc.stderr and "BASIS_MOLOPT" in proc.stderr
    assert not (tmp_path / "out.h5").exists()


@needs_cp2k
@pytest.mark.cp2k
def test_real_run_beyond_sio2(tmp_path):
    """Diamond Ge (8 atoms, not in SiO2's kinds): a converged label with balanced forces."""
    atoms = bulk("Ge", "diamond", a=5.66, cubic=True)
    rng = np.random.default_rng(3)
    frame = Frame(atoms.numbers, atoms.positions + rng.normal(0, 0.05, (8, 3)), atoms.cell, True)
    (r,) = get_reference("cp2k", preset="fast", ranks=1).label([frame], tmp_path)
    assert r.status == "ok", r.message
    text = (tmp_path / frame.key / "0-base" / "cp2k.inp").read_text()
    assert "&KIND Ge\n      BASIS_SET DZVP-MOLOPT-SR-GTH\n      POTENTIAL GTH-PBE" in text
    assert np.abs(r.forces.sum(axis=0)).max() < 0.1 and np.abs(r.forces).max() > 0.05
