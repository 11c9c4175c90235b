"""Quench curves ρ(T), H(T) from a melt–quench's observables, with the glass-transition kink."""

import json

import numpy as np
import pytest

from mlmd.analysis import AnalysisConfig, analyze
from mlmd.analysis.quench import quench_curves
from mlmd.analysis.reader import open_trajectory
from mlmd.cli import main
from mlmd.units import GPA
from tests.analysis import tolerances as tol
from tests.analysis.trajectories import random_sio2, write_h5md

#: 2 ps at 1 fs: hold 3000 K to 0.2 ps, quench to 300 K at 1.8 ps, anneal; frames every 10 fs.
CONFIG = {
    "steps": 2000,
    "timestep_fs": 1.0,
    "ensemble": {"kind": "npt", "temperature_K": 3000.0, "pressure_GPa": 0.0},
    "schedule": {"time_ps": [0.0, 0.2, 1.8, 2.0], "temperature_K": [3000, 3000, 300, 300]},
}
TG_K = 1500.0


def _target_K(t_ps):
    return np.interp(t_ps, CONFIG["schedule"]["time_ps"], CONFIG["schedule"]["temperature_K"])


def _quench(path, noise=0.0, observables=None, config=CONFIG):
    """Observables with a known kink at T_g: E_pot/N rises 3e-4 eV/K above T_g and 1e-4 below;
    the volume grows 4e-4 of itself per 1000 K above and 1e-4 below; P = 2 GPa."""
    pos, cell, numbers = random_sio2(20, seed=4)
    n, frames = len(numbers), 200
    steps = np.arange(frames) * 10
    t = _target_K(steps / 1e3)
    rng = np.random.default_rng(0)
    slope = np.where(t > TG_K, 3e-4, 1e-4)
    e_pot = n * (-7.0 + slope * (t - TG_K)) + noise * rng.normal(size=frames)
    e_kin = 1.5 * n * 8.617e-5 * t
    v0 = np.linalg.det(cell)
    volume = v0 * (1 + np.where(t > TG_K, 4e-7, 1e-7) * (t - TG_K))
    obs = {
        "potential_energy": (e_pot, "eV"),
        "kinetic_energy": (e_kin, "eV"),
        "pressure": (np.full(frames, 2.0), "GPa"),
        "volume": (volume, "angstrom^3"),
        "temperature": (t, "K"),
    }
    for name in observables or ():
        obs.pop(name)
    x = np.broadcast_to(pos, (frames, n, 3))
    write_h5md(
        path, x, cell, numbers, steps=steps, times_fs=steps * 1.0, observables=obs, config=config
    )
    return n, e_pot, e_kin, volume


def test_curves_are_binned_in_target_temperature_with_h_including_pv(tmp_path):
    n, e_pot, e_kin, volume = _quench(tmp_path / "q.h5")
    with open_trajectory(tmp_path / "q.h5") as reader:
        curves = quench_curves(reader, bin_K=2700 / 16)
    assert curves.segment.index == 1 and curves.segment.temperature_K == (3000.0, 300.0)
    assert curves.n_samples_total == 161  # frames at 200 … 1800 fs, both ends included
    assert curves.n_samples.sum() == 161 and len(curves.temperature_K) == 16
    # noise-free data: each bin's H is the mean of (E_pot + E_kin + P V)/N over its samples
    t_ps = np.arange(200) * 10 / 1e3
    inside = (t_ps >= 0.2 - 1e-9) & (t_ps <= 1.8 + 1e-9)
    h = (e_pot + e_kin + 2.0 * volume * GPA)[inside] / n
    coldest = _target_K(t_ps[inside]) < 300 + 2700 / 16
    assert curves.n_samples[0] == coldest.sum() == 10
    assert curves.enthalpy_eV_atom[0] == pytest.approx(h[coldest].mean(), rel=1e-12)
    assert curves.temperature_K[0] < curves.temperature_K[-1]  # ascending T


def test_analyze_quench_finds_the_kink(tmp_path):
    _quench(tmp_path / "q.h5", noise=0.05)
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / "q.h5"), "-o", str(out), "--what", "quench"]) == 0
    s = json.loads((out / "summary.json").read_text())
    q = s["quench"]
    assert q["window"]["segment"]["index"] == 1 and q["window"]["frames"] == 161
    assert q["enthalpy"]["resolved"] and q["enthalpy"]["tg_K"] == pytest.approx(
        TG_K, abs=tol.TG_WITHIN_K
    )
    assert q["density"]["tg_K"] == pytest.approx(TG_K, abs=tol.TG_WITHIN_K)
    assert "quench.png" in s["plots"] and "curves/quench.dat" in s["curves"]
    header = (out / "curves/quench.dat").read_text().splitlines()[0]
    assert header.split()[1:4] == ["T_target_K", "T_measured_K", "density_g_cm3"]


def test_quench_is_not_part_of_all(tmp_path):
    _quench(tmp_path / "q.h5")
    s = analyze(
        tmp_path / "q.h5",
        tmp_path / "out",
        AnalysisConfig(what=("all",), plots=False, direct_frames=0),
    )
    assert "quench" not in s


@pytest.mark.parametrize(
    "observables, config, message",
    [
        (("pressure",), CONFIG, "no pressure in /observables"),
        ((), {"steps": 2000, "timestep_fs": 1.0}, "no segment where the target temperature falls"),
    ],
)
def test_missing_inputs_exit_2(tmp_path, capsys, observables, config, message):
    _quench(tmp_path / "q.h5", observables=observables, config=config)
    rc = main(["analyze", str(tmp_path / "q.h5"), "-o", str(tmp_path / "o"), "--what", "quench"])
    assert rc == 2 and message in capsys.readouterr().err
