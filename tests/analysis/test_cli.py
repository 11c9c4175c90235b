"""``mlmd analyze`` end to end: summary.json, curves and PNG plots from real H5MD files."""

import json

import numpy as np
import pytest

from mlmd.cli import main
from tests.analysis.test_reader import write_generic_h5md
from tests.analysis.trajectories import synthetic_sio2_trajectory

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sio2_traj(tmp_path_factory):
    path = tmp_path_factory.mktemp("traj") / "sio2.h5"
    return synthetic_sio2_trajectory(path, n_formula=100, n_frames=40, seed=5)


def test_analyze_writes_summary_and_plots(sio2_traj, tmp_path):
    ref_sq, ref_gr = tmp_path / "sq.txt", tmp_path / "gr.txt"
    q = np.linspace(0.5, 10, 50)
    np.savetxt(ref_sq, np.column_stack([q, 1 + 0.1 * np.sin(q)]), header="Q S")
    np.savetxt(ref_gr, np.column_stack([q, np.ones_like(q)]), header="r g")
    out = tmp_path / "out"
    rc = main(
        [
            "analyze",
            str(sio2_traj),
            "-o",
            str(out),
            "--lorch",
            "--threads",
            "1",
            "--reference-sq",
            str(ref_sq),
            "--reference-gr",
            str(ref_gr),
        ]
    )
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    expected_plots = {
        "gr.png",
        "coordination.png",
        "angles.png",
        "sq.png",
        "rings.png",
        "msd.png",
        "vacf.png",
        "vdos.png",
        "thermo.png",
    }
    assert set(s["plots"]) == expected_plots
    for name in expected_plots:
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
    for curve in s["curves"]:
        assert np.loadtxt(out / curve).shape[0] > 5
    assert s["system"]["species"] == {"Si": 100, "O": 200}
    assert s["frames"]["n"] == 40
    assert s["rdf"]["r_max_A"] <= 0.5 * 17.0  # half the 17.0 Å box edge
    assert "perpendicular" in s["rdf"]["r_max_rule"]
    assert set(s["structure_factor"]) >= {
        "from g(r)",
        "from g(r), Lorch window",
        "direct (reciprocal vectors)",
        "weights",
    }
    assert s["structure_factor"]["weighting"] == "neutron"
    assert set(s["angles"]) == {"O-Si-O", "Si-O-Si"}
    assert s["rings"]["n_frames"] == 3 and sum(s["rings"]["fraction_by_size"].values()) <= 1
    assert s["msd"]["unwrap"] == "image" and len(s["msd"]["fit_window_ps"]) == 2
    for label in ("Si", "O"):
        d = s["msd"]["species"][label]
        assert d["D_A2_per_ps"] > 0 and d["D_err_A2_per_ps"] > 0
    # the synthetic run's conserved energy rises by exactly 1e-6 eV/atom/ps
    drift = s["thermo"]["energy_drift"]
    assert drift["from"] == "conserved_energy"
    assert drift["drift_eV_per_atom_per_ps"] == pytest.approx(1e-6, rel=1e-6)
    assert set(s["thermo"]["ensemble_spread"]) == {"force_std_max", "force_std_mean"}
    comparison = s["silica"]["comparison"]
    assert comparison["density_g_cm3"]["experiment"] == 2.20
    assert comparison["density_g_cm3"]["model"] == pytest.approx(2.20, rel=1e-9)
    assert {"r_SiO_A", "fsdp_Q_A-1", "angle_SiOSi_deg", "angle_OSiO_deg", "sio4_fraction"} <= set(
        comparison
    )
    assert s["silica"]["experiment"]["r_SiO_A"]["value"] == 1.61


def test_analyze_a_generic_h5md_file(tmp_path):
    """A plain H5MD file (no image, velocity, observables, mass or mlmd creator), species
    given as types: analysed with --species-map, unwrapped by minimum image."""
    rng = np.random.default_rng(4)
    n, frames = 90, 12
    x = (rng.random((n, 3)) * 1.6 + np.cumsum(rng.normal(0, 0.003, (frames, n, 3)), 0)) % 1.6
    species = np.array([1] * 30 + [2] * 60)
    path = tmp_path / "generic.h5"
    write_generic_h5md(path, x, np.array([1.6, 1.6, 1.6]), species, 0.01)
    out = tmp_path / "out"
    rc = main(
        [
            "analyze",
            str(path),
            "-o",
            str(out),
            "--species-map",
            "1=Si,2=O",
            "--no-plots",
            "--frames",
            "::1",
            "--direct-frames",
            "2",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["system"]["species"] == {"Si": 30, "O": 60}
    assert s["msd"]["unwrap"] == "minimum image between consecutive frames"
    assert s["msd"]["dt_fs"] == pytest.approx(10.0)
    assert "vacf skipped: the trajectory has no velocities" in s["notes"]
    assert s["thermo"] == {} and s["plots"] == []
    assert s["rdf"]["n_frames"] == frames


def test_analyze_selected_analyses_and_frames(sio2_traj, tmp_path):
    out = tmp_path / "out"
    assert (
        main(["analyze", str(sio2_traj), "-o", str(out), "--what", "rdf", "--frames", "10:30:2"])
        == 0
    )
    s = json.loads((out / "summary.json").read_text())
    assert s["plots"] == ["gr.png"] and s["frames"]["n"] == 10
    assert s["frames"]["steps"] == [100, 280]
    assert "msd" not in s and "coordination" not in s and "structure_factor" not in s


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rmax", "30"], "--rmax"),
        (["--what", "gofr"], "unknown analysis"),
        (["--cutoff", "Si-O"], "KEY=VALUE"),
        (["--reference-sq", "/nonexistent/sq.txt"], "--reference-sq"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(sio2_traj, tmp_path, capsys, args, message):
    rc = main(["analyze", str(sio2_traj), "-o", str(tmp_path / "o"), "--no-plots", *args])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_settings_from_a_toml_file_are_strict(sio2_traj, tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('[analysis]\nwhat = ["rdf", "coordination"]\ncutoffs_A = {"Si-O" = 2.0}\n')
    out = tmp_path / "o"
    assert (
        main(["analyze", str(sio2_traj), "-o", str(out), "--config", str(good), "--no-plots"]) == 0
    )
    s = json.loads((out / "summary.json").read_text())
    assert s["coordination"]["Si-O"]["cutoff_A"] == 2.0
    assert s["coordination"]["Si-O"]["cutoff_source"] == "given"
    assert s["coordination"]["O-Si"]["cutoff_A"] == 2.0
    assert s["coordination"]["O-O"]["cutoff_source"] == "first minimum of g(r)"
    bad = tmp_path / "bad.toml"
    bad.write_text("[analysis]\nr_maxx_A = 5.0\n")
    assert main(["analyze", str(sio2_traj), "-o", str(out), "--config", str(bad)]) == 2
    assert "r_maxx_A" in capsys.readouterr().err


def test_rings_alone(sio2_traj, tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                str(sio2_traj),
                "-o",
                str(out),
                "--what",
                "rings",
                "--rings-frames",
                "2",
                "--no-plots",
            ]
        )
        == 0
    )
    s = json.loads((out / "summary.json").read_text())
    assert s["rings"]["n_frames"] == 2 and s["rings"]["links_per_frame"] > 50
    assert "coordination" not in s and "angles" not in s


def test_uneven_frame_times_skip_dynamics_only(tmp_path):
    """Frames at uneven times: structure is analysed, MSD/VACF are skipped with a note."""
    from tests.analysis.trajectories import random_sio2, write_h5md

    pos, cell, numbers = random_sio2(40, seed=9)
    x = np.stack([pos + 0.01 * k for k in range(10)])
    times = np.array([0, 1, 2, 3, 5, 6, 7, 8, 9, 10], dtype=float)
    path = write_h5md(tmp_path / "uneven.h5", x % cell[0, 0], cell, numbers, times_fs=times)
    out = tmp_path / "out"
    assert main(["analyze", str(path), "-o", str(out), "--no-plots", "--what", "rdf", "msd"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert "rdf" in s and "msd" not in s
    assert any("equally spaced" in note for note in s["notes"])
