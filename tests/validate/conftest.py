"""Tiny validations shared by the tests: the teacher against itself (liquid and glass), run
once per session; a deliberately wrong model (the teacher with its charges scaled)."""

from pathlib import Path

import pytest

from mlmd.config import from_mapping
from mlmd.potential.vashishta_file import NKV1994
from mlmd.validate import ValidateConfig, validate

#: 192-atom liquid (2 fs steps, 0.1 ps + 0.6 ps) and a 96-atom 0.5 ps melt–quench: ~2 s each.
TINY = {
    "md": {"timestep_fs": 2.0, "output_every_fs": 20.0, "device": "cpu", "torch_threads": 1},
    "liquid": {
        "equilibration_ps": 0.1,
        "sampling_ps": 0.6,
        "structure": {"builder": "random_sio2", "n_atoms": 192, "density_g_cm3": 2.2},
    },
    "glass": {
        "time_ps": [0.0, 0.1, 0.3, 0.5],
        "temperature_K": [4000.0, 4000.0, 300.0, 300.0],
        "pressure_GPa": [4.0, 4.0, 0.0, 0.0],
        "structure": {"builder": "random_sio2", "n_atoms": 96, "density_g_cm3": 2.2},
    },
    # first peaks of 31 frames of 192 atoms scatter by ~0.1 Å between seeds
    "tolerances": {"first_peak_A": 0.12},
    "aposteriori": {"frames_per_phase": 3},
}


def tiny_config(**sections) -> ValidateConfig:
    data = {**TINY, **sections}
    return from_mapping(ValidateConfig, data, source="<tiny validate config>")


def scaled_teacher(path: Path, charge_scale: float) -> Path:
    """A LAMMPS *.vashishta file of the NKV 1994 teacher with every charge scaled."""
    lines = []
    for key, params in NKV1994.items():
        p = [float(x) for x in params]
        p[2] *= charge_scale
        p[3] *= charge_scale
        lines.append(" ".join(key) + " " + " ".join(repr(x) for x in p))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def teacher_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("validate-teacher")


@pytest.fixture(scope="session")
def teacher_summary(teacher_dir) -> dict:
    """The teacher validated against itself: parts (b) and (a)."""
    return validate("teacher", "teacher", teacher_dir, config=tiny_config(), progress=False)
