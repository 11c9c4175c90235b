"""Forces on one rank's owned atoms: forward → potential on owned + ghosts → reverse.

The potential sees a :class:`mlmd.potential.Graph` of the rank's local atoms (owned first,
then ghosts, with explicit ghost positions, so every shift is zero) and edges only for the
centres it needs: the pairs of the skin list inside the cutoff (:mod:`mlmd.md.pairs`), in
the list's order. Energies and virials are per-rank sums of owned contributions; the caller
allreduces them. Tensors go to the potential's device; communication stays on the host in
float64 numpy buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mlmd.md.domain import Grid, Plan, forward, reverse
from mlmd.md.neighbours import SkinList
from mlmd.md.pairs import pairs_within
from mlmd.potential import Graph, evaluate


@dataclass(frozen=True)
class LocalForces:
    """This rank's share: ``energy`` eV and ``virial`` [3, 3] eV (owned sums, not reduced),
    ``forces`` [n_owned, 3] eV/Å (ghost contributions included), ``force_std`` [n_owned] or
    None, ``min_distance`` Å over this rank's edges (inf when none) and the ids of that
    ``closest_pair``."""

    energy: float
    virial: np.ndarray
    forces: np.ndarray
    force_std: np.ndarray | None
    min_distance: float
    closest_pair: tuple[int, int] = (-1, -1)


class ForceField:
    """Binds a potential, a device and the current plan/list of one rank.

    Args:
        potential: a module following the potential contract (or an ensemble).
        device: torch device the potential runs on.
    """

    def __init__(self, potential: torch.nn.Module, device: torch.device):
        self.potential = potential
        self.device = torch.device(device)
        self.cutoff_A = float(potential.cutoff_A)
        self.receptive_field_A = float(getattr(potential, "receptive_field_A", self.cutoff_A))
        self._plan: Plan | None = None

    def bind(self, plan: Plan, skin: SkinList) -> None:
        """Adopt a new plan and skin list (after a rebuild): upload the static tensors."""
        self._plan = plan
        dev = self.device
        self._numbers = torch.from_numpy(plan.numbers).to(dev)
        owned = np.zeros(plan.n_local, dtype=bool)
        owned[: plan.n_owned] = True
        self._owned = torch.from_numpy(owned).to(dev)
        self._system = torch.zeros(plan.n_local, dtype=torch.int64, device=dev)
        self._edges = torch.from_numpy(skin.edge_index).to(dev)

    def compute(
        self,
        grid: Grid,
        positions: np.ndarray,
        cell: np.ndarray,
        closest: bool = True,
        spread: bool = True,
    ) -> LocalForces:
        """Forces etc. for owned ``positions`` [n_owned, 3] Å in ``cell`` [3, 3] Å;
        ``closest``: also find the closest pair (a host sync, so only on check steps);
        ``spread``: an ensemble's per-atom force spread (else only its mean forces)."""
        plan = self._plan
        local = forward(grid, plan, positions, cell)
        pos = torch.from_numpy(local).to(self.device)
        edge_index, vec, r2 = pairs_within(pos, self._edges, self.cutoff_A)
        graph = Graph(
            positions=pos,
            numbers=self._numbers,
            edge_index=edge_index,
            shifts=torch.zeros((1, 3), dtype=pos.dtype, device=self.device).expand(len(vec), 3),
            owned=self._owned,
            system=self._system,
            cell=torch.from_numpy(cell).to(self.device)[None],
        )
        ev = evaluate(self.potential, graph, spread=spread, edge_vectors=vec)
        min_d, pair = float("inf"), (-1, -1)
        if closest and edge_index.shape[1]:
            k = int(torch.argmin(r2))
            min_d = float(r2[k].sqrt())
            pair = (int(plan.ids[int(edge_index[0, k])]), int(plan.ids[int(edge_index[1, k])]))
        f_local = ev.forces.detach().cpu().numpy()
        forces = reverse(grid, plan, f_local)
        std = None
        if ev.member_forces is not None:  # spread of the owners' summed member forces
            k = ev.member_forces.shape[0]
            f_members = ev.member_forces.detach().cpu().numpy().transpose(1, 0, 2)
            owned = reverse(grid, plan, f_members.reshape(plan.n_local, 3 * k))
            owned = owned.reshape(plan.n_owned, k, 3)
            spread = owned - owned.mean(axis=1, keepdims=True)
            std = np.sqrt((spread**2).sum(axis=2).mean(axis=1))
        return LocalForces(
            energy=float(ev.energy[0].detach()),
            virial=ev.virial[0].detach().cpu().numpy(),
            forces=forces,
            force_std=std,
            min_distance=min_d,
            closest_pair=pair,
        )
