"""mlmd/analysis/reader_h5md.py: H5MD files of other writers (their units, groups and species),
the MD engine's own writer round-tripped, and damaged files as clear errors."""

import numpy as np
import pytest

from mlmd.analysis import open_trajectory
from mlmd.errors import InputError
from tests.analysis.trajectories import write_generic_h5md


def test_generic_h5md_without_mlmd_groups(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((4, 30, 3)) * 1.5
    species = np.array([1] * 10 + [2] * 20)
    path = tmp_path / "other.h5"
    write_generic_h5md(path, x, np.array([1.5, 1.6, 1.7]), species, 0.05)
    with open_trajectory(path) as r:
        assert r.n_frames == 4 and r.n_atoms == 30
        assert not r.has_images and not r.has_velocities and r.observables() == {}
        assert list(np.unique(r.numbers)) == [-2, -1]  # anonymous kinds type1, type2
        assert np.isnan(r.masses).all()
        frames = list(r.frames(slice(1, None, 2)))
    assert [f.index for f in frames] == [1, 3]
    assert [f.step for f in frames] == [1100, 1300]
    assert frames[1].time_fs == pytest.approx(150.0)
    np.testing.assert_allclose(frames[0].positions, x[1] * 10)
    np.testing.assert_allclose(frames[0].cell, np.diag([15.0, 16.0, 17.0]))
    with open_trajectory(path, species_map={1: "Si", 2: "O"}) as r:
        assert list(r.numbers[[0, 29]]) == [14, 8]
        assert r.masses[0] == pytest.approx(28.085, abs=1e-3)
    with pytest.raises(InputError, match="species value 2"):
        open_trajectory(path, species_map={1: "Si"})


def test_reads_the_md_engines_writer(tmp_path):
    """The MD engine's own H5MD writer (contract 4) round-trips through the reader: species,
    masses, wrapped positions + images → the unwrapped path, velocities, observables."""
    h5md = pytest.importorskip("mlmd.md.h5md")
    rng = np.random.default_rng(8)
    n, cell = 12, np.diag([8.0, 9.0, 10.0])
    species = np.array([14] * 4 + [8] * 8)
    w = h5md.H5MDWriter(
        tmp_path / "md.h5",
        species,
        np.where(species == 14, 28.085, 15.999),
        np.arange(n),
        {"timestep_fs": 1.0},
        velocities=True,
    )
    x = rng.random((n, 3)) * 8
    path = [x]
    for step in range(0, 50, 10):
        frac = x @ np.linalg.inv(cell)
        image = np.floor(frac).astype(int)
        w.write_frame(
            step, float(step), cell, (frac - image) @ cell, image, velocities=np.full((n, 3), 0.1)
        )
        w.write_observables(step, float(step), {"temperature": 300.0 + step})
        x = x + rng.normal(0, 2.0, (n, 3))  # large steps: only images can unwrap these
        path.append(x)
    w.close()
    with open_trajectory(tmp_path / "md.h5") as r:
        assert list(r.numbers) == list(species) and r.has_images and r.has_velocities
        snaps = list(r.frames())
        obs = r.observables()
    assert [s.step for s in snaps] == [0, 10, 20, 30, 40]
    for k, s in enumerate(snaps):
        np.testing.assert_allclose(s.positions + s.image @ cell, path[k], atol=1e-9)
    np.testing.assert_allclose(snaps[3].velocities, 0.1)
    np.testing.assert_allclose(obs["temperature"].value, [300, 310, 320, 330, 340])
    assert obs["temperature"].unit == "K"


@pytest.mark.parametrize("keep", [0.6, 0.98])
def test_a_truncated_trajectory_is_a_clear_error(tmp_path, keep, capsys):
    """A trajectory cut short (a killed copy, a full disk): exit 2 naming the file, not
    HDF5's traceback (issue 15)."""
    from mlmd.cli import main
    from tests.analysis.trajectories import synthetic_sio2_trajectory

    whole = synthetic_sio2_trajectory(tmp_path / "whole.h5", n_formula=20, n_frames=10).read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(InputError, match="truncated or damaged"):
        open_trajectory(cut)
    assert main(["analyze", str(cut), "-o", str(tmp_path / "o"), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "cut.h5" in err and "Traceback" not in err
