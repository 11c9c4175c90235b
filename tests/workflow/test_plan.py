"""A campaign's settings are checked, and its MD runs planned, before anything runs."""

from pathlib import Path

import numpy as np
import pytest

from campaigns.quickstart import PRESET
from mlmd.config import load_toml
from mlmd.errors import ConfigError
from mlmd.materials import load_material
from mlmd.md.config import config_from_mapping, load_config
from mlmd.workflow.config import campaign_config, merge, to_toml
from mlmd.workflow.plan import (
    explore_starts,
    member_train_config,
    plan_campaign,
    production_starts,
    supercell,
    with_paths,
)

ROOT = Path(__file__).resolve().parents[2]
SIO2 = load_material(ROOT / "campaigns/materials/sio2.toml")


def _frames_in(config: dict, segment: int) -> int:
    """Trajectory frames written inside schedule segment ``segment`` (ends included)."""
    dt_ps = config["timestep_fs"] / 1000
    times = np.array(config["schedule"]["time_ps"])
    steps = np.arange(0, config["steps"] + 1, config["output"]["trajectory_every"])
    t = steps * dt_ps
    lo, hi = times[segment], times[segment + 1]
    return int(np.sum((t >= lo - 1e-9) & (t <= hi + 1e-9)))


@pytest.mark.parametrize("anneal_ps, frames", [(0.3, 20), (0.02, 20), (20.0, 25)])
def test_production_output_puts_enough_frames_in_the_anneal_and_the_melt(anneal_ps, frames):
    cfg = campaign_config(
        merge(PRESET, {"production": {"anneal_ps": anneal_ps, "glass_frames": frames}}), "test"
    )
    plan = plan_campaign(cfg, SIO2)
    (run,) = plan.production
    assert _frames_in(run.config, -2) >= frames  # the anneal: the glass window
    assert _frames_in(run.config, 0) >= frames  # the melt hold: the liquid window
    assert run.config["schedule"]["temperature_K"] == [3500.0, 3500.0, 300.0, 300.0]
    assert run.config["schedule"]["pressure_GPa"] == [4.0, 4.0, 0.0, 0.0]  # the material's


def test_every_planned_run_round_trips_through_its_toml_file(tmp_path):
    cfg = campaign_config(PRESET, "quickstart preset")
    plan = plan_campaign(cfg, SIO2)
    assert [r.tag for r in plan.explore] == ["run0-langevin", "run1-langevin"]
    assert [r.tag for r in plan.production] == ["2500K/ps-r0"]
    for run in (*plan.explore, *plan.production):
        config = with_paths(run.config, model="m", starts="s.h5", output=str(tmp_path / "o p"))
        path = tmp_path / "md.toml"
        path.write_text(to_toml(config))
        assert load_config(path) == config_from_mapping(config)
        assert load_toml(path)["output"]["directory"] == str(tmp_path / "o p" / "md")
        assert load_toml(path)["potential"] == "m"


@pytest.mark.parametrize(
    "override, field",
    [
        ({"production": {"atoms": 0}}, "production"),
        ({"explore": {"sigma_hi_eV_A": 0.01}}, "explore"),
        ({"explore": {"sigma_lo": 0.1}}, "explore.sigma_lo"),
        ({"train": {"epoch": 3}}, "train.epoch"),
        ({"production": {"quench_rates_K_ps": [-1.0]}}, "production"),
        ({"itterations": 2}, "itterations"),
    ],
)
def test_bad_settings_name_the_source_and_the_key(override, field):
    with pytest.raises(ConfigError) as err:
        campaign_config(merge(PRESET, override), "quickstart preset")
    assert "quickstart preset" in str(err.value) and field in str(err.value)


def test_supercells_are_near_cubic_and_big_enough():
    cristobalite = np.eye(3) * 7.16
    assert supercell(cristobalite, 24, 1002) == (4, 4, 3)
    quartz = SIO2.crystals["quartz"]
    assert quartz.cellpar is not None
    from mlmd.materials import crystal_structure

    unit = crystal_structure(SIO2, "quartz", (1, 1, 1))
    repeat = supercell(unit.cell, 9, 3000)
    assert np.prod(repeat) * 9 >= 3000 and np.prod(repeat) * 9 < 3000 * 1.3


def test_production_starts_from_the_crystal_or_random_insertion():
    crystal = {"start": "crystal", "crystal": "cristobalite", "replicas": 2}
    cfg = campaign_config(merge(PRESET, {"production": crystal}), "t")
    frames = production_starts(cfg, SIO2)
    assert len(frames) == 2 and frames[0].n_atoms == 1152
    cfg = campaign_config(merge(PRESET, {"production": {"start": "random", "atoms": 96}}), "t")
    (frame,) = production_starts(cfg, SIO2)
    assert frame.n_atoms == 96 and sorted(set(frame.numbers)) == [8, 14]


def test_exploration_follows_the_production_path_in_small_cells():
    explore = {"runs": 3, "steps": 400, "paths": ["melt_quench", "melt", "langevin"], "atoms": 72}
    cfg = campaign_config(merge(PRESET, {"explore": explore}), "t")
    plan = plan_campaign(cfg, SIO2)
    mq, melt, nvt = (run.config for run in plan.explore)
    production = plan.production[0].config["schedule"]
    # the production schedule, compressed in time to the run's 400 steps (0.4 ps)
    assert mq["schedule"]["temperature_K"] == production["temperature_K"]
    assert mq["schedule"]["pressure_GPa"] == production["pressure_GPa"]
    assert mq["schedule"]["time_ps"][-1] == pytest.approx(0.4)
    ratio = np.array(mq["schedule"]["time_ps"][1:]) / np.array(production["time_ps"][1:])
    assert np.allclose(ratio, ratio[0])
    assert mq["ensemble"]["kind"] == "npt" and "schedule" not in melt
    assert (melt["ensemble"]["temperature_K"], melt["ensemble"]["pressure_GPa"]) == (3500.0, 4.0)
    assert nvt["ensemble"] == {"kind": "langevin", "temperature_K": 1500.0, "damping_fs": 100.0}
    assert _frames_in(mq, -2) >= 2  # its anneal is in the trajectory: glass-like frames
    frames = explore_starts(cfg, SIO2)
    assert [f.n_atoms for f in frames] == [72] * 3
    assert len({f.key for f in frames}) == 3


def test_unknown_exploration_path_is_refused():
    with pytest.raises(ConfigError, match="explore.paths: 'quench'"):
        campaign_config(merge(PRESET, {"explore": {"paths": ["quench"]}}), "t")


def test_validation_and_property_stages_are_checked_up_front(tmp_path):
    from mlmd.properties import load_properties_config
    from mlmd.workflow.plan_stages import properties_config, stop_spec, validation_config

    cfg = campaign_config(PRESET, "quickstart preset")
    v = validation_config(cfg, SIO2)
    assert v.liquid.temperature_K == 3500.0 and v.glass.time_ps[-1] == pytest.approx(2.08)
    assert v.analysis.cutoffs_A == {"Si-O": 2.3}  # the material's bond cutoffs
    assert stop_spec(cfg).frames_from == "trajectories"
    assert properties_config(cfg) is None  # no [properties]: no stage
    props = {"bulk_modulus": {"temperature_K": 300.0, "production_ps": 2.0}}
    cfg = campaign_config(merge(PRESET, {"properties": props}), "t")
    mapping = with_paths(properties_config(cfg), model="m", starts="", output=str(tmp_path))
    mapping["structure"] = {"trajectory": "glass.h5"}
    (tmp_path / "p.toml").write_text(to_toml(mapping))
    loaded = load_properties_config(tmp_path / "p.toml")
    assert loaded.md.potential == "m" and loaded.bulk_modulus.production_ps == 2.0
    for bad, field in [
        ({"validation": {"tolerances": {"pressure": 1.0}}}, "tolerances.pressure"),
        ({"properties": {"viscosty": {}}}, "viscosty"),
        ({"properties": {"md": {"potential": "teacher"}}}, "properties.md.potential"),
    ]:
        cfg = campaign_config(merge(PRESET, bad), "t")
        with pytest.raises(ConfigError, match=field):
            validation_config(cfg, SIO2) if "validation" in bad else properties_config(cfg)


def test_the_final_model_trains_for_its_own_budget():
    rounds_s = PRESET["train"]["time_budget_s"]
    cfg = campaign_config(merge(PRESET, {"seed": 3, "final_time_budget_s": 400.0}), "test")
    it = member_train_config(cfg, final=False, init_from="m")
    final = member_train_config(cfg, final=True, init_from="m")
    assert it.time_budget_s == rounds_s and final.time_budget_s == 400.0
    assert it.seed == final.seed == cfg.train.seed + 3 and final.init_from == "m"
    unset = campaign_config(PRESET, "test")
    assert member_train_config(unset, final=True).time_budget_s == rounds_s
    with pytest.raises(ConfigError, match="final_time_budget_s"):
        campaign_config(merge(PRESET, {"final_time_budget_s": -1.0}), "test")
