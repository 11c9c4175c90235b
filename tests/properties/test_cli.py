"""``mlmd properties CONFIG.toml`` end to end: MD segments, analysis-only tables, outputs,
report lines, and bad input (exit 2, no traceback, inputs unchanged)."""

import json

import numpy as np

from mlmd.cli import main
from mlmd.properties.report import report_lines
from mlmd.properties.run import run_properties
from tests.cli_helpers import tree_digest
from tests.properties.synthetic import (
    isotropic_pressure_tensor,
    ornstein_uhlenbeck,
    write_trajectory,
)

PNG = b"\x89PNG\r\n\x1a\n"


def nvt_file(path, seed, *, ptensor=True):
    rng = np.random.default_rng(seed)
    n = 20_000
    steps = np.arange(n) * 2
    obs = {
        "volume": (np.full(n, 3000.0), steps, "angstrom^3"),
        "temperature": (np.full(n, 3500.0), steps, "K"),
    }
    if ptensor:
        obs["pressure_tensor"] = (
            isotropic_pressure_tensor(n, 2.0, 100.0, 1.0, 5.0, rng),
            steps,
            "GPa",
        )
    return write_trajectory(path, {"ensemble": {"kind": "nve"}, "timestep_fs": 1.0}, obs)


def npt_file(path, kind="npt"):
    rng = np.random.default_rng(1)
    n = 5000
    v = 3000.0 + ornstein_uhlenbeck(n, 1.0, 3.0, 12.0, rng)
    steps = np.arange(n) * 10
    cfg = {"ensemble": {"kind": kind, "temperature_K": 300.0}, "timestep_fs": 1.0}
    obs = {"volume": (v, steps, "angstrom^3"), "temperature": (np.full(n, 300.0), steps, "K")}
    return write_trajectory(path, cfg, obs)


def test_properties_end_to_end(tmp_path):
    """A teacher quench MD (tiny) for T_g, quartz relaxed against the teacher as reference,
    and analysis-only viscosity and bulk modulus from given trajectories."""
    visc = [nvt_file(tmp_path / f"nve{k}.h5", k) for k in range(2)]
    npt = npt_file(tmp_path / "npt.h5")
    cfg = {
        "output": str(tmp_path / "out"),
        "md": {"potential": "teacher", "device": "cpu", "torch_threads": 1, "thermo_every": 5},
        "structure": {"builder": "random_sio2", "n_atoms": 96, "density_g_cm3": 2.2, "seed": 3},
        "crystals": {"structures": ["quartz"], "reference": "teacher"},
        "viscosity": {"trajectories": [str(p) for p in visc]},
        "bulk_modulus": {"trajectories": [str(npt)]},
        "glass_transition": {
            "start_K": 4000.0,
            "end_K": 2000.0,
            "rate_K_per_ps": 2000.0,
            "hold_ps": 0.2,
        },
    }
    summary = run_properties(cfg)
    out = tmp_path / "out"
    saved = json.loads((out / "summary.json").read_text())
    assert set(saved) == {"config", "crystals", "viscosity", "bulk_modulus", "glass_transition"}
    q = summary["crystals"]["structures"]["quartz"]
    assert q["converged"] and abs(q["vs_reference"]["max_abs_lattice_rel"]) < 1e-9
    point = summary["viscosity"]["points"][0]
    assert point["value"] > 0 and point["error"] > 0 and point["unit"] == "Pa s"
    fluct = summary["bulk_modulus"]["fluctuations"]
    exact = 8.617333e-5 * 300 * 3000 / 144 / 6.2415e-3
    assert abs(fluct["value"] - exact) < 4 * fluct["error"]
    gt = summary["glass_transition"]
    assert set(gt) >= {"enthalpy", "volume"} and "resolved" in gt["enthalpy"]
    traj = gt["trajectory"]
    assert traj.endswith("quench/trajectory.h5")
    for files in (point["files"], gt["enthalpy"]["files"], summary["crystals"]["files"]):
        assert open(files["png"], "rb").read(8) == PNG
        assert np.loadtxt(files["dat"]).shape[0] > 0
    lines = report_lines(summary)
    assert lines[0].startswith("| property") and any("log₁₀ η" in x for x in lines)
    assert any("NPT volume fluctuations" in x and "36.5" in x for x in lines)
    assert any("quartz" in x for x in lines)
    # a rerun reuses the finished MD segment
    mtime = (out / "glass_transition" / "quench" / "trajectory.h5").stat().st_mtime
    run_properties(cfg, only=["glass_transition"])
    assert (out / "glass_transition" / "quench" / "trajectory.h5").stat().st_mtime == mtime


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
