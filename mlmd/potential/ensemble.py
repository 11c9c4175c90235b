"""Ensembles of :class:`BodyOrderPotential`: K members stacked into one module.

Every learned tensor of the model carries a leading member axis, so stacking K trained
single models (K = 1 each) concatenates their tensors along that axis. The stacked module
shares the neighbour list, the radial/angular basis and the atomic density between members;
only the channel mixing and the readout run per member (batched matmuls), and
:func:`mlmd.potential.evaluate` differentiates all members in one batched backward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from mlmd.potential.model import BodyOrderPotential


def stack_members(models: Sequence[BodyOrderPotential]) -> BodyOrderPotential:
    """One K-member module from K models of the same architecture (any n_members each)."""
    if not models:
        raise ValueError("stack_members needs at least one model")
    first = models[0].config
    for m in models[1:]:
        if replace(m.config, n_members=first.n_members) != first:
            raise ValueError("ensemble members must share the architecture (all but n_members)")
    total = sum(m.n_members for m in models)
    out = BodyOrderPotential(replace(first, n_members=total))
    states = [m.state_dict() for m in models]
    stacked = {key: torch.cat([s[key] for s in states], dim=0) for key in states[0]}
    out.load_state_dict(stacked)
    return out.to(next(models[0].parameters()).device)


def member(model: BodyOrderPotential, k: int) -> BodyOrderPotential:
    """Member ``k`` of a stacked ensemble as a single model (a copy)."""
    if not 0 <= k < model.n_members:
        raise IndexError(f"member {k} out of range for {model.n_members} members")
    out = BodyOrderPotential(replace(model.config, n_members=1))
    out.load_state_dict({key: v[k : k + 1].clone() for key, v in model.state_dict().items()})
    return out.to(next(model.parameters()).device)
