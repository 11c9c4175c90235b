"""The trajectory is H5MD 1.1 as the spec writes it, and other tools open it: MDAnalysis 2.x
(format="H5MD") and pyh5md 1.2 read positions, velocities and forces equal to mlmd's."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest

from mlmd.analysis.h5md_units import force_factor
from mlmd.md.h5md import FRAME_ELEMENTS
from tests.md.helpers import fcc_crystal, morse_nve_trajectory

#: float32 resolution of positions up to ~10 Å (what MDAnalysis keeps), with margin
FLOAT32_POSITION_A = 1e-5


@pytest.fixture(scope="module")
def trajectory(tmp_path_factory):
    out = tmp_path_factory.mktemp("h5md")
    return morse_nve_trajectory(out, fcc_crystal((2, 2, 2)), pressure_tensor_every=5)


def _address(ds) -> int:
    return h5py.h5o.get_info(ds.id).addr


def _is_fixed_string(obj, name: str) -> bool:
    tid = obj.attrs.get_id(name).get_type()
    return tid.get_class() == h5py.h5t.STRING and not tid.is_variable_str()


def test_h5md_header_author_creator_units_module(trajectory):
    with h5py.File(trajectory) as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        for group, names in (("h5md/author", ["name"]), ("h5md/creator", ["name", "version"])):
            for name in names:
                assert _is_fixed_string(f[group], name), f"{group}/{name}"
        assert f["h5md/creator"].attrs["name"] == b"mlmd"
        assert list(f["h5md/modules/units"].attrs["version"]) == [1, 0]


def test_frame_elements_share_positions_step_and_time_by_hard_link(trajectory):
    with h5py.File(trajectory) as f:
        p = f["particles/all"]
        for name in FRAME_ELEMENTS:
            for key in ("step", "time"):
                assert _address(p[f"{name}/{key}"]) == _address(p[f"position/{key}"]), name
        assert list(p["position/step"][()]) == [0, 5, 10, 15, 20]
        assert p["image/value"].shape[0] == p["force/value"].shape[0] == 5


def test_one_unit_string_convention(trajectory):
    """Every unit attribute in the H5MD units module's syntax: symbols with optional integer
    powers, separated by single spaces (no '/', '^', lower-case 'angstrom')."""
    token = r"[A-Za-z]+(-?[0-9]+)?"
    units = []

    def collect(name, obj) -> None:
        if "unit" in obj.attrs:
            units.append((name, obj.attrs["unit"]))

    with h5py.File(trajectory) as f:
        f.visititems(collect)
    assert len(units) > 10
    for name, unit in units:
        unit = unit.decode() if isinstance(unit, bytes) else unit
        assert re.fullmatch(f"{token}( {token})*", unit) and "angstrom" not in unit, (name, unit)


def test_mdanalysis_reads_positions_velocities_forces(trajectory):
    import MDAnalysis as mda

    with h5py.File(trajectory) as f:
        p = f["particles/all"]
        pos, vel, frc = (p[f"{k}/value"][()] for k in ("position", "velocity", "force"))
        frc_eV = frc * force_factor(p["force/value"].attrs["unit"], "t", "force")
        n = pos.shape[1]
    u = mda.Universe.empty(n, trajectory=True)
    u.load_new(str(trajectory), format="H5MD")
    assert u.trajectory.n_frames == 5
    assert u.trajectory.units["force"] == "kJ/(mol*Angstrom)"
    for k, ts in enumerate(u.trajectory):
        assert ts.has_velocities and ts.has_forces
        assert np.abs(ts.positions - pos[k]).max() < FLOAT32_POSITION_A
        # MDAnalysis's own units: Å/ps and kJ/(mol Å)
        assert np.allclose(ts.velocities, vel[k] * 1e3, rtol=1e-6, atol=1e-4)
        assert np.allclose(ts.forces, frc[k], rtol=1e-6, atol=1e-4)
    assert np.abs(frc_eV).max() > 0


def test_pyh5md_reads_it(trajectory):
    import pyh5md

    with h5py.File(trajectory) as f:
        pos = f["particles/all/position/value"][()]
    with pyh5md.File(str(trajectory), "r") as f:
        g = f.particles_group("all")
        position = pyh5md.element(g, "position")
        assert np.array_equal(position.value[()], pos)
        assert list(position.step[()]) == [0, 5, 10, 15, 20]
        assert pyh5md.element(g, "velocity").value.shape == pos.shape
        assert pyh5md.element(g, "force").value.shape == pos.shape
        assert pyh5md.element(g["box"], "edges").value.shape == (5, 3, 3)
        assert f["h5md/author"].attrs["name"]
