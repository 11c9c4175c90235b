"""A validation's MD runs planned once, run elsewhere (here one by one, as a campaign's tasks
do), analysed after: the analysis finds the finished runs and reuses them, and runs no MD."""

import json

import pytest

from mlmd.errors import MlmdError
from mlmd.validate import execute, plan_validation, validate
from tests.validate.conftest import tiny_config

#: A 48-atom liquid, 0.1 + 0.2 ps of 2 fs steps, the model and two reference runs: ~1 s each.
LIQUID = {
    "liquid": {
        "equilibration_ps": 0.1,
        "sampling_ps": 0.2,
        "structure": {"builder": "random_sio2", "n_atoms": 48, "density_g_cm3": 2.2},
    },
    "glass": {"enabled": False},
    "aposteriori": {"enabled": False},
    "analysis": {"diffusion_blocks": 2},
}


def _stamps(runs) -> dict:
    """Per run: the modification times of its record and its thermo log (ns)."""
    return {
        r.name: [(r.directory / f).stat().st_mtime_ns for f in ("run.json", "thermo.log")]
        for r in runs
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(the config, its output directory, its plan with every run executed one by one)."""
    out, cfg = tmp_path_factory.mktemp("planned"), tiny_config(**LIQUID)
    plan = plan_validation("teacher", "teacher", out, config=cfg)
    assert [execute(r)["status"] for r in plan] == ["completed"] * 3
    return cfg, out, plan


def test_the_plan_names_every_run_of_the_validation_in_fixed_directories(tmp_path):
    cfg = tiny_config()
    plan = plan_validation("teacher", "teacher", tmp_path, config=cfg)
    roles = ["model", "reference_1", "reference_2"]
    assert [r.name for r in plan] == [f"{s}/{r}" for s in ("liquid", "glass") for r in roles]
    assert [r.directory for r in plan] == [tmp_path / r.name for r in plan]
    assert plan_validation("teacher", "teacher", tmp_path, config=cfg) == plan  # deterministic
    replicas = tiny_config(aposteriori={"frames_from": "replicas"})
    with_replica = plan_validation("teacher", "teacher", tmp_path, config=replicas)
    assert [r.name for r in with_replica] == [*(r.name for r in plan), "replica/model"]
    only_a = plan_validation("teacher", "teacher", tmp_path, config=replicas, parts=("a",))
    assert [r.name for r in only_a] == ["replica/model"]
    assert not any(r.directory.exists() for r in with_replica)  # planning runs nothing
    for r in with_replica:  # a killed run continues from a checkpoint every ~10 % of it
        every = r.config["output"]["thermo_every"]
        assert r.config["output"]["checkpoint_every"] == max(r.config["steps"] // 10, every)


def test_validate_given_runs_reuses_the_finished_runs_and_runs_no_md(finished, tmp_path):
    cfg, out, plan = finished
    before = _stamps(plan)
    summary = validate("teacher", "teacher", tmp_path / "v", config=cfg, runs=plan)
    assert _stamps(plan) == before  # no record and no MD step written again
    assert set(summary["liquid"]["records"]) == {"model", "reference_1", "reference_2"}
    assert summary["verdict"]["rows"] and "glass" not in summary
    assert json.loads((tmp_path / "v" / "summary.json").read_text()) == summary
    # `mlmd validate` plans the same runs in the same directories: it finds them finished
    again = validate("teacher", "teacher", out, config=cfg, progress=False)
    assert _stamps(plan) == before
    assert again["verdict"]["rows"] == summary["verdict"]["rows"]


def test_validate_given_runs_refuses_runs_that_have_not_finished(finished, tmp_path):
    cfg, _, _ = finished
    plan = plan_validation("teacher", "teacher", tmp_path, config=cfg)
    with pytest.raises(MlmdError, match="liquid model MD in .* has not finished"):
        validate("teacher", "teacher", tmp_path, config=cfg, runs=plan)
    assert not any(r.directory.exists() for r in plan)  # nothing ran
