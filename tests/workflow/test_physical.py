"""Issue 12's minimum bar (mlmd.workflow.physical) on a validation's liquid laid out as
validate leaves it: a model with Si–Si pairs at 1.4 Å, 0.4 eV/atom too high and 3× too
fast is called unphysical, one like its reference is not."""

import json

import numpy as np
import pytest

from mlmd.workflow.physical import physical_checks, report_lines

R = np.arange(0.0, 6.0, 0.05)


def _gr(onsets: dict[str, float], few: dict[str, float] | None = None) -> dict:
    """Step partials from each onset; ``few``: a pair kind with a few pairs (g = 0.01, below
    the onset threshold) in one bin at that r."""
    curves = {pair: np.where(R >= r0, 1.0, 0.0) for pair, r0 in onsets.items()}
    for pair, r in (few or {}).items():
        curves[pair][np.argmin(abs(R - r))] = 0.01
    return curves


def _run(directory, onsets, pressure, epot, d_si, *, few=None) -> dict:
    (directory / "curves").mkdir(parents=True)
    curves = _gr(onsets, few)
    names = ["r_A", "g_total", *(f"g_{p}" for p in curves)]
    columns = [R, np.mean(list(curves.values()), axis=0), *curves.values()]
    np.savetxt(directory / "curves/gr.dat", np.column_stack(columns), header=" ".join(names))
    (directory / "summary.json").write_text("{}")
    scalars = {
        "pressure_GPa": [pressure, 0.1],
        "epot_eV_atom": [epot, 0.01],
        "D_Si_1e-5cm2_s": [d_si, 0.1],
    }
    return {"analysis": str(directory / "summary.json"), "scalars": scalars}


def _summary(tmp_path, model_onsets, pressure, epot, d_si) -> dict:
    ref = {"Si-Si": 2.65, "Si-O": 1.4}
    runs = {
        "reference_1": _run(tmp_path / "r1", ref, 5.8, -6.84, 1.4),
        "reference_2": _run(tmp_path / "r2", {**ref, "Si-Si": 2.6}, 5.9, -6.83, 1.3),
        "model": _run(tmp_path / "m", model_onsets, pressure, epot, d_si),
    }
    return {"liquid": {"runs": runs}}


def test_a_collapsing_model_is_unphysical(tmp_path):
    summary = _summary(tmp_path, {"Si-Si": 1.4, "Si-O": 1.4}, 3.9, -6.43, 3.5)
    checks = {c["quantity"]: c for c in physical_checks(summary)}
    assert not checks["closest Si-Si (g ≥ 0.1), Å"]["pass"]
    assert checks["closest Si-Si (g ≥ 0.1), Å"]["reference"] == 2.6  # the runs' closest
    assert checks["closest Si-O (g ≥ 0.1), Å"]["pass"]
    assert not checks["pressure, GPa"]["pass"]
    assert not checks["E_pot, meV/atom"]["pass"]
    assert not checks["D Si, 1e-5 cm²/s"]["pass"]
    text = "\n".join(report_lines(summary))
    assert "physical beside its reference? NO" in text and "**NO**" in text
    json.dumps(checks)  # the checks are plain values


def test_a_model_like_its_reference_is_physical(tmp_path):
    summary = _summary(tmp_path, {"Si-Si": 2.55, "Si-O": 1.4}, 6.3, -6.82, 1.9)
    checks = physical_checks(summary)
    assert len(checks) == 7 and all(c["pass"] for c in checks)  # 2 closest, 2 shortest, P, E, D
    assert report_lines(summary)[0].endswith("? yes")
    assert physical_checks({"liquid": {"runs": {}}}) == [] == report_lines({})


def test_a_few_pairs_in_a_hole_of_the_repulsion_fail_the_shortest_pair_check(tmp_path):
    """Run 2 of this stop's SiO2 study: its g(r) onsets equal the teacher's, but a few O–O
    pairs sit at 1.45 Å (g ≈ 0.01) in the glass, where the teacher never comes below 2.35 Å."""
    ref = {"O-O": 2.35, "Si-O": 1.45}
    glass = {
        "reference_1": _run(tmp_path / "g1", ref, 0.0, -7.0, 0.01),
        "reference_2": _run(tmp_path / "g2", ref, 0.0, -7.0, 0.01),
        "model": _run(tmp_path / "gm", ref, 0.0, -7.0, 0.01, few={"O-O": 1.45}),
    }
    summary = _summary(tmp_path / "liquid", {"Si-Si": 2.55, "Si-O": 1.4}, 6.3, -6.82, 1.9)
    summary["glass"] = {"runs": glass}
    checks = {c["quantity"]: c for c in physical_checks(summary)}
    bad = checks["glass: shortest O-O pair, Å"]
    assert not bad["pass"]
    assert bad["model"] == pytest.approx(1.45) and bad["reference"] == pytest.approx(2.35)
    assert checks["glass: shortest Si-O pair, Å"]["pass"]
    assert all(c["pass"] for name, c in checks.items() if not name.startswith("glass"))
    assert "physical beside its reference? NO" in "\n".join(report_lines(summary))
