"""Phases of a production run from its stored schedule, and the frames in each window."""

import numpy as np
import pytest

from mlmd.validate.phases import frames_in, phase_windows

MELT_QUENCH = {
    "steps": 30000,
    "timestep_fs": 1.0,
    "ensemble": {"temperature_K": 4000.0},
    "schedule": {
        "time_ps": [0.0, 10.0, 20.0, 30.0],
        "temperature_K": [4000.0, 4000.0, 300.0, 300.0],
        "pressure_GPa": [4.0, 4.0, 0.0, 0.0],
    },
}


def test_melt_quench_schedule_gives_liquid_supercooled_and_glass():
    w = phase_windows(MELT_QUENCH)
    assert w["liquid"] == (5.0, 10.0)  # the second half of the melt hold
    assert w["supercooled"] == pytest.approx((10.0, 15.0))  # down to the middle, 2150 K
    assert w["glass"] == (20.0, 30.0)
    w = phase_windows(MELT_QUENCH, glass_transition_K=1150.0)
    assert w["supercooled"] == pytest.approx((10.0, 10.0 + 10.0 * 2850.0 / 3700.0))


def test_schedule_without_anneal_has_no_glass_and_constant_runs_are_one_phase():
    schedule = {"time_ps": [0, 10, 20], "temperature_K": [4000, 4000, 300]}
    cfg = {**MELT_QUENCH, "steps": 20000, "schedule": schedule}
    assert set(phase_windows(cfg)) == {"liquid", "supercooled"}
    # a run longer than its schedule holds the last temperature: that is an anneal
    assert phase_windows({**cfg, "steps": 25000})["glass"] == (20.0, 25.0)
    const = {"steps": 2000, "timestep_fs": 2.0, "ensemble": {"temperature_K": 300.0}}
    assert phase_windows(const) == {"liquid": (2.0, 4.0)}
    assert phase_windows(const, glass_transition_K=1500.0) == {"glass": (2.0, 4.0)}


def test_frames_in_picks_only_frames_inside_the_window_evenly():
    times = np.arange(0, 30.001, 0.5)
    picked = frames_in(times, (20.0, 30.0), 5)
    assert len(picked) == 5
    assert times[picked].min() >= 20.0 and times[picked].max() <= 30.0
    assert times[picked[0]] == 20.0 and times[picked[-1]] == 30.0
    assert list(frames_in(times, (20.0, 21.0), 10)) == [40, 41, 42]
    assert len(frames_in(times, (20.1, 20.4), 10)) == 0


def test_supercooled_window_ends_at_the_enthalpy_kink_of_the_quench(tmp_path):
    """A real mlmd H5MD file whose quench has a kink in E_pot(T) at 2000 K: the supercooled
    frames stop there, not at the middle of the range (2150 K); they start after the melt
    hold's last frame, which is the liquid's."""
    from mlmd.analysis.reader import open_trajectory
    from mlmd.data.build import random_sio2
    from mlmd.md.h5md import H5MDWriter
    from mlmd.validate.aposteriori import quench_glass_transition, sample_frames
    from mlmd.validate.config import APosterioriSpec

    frame = random_sio2(24, 2.2, seed=1)
    path = tmp_path / "t.h5"
    writer = H5MDWriter(path, frame.numbers, np.ones(24), np.arange(24), MELT_QUENCH)
    rng = np.random.default_rng(0)
    for step in range(0, 30001, 250):
        t_ps = step / 1e3
        temp = float(np.interp(t_ps, [0, 10, 20, 30], [4000, 4000, 300, 300]))
        slope = 3e-4 if temp > 2000 else 1e-4  # eV/atom/K: liquid steeper than glass
        epot = 24 * (-7.0 + 1e-4 * (temp - 2000) + (slope - 1e-4) * max(temp - 2000, 0))
        epot += rng.normal(scale=0.002)
        writer.write_observables(step, float(step), {"temperature": temp, "potential_energy": epot})
        if step % 500 == 0:
            writer.write_frame(step, float(step), frame.cell, frame.positions, np.zeros((24, 3)))
    writer.close()
    with open_trajectory(path) as reader:
        tg = quench_glass_transition(reader, MELT_QUENCH)
    assert tg["tg_K"] == pytest.approx(2000, abs=50)
    windows = {}
    frames = sample_frames([path], APosterioriSpec(frames_per_phase=50), windows)
    used = windows[str(path)]
    assert used["glass_transition"]["source"] == "enthalpy kink of the quench"
    end = used["windows_ps"]["supercooled"][1]
    assert end == pytest.approx(10 + 10 * 2000 / 3700, abs=0.2)
    # frames every 0.5 ps; the one at 10 ps ends the melt hold and is the liquid's alone
    assert len(frames["supercooled"]) == int(end / 0.5) - 20
    assert len(frames["glass"]) == 21 and len(frames["liquid"]) == 11
    steps = [f.source.rsplit("step ", 1)[1] for fs in frames.values() for f in fs]
    assert len(steps) == len(set(steps))  # no frame counts in two phases
    assert frames["liquid"][-1].source.endswith("step 10000")


@pytest.mark.parametrize(("step_A", "phase"), [(0.02, "glass"), (0.3, "liquid")])
def test_a_run_at_one_temperature_is_liquid_when_its_atoms_move(tmp_path, step_A, phase):
    """No schedule, no T_g: atoms that random-walk (0.3 Å per frame, 40 frames) make a
    liquid; atoms that only jitter about their sites (±0.02 Å) a glass."""
    from mlmd.data.build import random_sio2
    from mlmd.md.h5md import H5MDWriter
    from mlmd.validate.aposteriori import sample_frames
    from mlmd.validate.config import APosterioriSpec

    frame = random_sio2(24, 2.2, seed=2)
    config = {"steps": 4000, "timestep_fs": 1.0, "ensemble": {"temperature_K": 1500.0}}
    path = tmp_path / "t.h5"
    writer = H5MDWriter(path, frame.numbers, np.full(24, 20.0), np.arange(24), config)
    rng = np.random.default_rng(3)
    walk = np.zeros((24, 3))
    for step in range(0, 4001, 100):
        walk = walk + rng.normal(scale=step_A, size=(24, 3)) if phase == "liquid" else 0.0
        jitter = rng.normal(scale=step_A, size=(24, 3)) if phase == "glass" else 0.0
        pos = frame.positions + walk + jitter
        image = np.floor(pos @ np.linalg.inv(frame.cell)).astype(int)
        wrapped = pos - image @ frame.cell
        writer.write_frame(step, float(step), frame.cell, wrapped, image)
    writer.close()
    windows = {}
    frames = sample_frames([path], APosterioriSpec(frames_per_phase=4), windows)
    assert list(frames) == [phase] and len(frames[phase]) == 4
    assert windows[str(path)]["windows_ps"] == {phase: (2.0, 4.0)}
    assert "MSD" in windows[str(path)]["glass_transition"]["source"]


def _one_temperature_run(path, last_step: int) -> None:
    """A 4000-step run at 1500 K with frames every 100 steps up to ``last_step``, and one at
    ``last_step`` (what a run stopped there writes last)."""
    from mlmd.data.build import random_sio2
    from mlmd.md.h5md import H5MDWriter

    frame = random_sio2(24, 2.2, seed=2)
    config = {"steps": 4000, "timestep_fs": 1.0, "ensemble": {"temperature_K": 1500.0}}
    writer = H5MDWriter(path, frame.numbers, np.full(24, 20.0), np.arange(24), config)
    rng = np.random.default_rng(3)
    for step in sorted({*range(0, last_step + 1, 100), last_step}):
        pos = frame.positions + rng.normal(scale=0.02, size=(24, 3))
        writer.write_frame(step, float(step), frame.cell, pos, np.zeros((24, 3), dtype=int))
    writer.close()


def test_a_run_that_stopped_before_its_window_gives_no_frames_and_is_named_when_alone(tmp_path):
    """An exploration stopped at step 20 (spread past its limit) beside one that completed:
    frames from the completed run only, the stopped one recorded as such; alone, an
    InputError naming it, not an IndexError."""
    from mlmd.errors import InputError
    from mlmd.validate.aposteriori import sample_frames
    from mlmd.validate.config import APosterioriSpec

    stopped, done = tmp_path / "stopped.h5", tmp_path / "done.h5"
    _one_temperature_run(stopped, 20)
    _one_temperature_run(done, 4000)
    windows = {}
    frames = sample_frames([stopped, done], APosterioriSpec(frames_per_phase=4), windows)
    assert list(frames) == ["glass"] and len(frames["glass"]) == 4
    assert all(str(done) in f.source for f in frames["glass"])
    assert windows[str(stopped)]["stopped_early"] and windows[str(stopped)]["windows_ps"] == {}
    assert not windows[str(done)]["stopped_early"]
    with pytest.raises(InputError, match="1 of the runs stopped before") as info:
        sample_frames([stopped], APosterioriSpec(frames_per_phase=4), {})
    assert "stopped.h5" in str(info.value)


def test_a_melt_quench_stopped_in_its_melt_fails_the_phases_it_never_reached(tmp_path):
    """A melt–quench exploration stopped at 9 ps, in its melt hold: its liquid frames count;
    the supercooled and glass windows it never reached are failed rows of the a-posteriori
    verdict, not an error, when no other run reached them either."""
    from mlmd.data.build import random_sio2
    from mlmd.md.h5md import H5MDWriter
    from mlmd.validate.aposteriori import aposteriori_rows, sample_frames, unreached_phases
    from mlmd.validate.config import APosterioriSpec

    frame = random_sio2(24, 2.2, seed=1)
    path = tmp_path / "stopped_mq.h5"
    writer = H5MDWriter(path, frame.numbers, np.ones(24), np.arange(24), MELT_QUENCH)
    for step in [*range(0, 9000, 500), 9020]:
        writer.write_frame(step, float(step), frame.cell, frame.positions, np.zeros((24, 3)))
    writer.close()
    spec = APosterioriSpec(frames_per_phase=5, glass_transition_K=2000.0)
    windows = {}
    frames = sample_frames([path], spec, windows)
    assert list(frames) == ["liquid"] and len(frames["liquid"]) == 5
    assert windows[str(path)]["not_reached"] == ["supercooled", "glass"]
    unreached = unreached_phases(windows, frames)
    assert set(unreached) == {"supercooled", "glass"}
    rows = aposteriori_rows({"phases": {}, "unreached": unreached})
    assert [(r.part, r.passed) for r in rows] == [
        ("a-posteriori supercooled", False),
        ("a-posteriori glass", False),
    ]


def test_a_trajectory_without_run_config_is_refused_before_anything_is_computed(tmp_path):
    from mlmd.errors import InputError
    from mlmd.validate.aposteriori import check_trajectories
    from mlmd.validate.config import APosterioriSpec
    from tests.analysis.trajectories import random_sio2, write_h5md

    pos, cell, numbers = random_sio2(10, seed=1)
    path = write_h5md(tmp_path / "plain.h5", pos[None], cell, numbers, mlmd=False)
    with pytest.raises(InputError, match="needed for the a-posteriori phase windows") as info:
        check_trajectories([path], APosterioriSpec())
    assert info.value.field == "parameters (attribute config)" and "plain.h5" in str(info.value)
