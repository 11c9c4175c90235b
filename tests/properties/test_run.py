"""``run_properties``: MD segments, analysis-only tables, outputs, summary and reruns."""

import json

import numpy as np

from mlmd.properties.report import report_lines
from mlmd.properties.run import run_properties
from tests.properties.synthetic import npt_file, nvt_file

PNG = b"\x89PNG\r\n\x1a\n"


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
    assert set(gt) >= {"enthalpy", "density"} and "resolved" in gt["enthalpy"]
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
