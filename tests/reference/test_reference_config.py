"""Strict CP2K settings, presets, the input writer, the launcher and the registry (no CP2K
runs here)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import quartz

from mlmd.errors import ConfigError, InputError
from mlmd.reference import ReadError, ReferenceSetupError, Result, SCFError, get_reference
from mlmd.reference.cp2k_input import ladder, write_input
from mlmd.reference.cp2k_parser import read_energy, read_forces, read_status, read_stress
from mlmd.reference.cp2k_runner import find_data_dir, find_executable, launcher_prefix
from mlmd.reference.cp2k_settings import available_presets, load_cp2k_config


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"cutof_Ry": 300.0}, "cutof_Ry"),
        ({"cutoff_Ry": "300"}, "cutoff_Ry"),
        ({"cutoff_Ry": -1.0}, "cutoff_Ry"),
        ({"max_scf": 0}, "max_scf"),
        ({"solver": "davidson"}, "solver"),
        ({"xc_smoothing": "yes"}, "xc_smoothing"),
        ({"smearing_K": 300.0}, "smearing_K"),  # smearing needs diagonalisation
        ({"ladder": {"enabled": "yes"}}, "ladder.enabled"),
        ({"ladder": {"broyden_alfa": 0.1}}, "ladder.broyden_alfa"),
        ({"ladder": {"broyden_alpha": 2.0}}, "ladder.broyden_alpha"),
        ({"extra_sections": {"NOWHERE": "X 1"}}, "extra_sections.NOWHERE"),
        ({"run": {"ranks": 0}}, "run.ranks"),
        ({"run": {"timeuot_s": 5.0}}, "run.timeuot_s"),
    ],
)
def test_bad_settings_name_the_key(config, key):
    with pytest.raises(ConfigError) as err:
        load_cp2k_config(config)
    assert err.value.field == key
    assert key in str(err.value)


def test_unknown_key_suggests_the_valid_one():
    with pytest.raises(ConfigError, match="did you mean 'cutoff_Ry'"):
        load_cp2k_config({"cutof_Ry": 300.0})


def test_toml_config_file_is_named_in_errors(tmp_path):
    path = tmp_path / "ref.toml"
    path.write_text('preset = "fast"\neps_scf = "tight"\n')
    with pytest.raises(ConfigError) as err:
        load_cp2k_config(path)
    assert err.value.file == str(path) and err.value.field == "eps_scf"


def test_presets_and_overrides(tmp_path):
    assert {"fast", "production"} <= set(available_presets())
    fast, _ = load_cp2k_config(preset="fast")
    prod, _ = load_cp2k_config()  # production is the default
    assert fast.cutoff_Ry < prod.cutoff_Ry and prod.cutoff_Ry >= 400
    assert prod.basis_set == "DZVP-MOLOPT-SR-GTH" and prod.functional == "PBE"
    path = tmp_path / "ref.toml"
    path.write_text(
        'preset = "fast"\ncutoff_Ry = 300.0\n[ladder]\nenabled = false\n[run]\nranks = 3\n'
    )
    s, run = load_cp2k_config(path)
    assert s.cutoff_Ry == 300.0 and s.eps_scf == fast.eps_scf and not s.ladder.enabled
    assert run.ranks == 3
    assert load_cp2k_config(path, ranks=2)[1].ranks == 2  # --ranks wins
    with pytest.raises(ConfigError, match="fast"):
        load_cp2k_config(preset="fastest")


def test_input_has_forces_analytic_stress_cell_and_kinds():
    s, _ = load_cp2k_config(
        {"preset": "fast", "extra_sections": {"QS": "METHOD GPW", "GLOBAL": "TRACE F"}}
    )
    frame = quartz()
    text = write_input(frame, s, ladder(s)[0], None)
    for needle in (
        "RUN_TYPE ENERGY_FORCE",
        "STRESS_TENSOR ANALYTICAL",
        "&FORCES ON",
        "&STRESS_TENSOR ON",
        "PERIODIC XYZ",
        "&XC_FUNCTIONAL PBE",
        "BASIS_SET DZVP-MOLOPT-SR-GTH",
        "POTENTIAL GTH-PBE",
        f"CUTOFF {s.cutoff_Ry}",
        "SCF_GUESS ATOMIC",
        "XC_DERIV NN10_SMOOTH",
        "&OT ON",
        "METHOD GPW",
        "TRACE F",
    ):
        assert needle in text, needle
    assert text.count("&KIND ") == 2  # Si and O
    assert "KPOINTS" not in text  # Γ-point only
    coord = text.split("&COORD")[1].split("&END COORD")[0].split()
    assert coord.count("Si") == 3 and coord.count("O") == 6
    assert float(coord[1]) == pytest.approx(frame.positions[0, 0], abs=1e-9)


def test_ladder_rungs(tmp_path):
    s, _ = load_cp2k_config({"preset": "fast"})
    rungs = ladder(s)
    assert [r.name for r in rungs] == ["base", "restart", "diagonalization", "outer_loop"]
    assert rungs[1].max_scf > s.max_scf and rungs[1].restart
    diag = write_input(quartz(), s, rungs[2], tmp_path / "prev.wfn")
    assert "&DIAGONALIZATION ON" in diag and "BROYDEN_MIXING" in diag
    assert "FERMI_DIRAC" in diag and "ADDED_MOS" in diag and "&OT" not in diag
    assert f"WFN_RESTART_FILE_NAME {tmp_path / 'prev.wfn'}" in diag
    assert "SCF_GUESS RESTART" in diag
    outer = write_input(quartz(), s, rungs[3], None)
    assert "MINIMIZER CG" in outer and f"MAX_SCF {s.ladder.outer_max_scf}" in outer
    off, _ = load_cp2k_config({"ladder": {"enabled": False}})
    assert [r.name for r in ladder(off)] == ["base"]


def test_launcher_prefixes(monkeypatch):
    assert launcher_prefix("auto", 1) == []
    assert launcher_prefix("none", 1) == []
    with pytest.raises(ReferenceSetupError, match="run.launcher"):
        launcher_prefix("none", 2)
    monkeypatch.setenv("PARSL_MPI_PREFIX", "mpiexec -n 4 -ppn 4 -hosts node1")
    assert launcher_prefix("parsl", 4) == ["mpiexec", "-n", "4", "-ppn", "4", "-hosts", "node1"]
    monkeypatch.delenv("PARSL_MPI_PREFIX")
    with pytest.raises(ReferenceSetupError, match="PARSL_MPI_PREFIX"):
        launcher_prefix("parsl", 4)
    assert launcher_prefix("env {ranks}", 3) == ["env", "3"]
    with pytest.raises(ReferenceSetupError, match="not found"):
        launcher_prefix("no-such-mpiexec -np {ranks}", 2)


def test_discovery_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLMD_CP2K", str(tmp_path / "no-cp2k"))
    with pytest.raises(ReferenceSetupError) as err:
        find_executable()
    assert err.value.field == "run.executable" and isinstance(err.value, InputError)
    monkeypatch.setenv("MLMD_CP2K_DATA", str(tmp_path))
    with pytest.raises(ReferenceSetupError, match="run.data_dir"):
        find_data_dir()


def test_registry_names_the_valid_references():
    with pytest.raises(ReferenceSetupError, match="cp2k, lammps, qe, teacher, xtb"):
        get_reference("vasp-please")
    with pytest.raises(ConfigError, match="preset"):
        get_reference("teacher", preset="fast")


def test_failed_results_never_carry_labels():
    frame = quartz()
    with pytest.raises(ValueError, match="must not carry"):
        Result(frame.key, "scf_not_converged", energy=-1.0)
    with pytest.raises(ValueError):
        Result(frame.key, "unlabelled")
    failed = Result.failure(frame.key, SCFError("no convergence"), wall_s=1.0)
    labelled = failed.apply(frame)
    assert labelled.status == "scf_not_converged" and np.isnan(labelled.energy)
    assert np.isnan(labelled.forces).all()


def test_missing_output_is_a_read_error(tmp_path):
    with pytest.raises(ReadError) as err:
        read_status(tmp_path / "cp2k.out")
    assert err.value.status == "missing_output"
    (tmp_path / "cp2k.out").write_text("no energy here\n")
    with pytest.raises(ReadError, match="no total energy"):
        read_energy(tmp_path / "cp2k.out")
    with pytest.raises(ReadError, match="forces"):
        read_forces(tmp_path, "mlmd", 9, tmp_path / "cp2k.out")
    with pytest.raises(ReadError, match="stress"):
        read_stress(tmp_path, "mlmd", tmp_path / "cp2k.out")
