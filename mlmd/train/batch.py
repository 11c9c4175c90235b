"""Training data in memory: per-frame graphs built once, merged into batches on demand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from mlmd.data import Dataset
from mlmd.potential.edge_terms import EdgeTerms, cat_edge_terms
from mlmd.potential.graph import Graph, graph_from_frames
from mlmd.potential.model import BodyOrderPotential
from mlmd.units import GPA


@dataclass(frozen=True)
class Sample:
    """One labelled frame: its graph (one system) and float64 labels.

    Attributes:
        energy: [] eV. forces: [n, 3] eV/Å. stress: [3, 3] GPa (NaN when not labelled).
    """

    graph: Graph
    energy: torch.Tensor
    forces: torch.Tensor
    stress: torch.Tensor
    terms: EdgeTerms | None = None

    @property
    def n_atoms(self) -> int:
        return self.graph.n_atoms


def load_samples(dataset: Dataset, indices: Sequence[int], cutoff_A: float) -> list[Sample]:
    """Frames ``indices`` of ``dataset`` as samples (neighbour lists built here, once)."""
    out = []
    for i in indices:
        frame = dataset[int(i)]
        stress = np.asarray(frame.stress, dtype=np.float64) / GPA
        if stress.shape != (3, 3) or not frame.pbc.all():
            stress = np.full((3, 3), np.nan)
        out.append(
            Sample(
                graph=graph_from_frames([frame], cutoff_A),
                energy=torch.tensor(float(frame.energy), dtype=torch.float64),
                forces=torch.from_numpy(np.asarray(frame.forces, dtype=np.float64)),
                stress=torch.from_numpy(stress),
            )
        )
    return out


@dataclass(frozen=True)
class Batch:
    """Several samples as one graph. energy [S] eV, forces [n, 3] eV/Å, stress [S, 3, 3] GPa,
    n_atoms [S]; ``terms`` when every sample carries cached edge terms."""

    graph: Graph
    energy: torch.Tensor
    forces: torch.Tensor
    stress: torch.Tensor
    n_atoms: torch.Tensor
    terms: EdgeTerms | None = None


def with_edge_terms(samples: Sequence[Sample], model: BodyOrderPotential) -> list[Sample]:
    """Samples carrying the model's parameter-free edge terms (positions are fixed in
    training, so the density and its Jacobian are computed once per frame, not per step).

    The terms are computed where the model lives (its species tables are there: a CUDA
    model on CPU graphs would mix devices) and kept with the sample, on its graph's device
    (host memory holds a data set a GPU would not); :func:`collate` moves each batch's.
    """
    device = next(model.parameters()).device
    out = []
    for s in samples:
        graph = s.graph.to(device)
        terms = model.edge_terms(graph, graph.edge_vectors())
        out.append(replace(s, terms=terms.to(s.graph.positions.device)))
    return out


def collate(samples: Sequence[Sample], device: torch.device | str = "cpu") -> Batch:
    """Merge samples into one batch graph on ``device`` (edge indices offset per system)."""
    offsets = np.cumsum([0] + [s.n_atoms for s in samples[:-1]])
    gs = [s.graph for s in samples]
    graph = Graph(
        positions=torch.cat([g.positions for g in gs]),
        numbers=torch.cat([g.numbers for g in gs]),
        edge_index=torch.cat([g.edge_index + int(o) for g, o in zip(gs, offsets, strict=True)], 1),
        shifts=torch.cat([g.shifts for g in gs]),
        owned=torch.cat([g.owned for g in gs]),
        system=torch.cat([torch.full_like(g.system, k) for k, g in enumerate(gs)]),
        cell=torch.cat([g.cell for g in gs]),
    ).to(device)
    terms = None
    if all(s.terms is not None for s in samples):
        n_species = int(samples[0].terms.density.shape[-1] // samples[0].terms.radial.shape[-1])
        parts = [s.terms for s in samples]
        terms = cat_edge_terms(parts, [s.n_atoms for s in samples], n_species).to(device)
    return Batch(
        graph=graph,
        energy=torch.stack([s.energy for s in samples]).to(device),
        forces=torch.cat([s.forces for s in samples]).to(device),
        stress=torch.stack([s.stress for s in samples]).to(device),
        n_atoms=torch.tensor([s.n_atoms for s in samples], device=device),
        terms=terms,
    )


def batches(
    samples: Sequence[Sample], batch_size: int, order: np.ndarray | None = None
) -> list[list[Sample]]:
    """Groups of ``batch_size`` samples in ``order`` (default: as given)."""
    idx = np.arange(len(samples)) if order is None else order
    return [[samples[i] for i in idx[k : k + batch_size]] for k in range(0, len(idx), batch_size)]
