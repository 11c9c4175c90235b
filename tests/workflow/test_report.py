"""The campaign report's verdict sections (mlmd.workflow.report) for a validation that could
not run: the report says FAIL and that nothing is checked, first."""

from mlmd.workflow.report import model_vs_experiment, verdict

ERROR = "InputError: labelled.h5: status: every liquid frame failed its reference calculation"


def test_a_validation_that_could_not_run_is_a_plain_fail(tmp_path):
    record = {"validation_error": ERROR, "analyses": []}
    lines = verdict(record, tmp_path)
    assert lines[0] == "## Validation of the model against its reference: FAIL"
    assert ERROR in lines[2] and "not trustworthy" in lines[2]
    assert any("FAILED its validation" in line for line in model_vs_experiment(record))
    assert verdict({}, tmp_path)[2].startswith("No validation stage ran")
