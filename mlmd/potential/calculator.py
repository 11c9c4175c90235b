"""ASE calculator adapter: any mlmd potential (single model or ensemble) as an ASE Calculator.

Results (ASE units: eV, eV/Å, eV/Å³):

- ``energy``, ``free_energy``: total energy (the member mean for an ensemble);
- ``energies``: per-atom energies [n];
- ``forces``: [n, 3];
- ``stress``: Voigt [xx, yy, zz, yz, xz, xy], ASE sign (σ = (1/V) ∂E/∂ε), fully periodic
  structures only;
- ensembles only: ``energy_std`` (eV), ``force_std`` [n] (eV/Å, per-atom spread of the force
  vector over members) and ``max_force_std`` (eV/Å), declared in ``implemented_properties``
  so ``calc.get_property("energy_std", atoms)`` works as for any ASE property.

An element the potential does not know is an :class:`~mlmd.errors.InputError` naming it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from mlmd.potential.contract import check_species, evaluate
from mlmd.potential.graph import graph_from_atoms
from mlmd.potential.registry import load_potential


class MlmdCalculator(Calculator):
    """Evaluate an mlmd potential from ASE.

    Args:
        potential: a potential Module or a spec for :func:`mlmd.potential.load_potential`
            (``"teacher"``, a model directory, an export, ...).
        device: torch device to run on (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]
    #: What an ensemble (``n_members > 1``) adds.
    ensemble_properties = ["energy_std", "force_std", "max_force_std"]

    def __init__(
        self,
        potential: torch.nn.Module | str | Path,
        device: str | torch.device = "cpu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.device = torch.device(device)
        self.potential = load_potential(potential, device=self.device)
        if int(getattr(self.potential, "n_members", 1)) > 1:
            self.implemented_properties = [
                *type(self).implemented_properties,
                *self.ensemble_properties,
            ]

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: list[str] | None = None,
        system_changes: list[str] = all_changes,
    ) -> None:
        super().calculate(atoms, properties or ["energy"], system_changes)
        atoms = self.atoms
        periodic = bool(np.all(atoms.pbc))
        if properties and "stress" in properties and not periodic:
            raise PropertyNotImplementedError("stress needs a fully periodic structure")
        check_species(self.potential, atoms.numbers)
        graph = graph_from_atoms([atoms], self.potential.cutoff_A, device=self.device)
        ev = evaluate(self.potential, graph, forces=True, virial=periodic)
        energy = float(ev.energy[0].detach())
        results = {
            "energy": energy,
            "free_energy": energy,
            "energies": ev.per_atom_energy.detach().cpu().numpy(),
            "forces": ev.forces.detach().cpu().numpy(),
        }
        if periodic:
            s = ev.stress(graph.cell)[0].detach().cpu().numpy()
            results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
        if getattr(ev, "energy_std", None) is not None:
            results["energy_std"] = float(ev.energy_std[0].detach())
        if getattr(ev, "force_std", None) is not None:
            force_std = ev.force_std.detach().cpu().numpy()
            results["force_std"] = force_std
            results["max_force_std"] = float(force_std.max(initial=0.0))
        self.results = results
