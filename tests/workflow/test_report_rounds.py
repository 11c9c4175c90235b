"""The active-learning section of the campaign report (mlmd.workflow.report_rounds): a round
whose stopping-rule check had a phase the reference refused names that phase."""

from mlmd.workflow.report_rounds import active_learning

REFUSED = "every glass frame (3) failed its reference calculation (statuses in labelled.h5)"


def _record(check: dict) -> dict:
    """One training round (member metrics) and its exploration check."""
    test = {"energy_per_atom_rmse": 0.004, "forces_rmse": 0.21, "stress_rmse": 0.3}
    return {
        "training": {"it0": [{"n_train": 40, "test": test}]},
        "iterations": [
            {"iteration": 0, "selection": {"spread_mean": 0.1, "selected": 5}, "check": check}
        ],
    }


def _round_row(check: dict, tmp_path) -> str:
    lines = active_learning(_record(check), tmp_path)
    (row,) = [line for line in lines if line.startswith("| it0 |")]
    return row.rsplit("|", 2)[1].strip()


def test_a_phase_the_reference_refused_is_named_in_the_round_row(tmp_path):
    check = {
        "pass": False,
        "phases": {"liquid": {"force_rmse_eV_A": 0.21}, "supercooled": {"force_rmse_eV_A": 0.18}},
        "unlabelled": {"glass": REFUSED},
    }
    assert _round_row(check, tmp_path) == (
        "liquid 0.210, supercooled 0.180 eV/Å; glass: every frame refused by the reference: fail"
    )
    labelled = {**check, "pass": True, "unlabelled": {}}
    assert _round_row(labelled, tmp_path) == "liquid 0.210, supercooled 0.180 eV/Å: pass"
    nothing = {"pass": False, "phases": {}, "unlabelled": {"glass": REFUSED}, "reason": REFUSED}
    assert _round_row(nothing, tmp_path) == f"fail: {REFUSED}"
