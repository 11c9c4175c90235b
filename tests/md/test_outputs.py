"""H5MD layout (contract 4), teacher NVE, ensemble uncertainty and the safety checks."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from mlmd.errors import InputError
from mlmd.md import MDSafetyError, run_md
from tests.md.helpers import Morse, fcc_crystal


def config(tmp_path, **over):
    cfg = {
        "steps": 40,
        "timestep_fs": 1.0,
        "seed": 5,
        "skin_A": 0.5,
        "torch_threads": 1,
        "initial_temperature_K": 300.0,
        "structure": {"builder": "sio2_crystal", "crystal": "cristobalite", "repeat": [2, 2, 2]},
        "ensemble": {"kind": "nve"},
        "output": {
            "directory": str(tmp_path),
            "thermo_every": 10,
            "trajectory_every": 20,
            "checkpoint_every": 0,
            "velocities": True,
            "forces": True,
        },
    }
    for key, value in over.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def test_h5md_layout_and_teacher_nve(tmp_path):
    summary = run_md(config(tmp_path, potential="teacher", steps=100), echo=False)
    assert summary["status"] == "completed" and summary["n_atoms"] == 192
    with h5py.File(tmp_path / "trajectory.h5") as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert f["h5md/creator"].attrs["name"] == b"mlmd"  # fixed-length, as H5MD says
        p = f["particles/all"]
        assert p["box"].attrs["dimension"] == 3
        assert [b.decode() if isinstance(b, bytes) else b for b in p["box"].attrs["boundary"]] == [
            "periodic"
        ] * 3
        assert p["box/edges/value"].shape == (6, 3, 3)
        assert list(p["position/step"][()]) == [0, 20, 40, 60, 80, 100]
        assert np.allclose(p["position/time"][()], p["position/step"][()] * 1.0)
        assert p["position/value"].shape == (6, 192, 3)
        assert p["image/value"].dtype == np.int32
        assert p["velocity/value"].attrs["unit"] and p["force/value"].shape == (6, 192, 3)
        assert list(p["id"][()]) == list(range(192))
        assert set(p["species"][()]) == {8, 14} and p["mass"].dtype == np.float64
        cell = p["box/edges/value"][-1]
        frac = p["position/value"][-1] @ np.linalg.inv(cell)
        assert (frac >= 0).all() and (frac < 1).all()
        for name in (
            "potential_energy",
            "kinetic_energy",
            "total_energy",
            "temperature",
            "pressure",
            "volume",
            "density",
            "conserved_energy",
        ):
            g = f[f"observables/{name}"]
            assert g["value"].shape == g["step"].shape == g["time"].shape == (11,)
            assert g["value"].attrs["unit"]
        json.loads(f["parameters"].attrs["config"])
        e = f["observables/total_energy/value"][()]
        k = f["observables/kinetic_energy/value"][()]
    # ideal cristobalite heats itself by ~900 K (PE → KE); the total moves < 0.5 % of that
    assert np.ptp(e) < 0.005 * np.ptp(k)


class MorseEnsemble(torch.nn.Module):
    """Two Morse members that disagree: per-atom energies [2, n] (contract 3)."""

    n_members = 2

    def __init__(self):
        super().__init__()
        self.members = torch.nn.ModuleList([Morse(), Morse(depth_eV=0.33, r0=2.65)])
        self.cutoff_A = self.receptive_field_A = 5.0
        self.species = [18]

    def forward(self, graph, edge_vectors):
        return torch.stack([m(graph, edge_vectors) for m in self.members])


def test_ensemble_spread_is_logged_and_uncertain_frames_collected(tmp_path):
    from mlmd.data import Dataset

    ds = tmp_path / "candidates.h5"
    cfg = config(
        tmp_path,
        steps=30,
        uncertainty={
            "every": 10,
            "threshold_eV_A": 0.0,
            "stop_threshold_eV_A": 1e3,
            "dataset": str(ds),
        },
    )
    summary = run_md(cfg, potential=MorseEnsemble(), structure=fcc_crystal((3, 3, 3)), echo=False)
    assert summary["uncertainty"]["frames_collected"] == 4  # steps 0, 10, 20, 30
    assert summary["uncertainty"]["max_force_std"] > 0
    frames = Dataset(ds)
    assert len(frames) == 4 and frames[0].n_atoms == 108 and frames[3].source == "md:step=30"
    with h5py.File(tmp_path / "trajectory.h5") as f:
        assert f["observables/force_std_max/value"].shape == (4,)
    cfg = config(tmp_path / "stop", steps=30, uncertainty={"every": 10, "stop_threshold_eV_A": 0.0})
    summary = run_md(cfg, potential=MorseEnsemble(), structure=fcc_crystal((3, 3, 3)), echo=False)
    assert summary["status"] == "uncertainty_stop" and summary["step"] == 10


def test_atoms_too_close_raise_named_error_with_checkpoint(tmp_path):
    """Atoms that come closer than safety.min_distance_A during the run: the named pair, the
    step of the check that saw it, and checkpoint_error.npz holding that state."""
    cfg = config(
        tmp_path,
        initial_temperature_K=2000.0,
        safety={"check_every": 2, "min_distance_A": 2.5},  # fcc neighbours start at 2.76 Å
    )
    with pytest.raises(MDSafetyError) as info:
        run_md(cfg, potential=Morse(), structure=fcc_crystal((3, 3, 3), rattle=0.0), echo=False)
    assert info.value.kind == "atoms closer than the minimum distance"
    assert info.value.step % 2 == 0 and len(info.value.atoms) == 2
    saved = np.load(tmp_path / "checkpoint_error.npz")
    assert int(saved["step"]) == info.value.step
    a, b = (saved["positions"][saved["ids"] == i][0] for i in info.value.atoms)
    frac = (b - a) @ np.linalg.inv(saved["cell"])
    assert np.linalg.norm((frac - np.round(frac)) @ saved["cell"]) < 2.5


def test_overlapping_start_is_refused_naming_the_atoms(tmp_path):
    atoms = fcc_crystal((3, 3, 3), rattle=0.0)
    atoms.positions[5] = atoms.positions[6] + [0.001, 0.0, 0.0]
    with pytest.raises(InputError, match=r"closer than 0.5 Å: 5–6 at 0.001 Å") as info:
        run_md(config(tmp_path), potential=Morse(), structure=atoms, echo=False)
    assert info.value.field == "structure"
    atoms.positions[5] = np.nan
    with pytest.raises(InputError, match="atoms 5 have non-finite positions"):
        run_md(config(tmp_path), potential=Morse(), structure=atoms, echo=False)
    assert not (tmp_path / "trajectory.h5").exists()


def test_non_finite_forces_raise_named_error(tmp_path):
    class Broken(Morse):
        def forward(self, graph, edge_vectors):
            e = super().forward(graph, edge_vectors)
            bad = (graph.numbers == 18) & (torch.arange(graph.n_atoms) == 0)
            return torch.where(bad, e * torch.sqrt(-e.detach().abs() - 1), e)

    cfg = config(tmp_path, safety={"check_every": 1})
    with pytest.raises(MDSafetyError, match=r"non-finite forces at step 0 \(atoms \d") as info:
        run_md(cfg, potential=Broken(), structure=fcc_crystal((3, 3, 3)), echo=False)
    assert info.value.atoms  # named (the atom whose energy is NaN, and those it touches)


def test_non_finite_forces_are_caught_in_the_step_they_appear(tmp_path):
    """Between safety checks too: the step's allreduce carries the count, so the run stops
    (naming atoms) before a NaN force reaches the positions."""

    class BreaksAtStep3(Morse):
        calls = 0

        def forward(self, graph, edge_vectors):
            BreaksAtStep3.calls += 1
            e = super().forward(graph, edge_vectors)
            if BreaksAtStep3.calls == 4:  # setup, steps 1, 2, then step 3
                bad = torch.arange(graph.n_atoms) == 7
                return torch.where(bad, e * torch.sqrt(-e.detach().abs() - 1), e)
            return e

    cfg = config(tmp_path, safety={"check_every": 100}, steps=50)
    with pytest.raises(MDSafetyError, match=r"non-finite forces at step 3 \(atoms \d") as info:
        run_md(cfg, potential=BreaksAtStep3(), structure=fcc_crystal((3, 3, 3)), echo=False)
    assert info.value.atoms


@pytest.mark.parametrize("every", [1, 3])
def test_pressure_tensor_observable_every_n_steps(tmp_path, every):
    """/observables/pressure_tensor [T, 3, 3] GPa, own step/time, pressure = +trace/3 (the
    scalar pressure observable, kinetic part included), written every ``every`` steps."""
    cfg = config(
        tmp_path,
        steps=12,
        ensemble={"kind": "langevin", "temperature_K": 600.0},
        output={"pressure_tensor_every": every, "thermo_every": 6, "trajectory_every": 0},
    )
    run_md(cfg, potential=Morse(), structure=fcc_crystal((3, 3, 3)), echo=False)
    with h5py.File(tmp_path / "trajectory.h5") as f:
        g = f["observables/pressure_tensor"]
        tensor, steps = g["value"][()], g["step"][()]
        assert g["value"].attrs["unit"] == "GPa" and g["value"].dtype == np.float64
        assert np.allclose(g["time"][()], steps * 1.0)
        obs = f["observables/pressure"]
        scalar = dict(zip(obs["step"][()], obs["value"][()], strict=True))
    assert list(steps) == list(range(0, 13, every)) and tensor.shape == (len(steps), 3, 3)
    for k, step in enumerate(steps):
        if step in scalar:
            assert np.trace(tensor[k]) / 3 == pytest.approx(scalar[step], rel=1e-12, abs=1e-12)
    assert np.abs(tensor - tensor.transpose(0, 2, 1)).max() < 1e-9  # central pair forces
    assert np.abs(tensor[:, 0, 1]).max() > 0  # the off-diagonal stress a viscosity needs


def test_pressure_tensor_is_off_by_default(tmp_path):
    run_md(
        config(tmp_path, steps=4), potential=Morse(), structure=fcc_crystal((3, 3, 3)), echo=False
    )
    with h5py.File(tmp_path / "trajectory.h5") as f:
        assert "pressure_tensor" not in f["observables"]
