"""Active-learning selection: candidate frames whose ensemble spread lies in a trust window.

Frames with a max per-atom force spread below ``sigma_lo_eV_A`` teach the model nothing new;
above ``sigma_hi_eV_A`` they are usually unphysical (atoms on top of each other) and would
waste a DFT calculation. Inside the window, frames already known (by content key) are
dropped and at most ``cap`` are kept, spread evenly over the window's range of spreads so a
few extreme frames do not crowd out the rest.

The spread is blind where the model is its fixed core: below the shortest pair of each kind
in its data (``core_from_data``) every member is the same core, so a hole there (an O–O pair
bound at 1.45 Å where the data's closest was 1.98 Å) shows no spread. Candidates with a pair
inside the core switch (:func:`mlmd.potential.contract.edges_in_core`) are therefore taken
first, whatever their spread, up to half the cap and spread evenly over the candidates'
order (reported as ``in_core`` and ``core_selected``): labelled, they move the core down.

An early model can put almost everything above the window. With ``fill_from_above`` the
selection is then topped up to ``cap`` with the *least* uncertain frames above it, so an
active-learning round is never wasted (reported as ``filled_from_above``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mlmd.data import Frame
from mlmd.potential import evaluate, graph_from_frames
from mlmd.potential.contract import edges_in_core


@dataclass(frozen=True)
class Selection:
    """What :func:`select_uncertain` chose and why.

    Attributes:
        frames: the chosen frames, unlabelled, in order of increasing spread.
        spreads: [n_candidates] max per-atom force std of every candidate (eV/Å).
        counts: how many candidates fell below / inside / above the window, and how many
            were known already or cut by the cap.
    """

    frames: list[Frame]
    spreads: np.ndarray
    counts: dict[str, int]


def max_force_spread(
    ensemble: torch.nn.Module, frames: Sequence[Frame], batch_size: int = 16
) -> np.ndarray:
    """[n_frames] max per-atom force std (eV/Å) of ``ensemble`` on each frame."""
    if getattr(ensemble, "n_members", 1) < 2:
        raise ValueError("spread needs an ensemble with at least 2 members")
    device = next(ensemble.parameters()).device
    out = []
    for start in range(0, len(frames), batch_size):
        batch = frames[start : start + batch_size]
        graph = graph_from_frames(batch, ensemble.cutoff_A, device)
        std = evaluate(ensemble, graph, virial=False).force_std.detach()
        per_frame = torch.zeros(graph.n_systems, dtype=std.dtype, device=std.device)
        per_frame = per_frame.scatter_reduce(0, graph.system, std, reduce="amax")
        out.append(per_frame.cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def core_pairs(
    potential: torch.nn.Module, frames: Sequence[Frame], batch_size: int = 16
) -> np.ndarray:
    """[n_frames] how many pairs of each frame lie inside ``potential``'s core switch
    (:func:`~mlmd.potential.contract.edges_in_core`; zeros for a potential without one)."""
    if not hasattr(potential, "edges_in_core"):
        return np.zeros(len(frames), dtype=np.int64)
    device = next(potential.buffers()).device
    out = []
    for start in range(0, len(frames), batch_size):
        graph = graph_from_frames(frames[start : start + batch_size], potential.cutoff_A, device)
        inside = edges_in_core(potential, graph, graph.edge_vectors().norm(dim=1))
        per_frame = torch.zeros(graph.n_systems, dtype=torch.long, device=inside.device)
        per_frame.index_add_(0, graph.system[graph.edge_index[0]], inside.long())
        out.append((per_frame // 2).cpu().numpy())  # each pair is two directed edges
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def select_uncertain(
    ensemble: torch.nn.Module,
    candidates: Sequence[Frame],
    *,
    sigma_lo_eV_A: float,
    sigma_hi_eV_A: float,
    cap: int,
    known_keys: Iterable[str] = (),
    fill_from_above: bool = False,
) -> Selection:
    """Choose up to ``cap`` new candidates: those with a pair inside the core switch first
    (at most half the cap), then sigma_lo ≤ max force spread < sigma_hi (topped up from just
    above sigma_hi when ``fill_from_above``)."""
    if not 0 <= sigma_lo_eV_A < sigma_hi_eV_A:
        raise ValueError("need 0 ≤ sigma_lo_eV_A < sigma_hi_eV_A")
    spreads = max_force_spread(ensemble, candidates)
    known = set(known_keys)
    counts = {"candidates": len(candidates), "below": 0, "above": 0, "known": 0}
    cored = _in_core(ensemble, candidates, known, max(cap // 2, 1), counts)
    taken = set(cored)
    inside, above, seen = [], [], {candidates[i].key for i in cored}
    for idx in np.argsort(spreads, kind="stable"):
        s, frame = spreads[idx], candidates[idx]
        if idx in taken:
            continue
        if s < sigma_lo_eV_A:
            counts["below"] += 1
        elif frame.key in known or frame.key in seen:
            counts["known"] += 1
        elif s >= sigma_hi_eV_A:
            counts["above"] += 1
            above.append(idx)  # in increasing spread
        else:
            seen.add(frame.key)
            inside.append(idx)
    room = cap - len(cored)
    if len(inside) > room:
        keep = _evenly(len(inside), room)
        counts["capped"] = len(inside) - len(keep)
        inside = [inside[k] for k in keep]
    if fill_from_above and len(inside) < room:
        extra = [i for i in above if candidates[i].key not in seen][: room - len(inside)]
        counts["filled_from_above"] = len(extra)
        inside += extra
    chosen = cored + inside
    counts["selected"] = len(chosen)
    return Selection([candidates[i].unlabelled() for i in chosen], spreads, counts)


def _in_core(
    ensemble: torch.nn.Module,
    candidates: Sequence[Frame],
    known: set[str],
    most: int,
    counts: dict[str, int],
) -> list[int]:
    """Indices of at most ``most`` new candidates with a pair inside the core switch, evenly
    over their order; counts ``in_core`` (all such candidates) and ``core_selected``."""
    pairs = core_pairs(ensemble, candidates)
    if not pairs.any():
        return []
    new, keys = [], set(known)
    for idx in np.flatnonzero(pairs):
        if candidates[idx].key not in keys:
            keys.add(candidates[idx].key)
            new.append(int(idx))
    counts["in_core"] = int(np.count_nonzero(pairs))
    chosen = [new[k] for k in _evenly(len(new), most)] if len(new) > most else new
    counts["core_selected"] = len(chosen)
    return chosen


def _evenly(n: int, k: int) -> np.ndarray:
    """Up to ``k`` distinct indices of range(n), evenly spaced from first to last."""
    return np.unique(np.linspace(0, n - 1, k).round().astype(int)) if k > 0 else np.zeros(0, int)
