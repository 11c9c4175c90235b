"""The campaign's validate stage on the real Parsl site of sites/local.toml (teacher against
itself, tiny sizes): its plan, one task per MD run (submitted together by ``Campaign.many``;
whether two of these ~1 s runs overlap on the site's two workers depends on the machine's
load, so it is not asserted), and a final task that analyses the finished runs, running no
MD; a rerun reuses every step."""

import dataclasses
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The quickstart's settings with the teacher and the tiny sizes of test_quickstart.py.
TINY = {
    "reference": "teacher",
    "production": {
        "melt_K": 1000.0,
        "melt_hold_ps": 0.02,
        "quench_rates_K_ps": [70000.0],
        "anneal_ps": 0.05,
    },
    "validation": {
        "atoms": 96,
        "equilibration_ps": 0.02,
        "sampling_ps": 0.1,
        "output_every_fs": 5.0,
        "frames_per_phase": 2,
    },
}


def _campaign(run_dir: Path):
    from campaigns.glass import prepare
    from campaigns.quickstart import PRESET
    from campaigns.runner import Campaign
    from mlmd.sites import load_site, merge_sites
    from mlmd.workflow.config import campaign_config, merge

    cfg = campaign_config(merge(PRESET, TINY), "quickstart preset + test")
    material, plan = prepare(cfg)
    site = load_site(ROOT / "sites/local.toml")
    return Campaign("test", cfg, material, plan, run_dir, merge_sites([site])), site


def _runs(run_dir: Path) -> dict:
    """Per MD run of the validation: (start, end) of its MD (its lock file's and record's
    modification times, ns) and when its step was marked done."""
    out = {}
    for step in (run_dir / "steps").glob("validate_run-*"):
        result = json.loads((step / "done.json").read_text())
        directory = Path(result["config"]["output"]["directory"])
        assert directory.parent.parent == run_dir / "validation_runs"  # <state>/<role>-<digest>
        start = (directory / ".mlmd-md.lock").stat().st_mtime_ns
        end = (directory / "run.json").stat().st_mtime_ns
        out[result["run"]] = (start, end, (step / "done.json").stat().st_mtime_ns)
    return out


@pytest.mark.slow
def test_each_validation_md_run_is_its_own_task_and_the_final_task_reuses_them(
    tmp_path, monkeypatch
):
    import parsl

    from apps.parsl_config import parsl_config
    from campaigns import stages
    from campaigns.runner import Out

    monkeypatch.setenv("MLMD_PARSL_LINKS", str(tmp_path / "links"))
    run_dir = tmp_path / "run"
    model = Out("teacher", "teacher")  # the teacher validated against itself
    c, site = _campaign(run_dir)
    with parsl.load(parsl_config([site], c.run_dir)):
        first = stages.validation(c, model, [])
        runs = _runs(run_dir)
        (done,) = (run_dir / "steps").glob("validate-*/done.json")
        done.unlink()  # as if the campaign were killed in the final task
        second = stages.validation(_campaign(run_dir)[0], model, [])
    roles = ["model", "reference_1", "reference_2"]
    assert sorted(runs) == sorted(f"{s}/{r}" for s in ("liquid", "glass") for r in roles)
    # the final task found every run finished: no record rewritten after its step was done
    assert _runs(run_dir) == runs
    assert all(end <= marked for _, end, marked in runs.values())
    for summary in (first["summary"], second["summary"]):
        assert {"liquid", "glass", "aposteriori"} <= set(summary)
        assert set(summary["liquid"]["records"]) == set(roles)
        assert {r["part"] for r in summary["verdict"]["rows"]} >= {"liquid", "glass"}
    assert first["summary"]["verdict"]["rows"] == second["summary"]["verdict"]["rows"]
    status = json.loads((run_dir / "status.json").read_text())["stages"]
    assert status["validate_run"] == {"reused": 6} and status["validate_plan"] == {"reused": 1}
    assert status["validate"] == {"done": 1}
    # a rerun of the finished campaign reuses the validation whole: no Parsl, nothing runs
    third = stages.validation(_campaign(run_dir)[0], model, [])
    assert third == second and _runs(run_dir) == runs
    # other glass rows: a new validate step, no MD run again (the runs are keyed by what
    # they are, not by the validate step)
    c = _campaign(run_dir)[0]
    rows = {**c.plan.glass_rows, "tolerances": {**c.plan.glass_rows["tolerances"]}}
    rows["tolerances"]["coordination_mean"] *= 2
    c.plan = dataclasses.replace(c.plan, glass_rows=rows)
    with parsl.load(parsl_config([site], c.run_dir)):
        fourth = stages.validation(c, model, [])
    assert fourth["out_dir"] != second["out_dir"] and _runs(run_dir) == runs
    status = json.loads((run_dir / "status.json").read_text())["stages"]
    assert status["validate_run"] == {"reused": 6} and status["validate"] == {"done": 1}
