"""The engine's safety checks: atoms too close and non-finite forces raise a named
MDSafetyError (with ``checkpoint_error.npz``), caught in the step they appear."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlmd.md import MDSafetyError, run_md
from tests.md.helpers import Morse, fcc_crystal, small_config


def test_atoms_too_close_raise_named_error_with_checkpoint(tmp_path):
    """Atoms that come closer than safety.min_distance_A during the run: the named pair, the
    step of the check that saw it, and checkpoint_error.npz holding that state."""
    cfg = small_config(
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


def test_non_finite_forces_raise_named_error(tmp_path):
    class Broken(Morse):
        def forward(self, graph, edge_vectors):
            e = super().forward(graph, edge_vectors)
            bad = (graph.numbers == 18) & (torch.arange(graph.n_atoms) == 0)
            return torch.where(bad, e * torch.sqrt(-e.detach().abs() - 1), e)

    cfg = small_config(tmp_path, safety={"check_every": 1})
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

    cfg = small_config(tmp_path, safety={"check_every": 100}, steps=50)
    with pytest.raises(MDSafetyError, match=r"non-finite forces at step 3 \(atoms \d") as info:
        run_md(cfg, potential=BreaksAtStep3(), structure=fcc_crystal((3, 3, 3)), echo=False)
    assert info.value.atoms
