"""``mlmd properties CONFIG.toml`` as a user runs it: the report table on stdout, --json, and
a config without a property table (the other bad inputs are rows of tests/test_bad_inputs.py)."""

import json

from mlmd.cli import main
from tests.cli_helpers import tree_digest
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
