"""The potential on one rank's local atoms (owned + ghosts): a stateless force field.

The potential sees a :class:`mlmd.potential.Graph` of the rank's local atoms (owned first,
then ghosts, with explicit ghost positions, so every shift is zero) and edges only for the
centres it needs: the pairs of the skin list inside the cutoff (:mod:`mlmd.md.pairs`), in
the list's order. The engine owns the ghost plan and does the communication (``forward``
before, ``reverse`` after); :meth:`ForceField.compute` only evaluates, on the
:class:`Topology` the engine made at its last rebuild. Energies and virials are per-rank
sums of owned contributions; the caller allreduces them. Tensors go to the potential's
device; communication stays on the host in float64 numpy buffers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from mlmd.md.domain import Plan
from mlmd.md.neighbours import SkinList
from mlmd.md.pairs import pairs_within
from mlmd.potential import Graph, evaluate
from mlmd.potential.contract import edges_in_core


@dataclass(frozen=True)
class Topology:
    """What stays fixed between rebuilds, on the potential's device: ``numbers`` [n_local],
    ``owned`` [n_local] bool, ``system`` [n_local] zeros, ``edges`` [2, E] skin-list pairs,
    and the host ``ids`` [n_local] (global ids, ghosts repeat their owner's)."""

    numbers: torch.Tensor
    owned: torch.Tensor
    system: torch.Tensor
    edges: torch.Tensor
    ids: np.ndarray


@dataclass(frozen=True)
class LocalForces:
    """One evaluation on a rank's local atoms: ``energy`` eV and ``virial`` [3, 3] eV (owned
    sums, not reduced), ``forces`` [n_local, 3] eV/Å on owned and ghost atoms (before the
    reverse communication), ``member_forces`` [n_local, 3K] eV/Å of an ensemble's K members
    on spread steps (else None), ``min_distance`` Å over the edges (inf when not asked or
    none), the global ids of that ``closest_pair``, and ``core_edges``: on spread steps, the
    edges from owned atoms inside the potential's core switch (each pair counts twice over
    all ranks; :func:`~mlmd.potential.contract.edges_in_core`)."""

    energy: float
    virial: np.ndarray
    forces: np.ndarray
    member_forces: np.ndarray | None
    min_distance: float
    closest_pair: tuple[int, int] = (-1, -1)
    core_edges: int = 0


def force_spread(member_forces: np.ndarray) -> np.ndarray:
    """[n] eV/Å: the per-atom spread sqrt(mean_k |F_k − F̄|²) of owners' member forces [n, 3K]."""
    owned = member_forces.reshape(len(member_forces), -1, 3)
    spread = owned - owned.mean(axis=1, keepdims=True)
    return np.sqrt((spread**2).sum(axis=2).mean(axis=1))


class ForceField:
    """A potential on a device (no state beyond them).

    Args:
        potential: a module following the potential contract (or an ensemble).
        device: torch device the potential runs on.
    """

    def __init__(self, potential: torch.nn.Module, device: torch.device):
        self.potential = potential
        self.device = torch.device(device)
        self.cutoff_A = float(potential.cutoff_A)
        self.receptive_field_A = float(getattr(potential, "receptive_field_A", self.cutoff_A))

    def identity(self, name: str) -> dict:
        """``{"name", "sha256"}``: the configured ``name`` and a hash of the potential's class,
        cutoff and every weight (checkpoints record it; a restart checks it)."""
        h = hashlib.sha256(f"{type(self.potential).__qualname__} {self.cutoff_A!r}".encode())
        for key, tensor in sorted(self.potential.state_dict().items()):
            h.update(key.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return {"name": name, "sha256": h.hexdigest()}

    def topology(self, plan: Plan, skin: SkinList) -> Topology:
        """Upload a new plan's static tensors and skin list (after a rebuild)."""
        dev = self.device
        owned = np.zeros(plan.n_local, dtype=bool)
        owned[: plan.n_owned] = True
        return Topology(
            numbers=torch.from_numpy(plan.numbers).to(dev),
            owned=torch.from_numpy(owned).to(dev),
            system=torch.zeros(plan.n_local, dtype=torch.int64, device=dev),
            edges=torch.from_numpy(skin.edge_index).to(dev),
            ids=plan.ids,
        )

    def compute(
        self,
        topo: Topology,
        local: np.ndarray,
        cell: np.ndarray,
        closest: bool = True,
        spread: bool = True,
    ) -> LocalForces:
        """Evaluate at ``local`` [n_local, 3] Å positions (owned then ghosts) in ``cell``.

        ``closest``: also find the closest pair (a host sync, so only on check steps);
        ``spread``: an ensemble's member forces (else only its mean forces) and the pairs
        inside the core switch.
        """
        pos = torch.from_numpy(local).to(self.device)
        edge_index, vec, r2 = pairs_within(pos, topo.edges, self.cutoff_A)
        graph = Graph(
            positions=pos,
            numbers=topo.numbers,
            edge_index=edge_index,
            shifts=torch.zeros((1, 3), dtype=pos.dtype, device=self.device).expand(len(vec), 3),
            owned=topo.owned,
            system=topo.system,
            cell=torch.from_numpy(cell).to(self.device)[None],
        )
        ev = evaluate(self.potential, graph, spread=spread, edge_vectors=vec)
        min_d, pair = float("inf"), (-1, -1)
        if closest and edge_index.shape[1]:
            k = int(torch.argmin(r2))
            min_d = float(r2[k].sqrt())
            pair = (int(topo.ids[int(edge_index[0, k])]), int(topo.ids[int(edge_index[1, k])]))
        core_edges = 0
        if spread and edge_index.shape[1]:
            inside = edges_in_core(self.potential, graph, r2.sqrt())
            core_edges = int((inside & topo.owned[edge_index[0]]).sum())
        members = None
        if ev.member_forces is not None:  # [K, n_local, 3] → [n_local, 3K]
            k = ev.member_forces.shape[0]
            members = ev.member_forces.detach().cpu().numpy().transpose(1, 0, 2)
            members = members.reshape(len(local), 3 * k)
        return LocalForces(
            energy=float(ev.energy[0].detach()),
            virial=ev.virial[0].detach().cpu().numpy(),
            forces=ev.forces.detach().cpu().numpy(),
            member_forces=members,
            min_distance=min_d,
            closest_pair=pair,
            core_edges=core_edges,
        )
