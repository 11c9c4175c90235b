"""``mlmd analyze`` end to end: summary.json, curves and PNG plots from real H5MD files."""

import json

import numpy as np
import pytest

from mlmd.cli import main
from tests.analysis.trajectories import synthetic_sio2_trajectory, write_generic_h5md

PNG = b"\x89PNG\r\n\x1a\n"

#: A caller's experiment table (as a material file's [experiment] gives it): vitreous silica.
SILICA_TOML = """
[experiment.density_g_cm3]
value = 2.20
uncertainty = 0.01
unit = "g/cm3"
source = "Brückner (1970)"
[experiment.r_SiO_A]
value = 1.61
uncertainty = 0.01
unit = "Å"
source = "Grimley et al. (1990)"
[experiment."fsdp_Q_A-1"]
value = 1.5
uncertainty = 0.05
unit = "1/Å"
source = "Susman et al. (1991)"
[experiment.angle_SiOSi_deg]
value = 145.5
uncertainty = 1.5
unit = "deg"
source = "Mozzi & Warren (1969)"
[experiment.angle_OSiO_deg]
value = 109.47
uncertainty = 0.5
unit = "deg"
source = "tetrahedral angle"
[experiment.sio4_fraction]
value = 1.0
uncertainty = 0.01
unit = ""
source = "Mozzi & Warren (1969)"
[experiment.glass_transition_K]
value = 1450.0
uncertainty = 20.0
unit = "K"
source = "not an analysis quantity"
"""


@pytest.fixture(scope="module")
def sio2_traj(tmp_path_factory):
    path = tmp_path_factory.mktemp("traj") / "sio2.h5"
    return synthetic_sio2_trajectory(path, n_formula=100, n_frames=40, seed=5)


def test_analyze_writes_summary_and_plots(sio2_traj, tmp_path):
    ref_sq, ref_gr = tmp_path / "sq.txt", tmp_path / "gr.txt"
    experiment = tmp_path / "silica.toml"
    experiment.write_text(SILICA_TOML)
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
            "--ring-bond",
            "Si-O",
            "--experiment",
            str(experiment),
        ]
    )
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    expected_plots = {
        "gr.png",
        "coordination.png",
        "angles.png",
        "sq.png",
        "sq_xray.png",
        "rings.png",
        "voronoi.png",
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
    sq = s["structure_factor"]
    assert set(sq["routes"]) == {"from g(r)", "from g(r), Lorch window", "direct"}
    assert set(sq["weightings"]) == {"neutron", "xray"}
    assert sq["weightings"]["neutron"]["weights"]["Si-O"] == pytest.approx(0.388, abs=1e-3)
    assert sq["routes"]["direct"]["neutron"]["fsdp_Q_A-1"] is not None
    assert sq["routes"]["direct"]["xray"]["fsdp_Q_A-1"] is not None
    # every triplet type X–C–Y whose bonds have a cutoff, Si–O–Si and O–Si–O among them
    assert {"O-Si-O", "Si-O-Si", "O-O-O", "Si-Si-Si"} <= set(s["angles"])
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
    # silica's numbers come out of the generic quantities, the experiment from the caller
    comparison = s["comparison"]
    assert comparison["density_g_cm3"]["experiment"] == 2.20
    assert comparison["density_g_cm3"]["model"] == pytest.approx(2.20, rel=1e-9)
    assert set(comparison) == {
        "density_g_cm3",
        "r_SiO_A",
        "fsdp_Q_A-1",
        "angle_SiOSi_deg",
        "angle_OSiO_deg",
        "sio4_fraction",
    }
    assert comparison["r_SiO_A"]["model"] == s["rdf"]["partials"]["Si-O"]["first_peak_A"]
    assert comparison["angle_SiOSi_deg"]["model"] == s["angles"]["Si-O-Si"]["mean_deg"]
    assert comparison["sio4_fraction"]["model"] == s["coordination"]["Si-O"]["distribution"].get(
        "4", 0.0
    )
    assert comparison["fsdp_Q_A-1"]["model"] == sq["routes"]["direct"]["neutron"]["fsdp_Q_A-1"]
    assert comparison["r_SiO_A"]["window"]["frames"] == 40
    assert s["not_compared"] == ["glass_transition_K: not an analysis quantity"]


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
        (["--cutoff", "SiO=2.3"], "not a species pair A-B"),
        (["--cutoff", "Si-Xx=2.0"], "'Xx' (in 'Si-Xx') is not a species"),
        (["--cutoff", "Si-O=-1"], "positive"),
        (["--ring-bond", "Si"], "--ring-bond"),
        (["--what", "rings"], "--ring-bond"),
        (["--sq-weighting", "gamma"], "sq_weightings"),
        (["--reference-sq", "/nonexistent/sq.txt"], "--reference-sq"),
        (["--frames", "0:0"], "the frame selection is empty"),
        (["--frames", "5:5"], "the frame selection is empty"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(sio2_traj, tmp_path, capsys, args, message):
    """Refused before anything is written: no output directory (nor its new parent) is left
    behind (an empty selection left OUT/curves/)."""
    out = tmp_path / "new" / "o"
    rc = main(["analyze", str(sio2_traj), "-o", str(out), "--no-plots", *args])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


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
                "--ring-bond",
                "Si-O",
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


def test_any_species_set_without_silica_assumptions(tmp_path):
    """A Cu–Zr cell (rattled B2): all partials, every triplet type, coordination per pair,
    neutron and X-ray S(Q), Cu-centred Voronoi indices, the caller's experiment compared;
    no rings unless a bond is named."""
    from ase.build import bulk

    from mlmd.analysis import AnalysisConfig, analyze
    from tests.analysis.trajectories import write_h5md

    atoms = bulk("CuZr", "cesiumchloride", a=3.26).repeat((4, 4, 4))
    rng = np.random.default_rng(2)
    x = atoms.positions + rng.normal(0, 0.05, (6, len(atoms), 3))
    path = write_h5md(tmp_path / "cuzr.h5", x, atoms.cell.array, atoms.numbers)
    config = AnalysisConfig(
        what=("rdf", "coordination", "angles", "sq", "voronoi"),
        plots=False,
        voronoi_centres=("Cu",),
        direct_frames=2,
        threads=1,
    )
    experiment = {
        "icosahedral_Cu_fraction": {"value": 0.2, "uncertainty": 0.05, "unit": "", "source": "test"}
    }
    s = analyze(path, tmp_path / "out", config, experiment=experiment)
    assert s["system"]["species"] == {"Zr": 64, "Cu": 64}
    assert set(s["rdf"]["partials"]) == {"Zr-Zr", "Zr-Cu", "Cu-Cu"}
    assert s["rdf"]["partials"]["Zr-Cu"]["first_peak_A"] == pytest.approx(
        3.26 * 3**0.5 / 2, abs=0.05
    )
    assert s["coordination"]["Cu-Zr"]["distribution"] == {"8": 1.0}  # B2: 8 unlike neighbours
    assert {"Cu-Zr-Cu", "Zr-Cu-Zr", "Cu-Cu-Cu", "Zr-Zr-Zr", "Zr-Cu-Cu"} <= set(s["angles"])
    assert set(s["structure_factor"]["weightings"]) == {"neutron", "xray"}
    assert "rings" not in s and "silica" not in s
    assert s["voronoi"]["centres"]["Cu"]["top"][0]["index"] == "<0,6,0,8>"
    assert s["comparison"]["icosahedral_Cu_fraction"]["model"] == 0.0


def test_progress_with_eta_on_a_terminal_and_quiet_in_a_pipe(sio2_traj, tmp_path):
    """``mlmd analyze`` draws its passes' bars with an ETA on a terminal (CONTRACTS §8) and
    nothing on stderr when piped."""
    from tests.cli_helpers import call_mlmd, call_on_terminal

    args = ["analyze", sio2_traj, "-o", tmp_path / "tty", "--no-plots", "--what", "rdf", "angles"]
    rc, drawn = call_on_terminal(*args)
    assert rc == 0
    assert "analyze: pass 1" in drawn and "analyze: pass 2" in drawn and "ETA" in drawn
    piped = call_mlmd(*args[:3], tmp_path / "pipe", *args[4:])
    assert piped.returncode == 0 and "ETA" not in piped.stderr
