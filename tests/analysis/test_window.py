"""Analysis windows: by time, by step, by schedule segment of the MD run stored in the file."""

import json

import numpy as np
import pytest

from mlmd.analysis import analyze
from mlmd.analysis.quench import quench_curves
from mlmd.analysis.reader import open_trajectory
from mlmd.analysis.window import Window, segments, select
from mlmd.cli import main
from mlmd.errors import InputError
from tests.analysis.trajectories import random_sio2, write_h5md

#: A melt–quench in miniature: 0.4 ps at 1 fs, hold 3000 K to 0.1 ps, quench to 300 K at
#: 0.3 ps, anneal to the end; a frame every 10 steps (40 frames, t = 0 … 390 fs).
CONFIG = {
    "steps": 400,
    "timestep_fs": 1.0,
    "ensemble": {"kind": "npt", "temperature_K": 3000.0, "pressure_GPa": 0.0},
    "schedule": {"time_ps": [0.0, 0.1, 0.3], "temperature_K": [3000, 3000, 300]},
}


def _trajectory(path, config=CONFIG, n_frames=40):
    """SiO2 whose box edge grows by 0.01 Å per frame, so each frame has its own density."""
    pos, cell, numbers = random_sio2(20, seed=3)
    edges = cell[0, 0] + 0.01 * np.arange(n_frames)
    cells = np.stack([np.eye(3) * e for e in edges])
    positions = np.stack([pos * e / cell[0, 0] for e in edges])
    steps = np.arange(n_frames) * 10
    write_h5md(path, positions, cells, numbers, steps=steps, times_fs=steps * 1.0, config=config)
    volumes = edges**3
    return path, volumes


def test_segments_of_a_schedule():
    segs = segments(CONFIG)
    assert [(s.start_ps, s.end_ps) for s in segs] == [(0.0, 0.1), (0.1, 0.3), (0.3, 0.4)]
    assert segs[1].temperature_K == (3000.0, 300.0)
    assert segs[2].temperature_K == (300.0, 300.0) and segs[2].pressure_GPa == (0.0, 0.0)
    assert [(s.start_ps, s.end_ps) for s in segments({"steps": 50, "timestep_fs": 2.0})] == [
        (0.0, 0.1)
    ]


def test_a_schedule_ending_where_the_run_ends_has_no_sliver_segment():
    """9200 steps × 1 fs is 9.200000000000001 ps in floating point times 1e-3: the last knot
    at 9.2 ps must still end the anneal (the 2-hour SiO2 run lost its glass window to a
    9.2–9.200000000000001 ps segment)."""
    schedule = {"time_ps": [0.0, 3.0, 6.2, 9.2], "temperature_K": [3500, 3500, 300, 300]}
    segs = segments({"schedule": schedule, "steps": 9200, "timestep_fs": 1.0})
    assert [(s.start_ps, s.end_ps) for s in segs] == [(0.0, 3.0), (3.0, 6.2), (6.2, 9.2)]
    for steps, dt in ((700, 3.0), (12345, 0.7), (17, 0.1)):  # any dt: knot = steps × dt
        end = steps * dt / 1e3
        knots = {"time_ps": [0.0, end / 3, end * (1 + 1e-12)], "temperature_K": [1, 1, 1]}
        found = segments({"schedule": knots, "steps": steps, "timestep_fs": dt})
        assert len(found) == 2 and found[-1].end_ps - found[-1].start_ps > 0.1 * end


@pytest.mark.parametrize(
    "window, first, last",
    [
        ("segment:0", 0, 10),  # 0 … 100 fs, both ends included
        ("segment:1", 10, 30),
        ("segment:-1", 30, 39),  # the anneal: 300 … 390 fs
        ("time_ps:0.05:0.2", 5, 20),
        ("time_ps:0.35:", 35, 39),
        ("steps:120:200", 12, 20),
    ],
)
def test_window_picks_exactly_its_frames(tmp_path, window, first, last):
    path, volumes = _trajectory(tmp_path / "t.h5")
    with open_trajectory(path) as reader:
        chosen = select(reader, window, slice(None))
        assert [s.index for s in reader.frames(chosen.selection)] == list(range(first, last + 1))
    summary = analyze(path, tmp_path / "out", window=window, config=_config())
    w = summary["window"]
    assert w["frames"] == last - first + 1 and w["steps"] == [10 * first, 10 * last]
    assert w["kind"] == window.split(":")[0]
    # numbers come from those frames only: the mean volume is theirs
    assert summary["system"]["volume_A3"]["mean"] == pytest.approx(
        volumes[first : last + 1].mean(), rel=1e-12
    )


def test_segment_window_records_the_schedule(tmp_path):
    path, _ = _trajectory(tmp_path / "t.h5")
    out = tmp_path / "out"
    assert main(["analyze", str(path), "-o", str(out), "--segment", "-1", "--no-plots"]) == 0
    w = json.loads((out / "summary.json").read_text())["window"]
    assert (w["start_ps"], w["end_ps"], w["frames"]) == (0.3, 0.4, 10)
    assert w["segment"]["index"] == 2 and w["segment"]["temperature_K"] == [300.0, 300.0]


def test_frames_thin_inside_the_window(tmp_path):
    path, _ = _trajectory(tmp_path / "t.h5")
    s = analyze(path, tmp_path / "out", window="segment:1", config=_config(frames="::5"))
    assert s["window"]["steps"] == [100, 300] and s["window"]["frames"] == 5


def _config(**kw):
    from mlmd.analysis import AnalysisConfig

    return AnalysisConfig(what=("rdf",), plots=False, **kw)


def test_a_run_without_schedule_is_one_segment(tmp_path):
    path, _ = _trajectory(tmp_path / "t.h5", config={"steps": 390, "timestep_fs": 1.0})
    s = analyze(path, tmp_path / "out", window="segment:-1", config=_config())
    assert s["window"]["frames"] == 40


@pytest.mark.parametrize(
    "args, option",
    [
        (["--time-ps", "5:6"], "--time-ps"),
        (["--steps", "10000:"], "--steps"),
        (["--segment", "3"], "--segment"),
        (["--time-ps", "a:b"], "--time-ps"),
    ],
)
def test_a_window_without_frames_exits_2_naming_the_option(tmp_path, capsys, args, option):
    path, _ = _trajectory(tmp_path / "t.h5")
    assert main(["analyze", str(path), "-o", str(tmp_path / "o"), "--no-plots", *args]) == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err


@pytest.mark.parametrize(
    "use, needed_for",
    [
        (lambda r: select(r, Window("segment", segment=0), slice(None)), "--segment"),
        (quench_curves, "the quench curves"),
    ],
)
def test_a_file_without_run_config_is_refused_naming_file_field_and_fix(tmp_path, use, needed_for):
    pos, cell, numbers = random_sio2(10, seed=1)
    path = write_h5md(tmp_path / "plain.h5", pos[None], cell, numbers, mlmd=False)
    with open_trajectory(path) as reader, pytest.raises(InputError) as info:
        use(reader)
    err = info.value
    assert err.message.endswith(f"stores no MD run config (its schedule), needed for {needed_for}")
    assert err.file.endswith("plain.h5") and err.field == "parameters (attribute config)"
    assert "`mlmd md run`" in err.fix
