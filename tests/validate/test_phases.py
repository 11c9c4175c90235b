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


def test_a_run_at_one_temperature_that_stopped_before_its_window_is_a_clear_error(tmp_path):
    """An exploration stopped at its first frame (spread past its limit): an InputError
    naming the file, not an IndexError."""
    from mlmd.data.build import random_sio2
    from mlmd.errors import InputError
    from mlmd.md.h5md import H5MDWriter
    from mlmd.validate.aposteriori import sample_frames
    from mlmd.validate.config import APosterioriSpec

    frame = random_sio2(24, 2.2, seed=2)
    config = {"steps": 4000, "timestep_fs": 1.0, "ensemble": {"temperature_K": 1500.0}}
    path = tmp_path / "stopped.h5"
    writer = H5MDWriter(path, frame.numbers, np.full(24, 20.0), np.arange(24), config)
    writer.write_frame(0, 0.0, frame.cell, frame.positions, np.zeros((24, 3), dtype=int))
    writer.close()
    with pytest.raises(InputError, match="holds no frame") as info:
        sample_frames([path], APosterioriSpec(frames_per_phase=4), {})
    assert "stopped.h5" in str(info.value)


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
