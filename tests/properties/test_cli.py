"""``mlmd properties CONFIG.toml`` as a user runs it: the report table on stdout, --json, and
a config without a property table (the other bad inputs are rows of tests/test_bad_inputs.py)."""

import json

from mlmd.cli import main
from tests.cli_helpers import call_mlmd, call_on_terminal, tree_digest
from tests.properties.harmonic import fcc
from tests.properties.synthetic import nvt_file


def write_config(tmp_path, body: str):
    path = tmp_path / "props.toml"
    path.write_text(f'output = "{tmp_path / "out"}"\n' + body)
    return path


def test_config_without_a_property_table(tmp_path, capsys):
    """(The other bad inputs of ``mlmd properties`` are rows of tests/test_bad_inputs.py.)"""
    config = write_config(tmp_path, "[md]\npotential = 'teacher'\n")
    before = tree_digest(tmp_path)
    assert main(["properties", str(config)]) == 2
    err = capsys.readouterr().err
    assert "props.toml" in err and "no property table" in err and "[viscosity]" in err
    assert tree_digest(tmp_path) == before


def test_prints_the_report_table_or_json(tmp_path, capsys):
    runs = [nvt_file(tmp_path / f"r{k}.h5", k) for k in range(2)]
    config = write_config(tmp_path, f"[viscosity]\ntrajectories = {[str(p) for p in runs]}\n")
    assert main(["properties", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| property | model |") and "log₁₀ η at 3500 K" in out
    assert main(["properties", str(config), "--json", "-o", str(tmp_path / "other")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["viscosity"]["points"][0]["unit"] == "Pa s"
    assert (tmp_path / "other" / "summary.json").is_file()


def test_md_segments_draw_a_bar_with_eta_on_a_terminal_only(tmp_path):
    """Each MD segment of the scan draws mlmd.progress's bar on a terminal; piped, none."""
    from ase.io import write

    write(tmp_path / "fcc.extxyz", fcc(2))
    config = write_config(
        tmp_path,
        "[md]\npotential = 'test-springs'\ndevice = 'cpu'\ntorch_threads = 1\n"
        "timestep_fs = 4.0\nskin_A = 0.3\nthermo_every = 5\nbarostat_damping_fs = 100.0\n"
        f"compressibility_per_GPa = 0.008\n[structure]\nextxyz = '{tmp_path / 'fcc.extxyz'}'\n"
        "[density_curve]\ntemperatures_K = [20.0, 40.0]\nhold_ps = 0.4\n"
        "equilibration_ps = 0.2\nramp_ps = 0.2\n",
    )
    code, drawn = call_on_terminal("properties", config, "-o", tmp_path / "tty")
    assert code == 0, drawn
    assert "md run [" in drawn and "ETA" in drawn
    piped = call_mlmd("properties", config, "-o", tmp_path / "pipe")
    assert piped.returncode == 0 and "ETA" not in piped.stderr, piped.stderr
