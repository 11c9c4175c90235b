"""Verdict rows and the report on synthetic measurements."""

import math

import numpy as np
import pytest

from mlmd.validate.config import Tolerances
from mlmd.validate.observe import Measurement
from mlmd.validate.report import report_lines
from mlmd.validate.verdict import compare_values, liquid_rows, verdict

R = np.arange(0.01, 6.0, 0.02)


def _liquid(seed: int, shift_A: float = 0.0, pressure: float = 5.5) -> Measurement:
    rng = np.random.default_rng(seed)
    g = 1 + 2 * np.exp(-((R - 1.6 - shift_A) ** 2) / 0.01) + rng.normal(scale=0.05, size=len(R))
    return Measurement(
        scalars={
            "pressure_GPa": (pressure + rng.normal(scale=0.02), 0.03),
            "epot_eV_atom": (-6.88 + rng.normal(scale=0.001), 0.001),
            "D_Si_1e-5cm2_s": (0.9, 0.02),
            "peak_Si-O_A": (1.6 + shift_A, math.nan),
        },
        curves={"g Si-O": (R, g)},
        coordination={},
        n_frames=40,
        summary=None,
    )


def test_a_model_like_its_reference_passes_and_a_shifted_one_fails():
    refs = [_liquid(1), _liquid(2)]
    good = verdict(liquid_rows(_liquid(3), refs, Tolerances()))
    assert good["pass"], good["failed"]
    bad = verdict(liquid_rows(_liquid(4, shift_A=0.1, pressure=6.5), refs, Tolerances()))
    assert not bad["pass"]
    assert set(bad["failed"]) == {
        "liquid: g(r) Si-O, L1",
        "liquid: g(r) Si-O first peak",
        "liquid: pressure",
    }


def test_tolerance_becomes_the_noise_when_the_runs_cannot_resolve_it():
    row = compare_values(
        "liquid",
        "pressure",
        "GPa",
        (6.0, 0.05),
        [(5.5, 0.05), (5.6, 0.05)],
        relative=False,
        tolerance=0.3,
        allowance=1.5,
    )
    assert not row.passed and row.tolerance == 0.3 and "noise" not in row.rule
    row = compare_values(
        "liquid",
        "pressure",
        "GPa",
        (6.0, 0.4),
        [(5.5, 0.4), (5.6, 0.4)],
        relative=False,
        tolerance=0.3,
        allowance=1.5,
    )
    assert row.passed and row.tolerance > 0.5 and "noise-limited" in row.rule
    row = compare_values(
        "glass",
        "density",
        "g/cm³",
        (2.2, math.nan),
        [(2.0, math.nan)] * 2,
        relative=True,
        tolerance=0.015,
        allowance=1.5,
    )
    assert not row.passed and row.distance == pytest.approx(0.1)
    missing = compare_values(
        "glass", "x", "", None, [(1.0, 0.1)] * 2, relative=False, tolerance=0.1, allowance=1.5
    )
    assert not missing.passed


def test_report_leads_with_the_verdict_and_says_fail_plainly():
    refs = [_liquid(1), _liquid(2)]
    rows = liquid_rows(_liquid(4, shift_A=0.1), refs, Tolerances())
    summary = {"verdict": verdict(rows), "reference": {"name": "teacher"}}
    lines = report_lines(summary)
    assert lines[0].endswith("FAIL")
    assert lines[2].startswith("**FAIL**") and "g(r) Si-O first peak" in lines[2]
    assert lines[4].startswith("| part | quantity | model | reference")
    assert sum("**FAIL**" in line for line in lines[6:]) == 2
    good = report_lines(
        {
            "verdict": verdict(liquid_rows(_liquid(3), refs, Tolerances())),
            "reference": {"name": "teacher"},
        }
    )
    assert good[0].endswith("PASS") and "**FAIL**" not in "\n".join(good)
    assert report_lines({"verdict": verdict([])})[0].endswith("FAIL")


def test_report_warns_when_the_model_sees_less_far_than_its_reference(tmp_path):
    """The teacher reaches 5.5 Å: a 4 Å model gets the warning, with what the teacher's
    pairs beyond 4 Å carry on the frames; a model that sees as far, or a reference of unknown
    range (DFT, LAMMPS), none."""
    from mlmd.data import write_frames
    from mlmd.data.build import random_sio2
    from mlmd.potential.model import BodyOrderPotential, ModelConfig
    from mlmd.reference.registry import get_reference
    from mlmd.validate.reach import beyond_cutoff, reach, with_beyond

    teacher = get_reference("teacher")
    short = BodyOrderPotential(ModelConfig(species=[8, 14], cutoff_A=4.0, channels=4, hidden=[8]))
    assert reach(short, teacher) == {"model": 4.0, "reference": 5.5}
    assert reach(teacher.potential, teacher) == {"model": 5.5, "reference": 5.5}
    assert reach(short, object())["reference"] is None
    frames = [random_sio2(48, 2.2, seed=k) for k in range(2)]
    write_frames(tmp_path / "frames.h5", {"name": "none"}, frames)
    measured = with_beyond(reach(short, teacher), teacher, tmp_path / "frames.h5")["beyond"]
    assert measured["n_frames"] == 2 and measured["force_rmse_eV_A"] > 0.01
    seen = beyond_cutoff(teacher.potential, frames, 5.5, 5.5)  # nothing beyond: exactly 0
    assert seen["force_rmse_eV_A"] == 0.0 and seen["energy_meV_atom_mean"] == 0.0
    assert "beyond" not in with_beyond(reach(teacher.potential, teacher), teacher, "unread.h5")

    def report(reach_A):
        rows = liquid_rows(_liquid(3), [_liquid(1), _liquid(2)], Tolerances())
        return "\n".join(report_lines({"verdict": verdict(rows), "reach_A": reach_A}))

    warned = report({**reach(short, teacher), "beyond": measured})
    assert "The model sees 4 Å; its reference reaches 5.5 Å" in warned
    assert "cutoff_A = 5.5" in warned and "On the 2 a-posteriori frames" in warned
    for quiet in (reach(teacher.potential, teacher), reach(short, object()), None):
        assert "its reference reaches" not in report(quiet)
