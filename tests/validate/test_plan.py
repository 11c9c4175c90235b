"""A validation's MD runs planned once, run elsewhere (here one by one, as a campaign's tasks
do), analysed after: the analysis finds the finished runs and reuses them, and runs no MD."""

import json
import re

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
    for r in plan:  # <state>/<role>-<digest of what the run is>
        assert r.directory.parent == tmp_path / r.state
        assert re.fullmatch(f"{r.role}-[0-9a-f]{{12}}", r.directory.name)
    assert plan_validation("teacher", "teacher", tmp_path, config=cfg) == plan  # deterministic
    replicas = tiny_config(aposteriori={"frames_from": "replicas"})
    with_replica = plan_validation("teacher", "teacher", tmp_path, config=replicas)
    assert [r.name for r in with_replica] == [*(r.name for r in plan), "replica/model"]
    assert [r.directory for r in with_replica[:-1]] == [r.directory for r in plan]
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


def _directories(plan) -> dict[str, str]:
    return {r.name: r.directory.name for r in plan}


def test_a_run_directory_names_what_the_run_is(tmp_path):
    """The model's runs follow its files (a model retrained in place gets new runs); the
    reference's runs follow the reference's settings, never the model (another model's
    validation reuses them); neither depends on anything else the validation does."""
    cfg = tiny_config(**LIQUID)
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights").write_bytes(b"first")
    first = _directories(plan_validation(str(model), "teacher", tmp_path, config=cfg))
    (model / "weights").write_bytes(b"retrained")
    retrained = _directories(plan_validation(str(model), "teacher", tmp_path, config=cfg))
    assert retrained["liquid/model"] != first["liquid/model"]
    refs = ("liquid/reference_1", "liquid/reference_2")
    assert all(retrained[r] == first[r] for r in refs)

    def plan_with(settings: dict) -> dict[str, str]:
        plan = plan_validation(
            str(model), "teacher", tmp_path, config=cfg, reference_config=settings
        )
        return _directories(plan)

    assert plan_with({"batch_atoms": 1000}) == retrained  # how it labels is not what it is
    other = plan_with({"potential": "vashishta1994"})
    assert other["liquid/model"] == retrained["liquid/model"]
    assert all(other[r] != first[r] for r in refs)
