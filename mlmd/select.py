"""Active-learning selection: candidate frames whose ensemble spread lies in a trust window.

Frames with a max per-atom force spread below ``sigma_lo_eV_A`` teach the model nothing new;
above ``sigma_hi_eV_A`` they are usually unphysical (atoms on top of each other) and would
waste a DFT calculation. Inside the window, frames already known (by content key) are
dropped and at most ``cap`` are kept, spread evenly over the window's range of spreads so a
few extreme frames do not crowd out the rest.

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
    """Choose up to ``cap`` new candidates with sigma_lo ≤ max force spread < sigma_hi
    (topped up from just above sigma_hi when ``fill_from_above``)."""
    if not 0 <= sigma_lo_eV_A < sigma_hi_eV_A:
        raise ValueError("need 0 ≤ sigma_lo_eV_A < sigma_hi_eV_A")
    spreads = max_force_spread(ensemble, candidates)
    known = set(known_keys)
    inside, above, seen = [], [], set()
    counts = {"candidates": len(candidates), "below": 0, "above": 0, "known": 0}
    for idx in np.argsort(spreads, kind="stable"):
        s, frame = spreads[idx], candidates[idx]
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
    if len(inside) > cap:
        keep = np.unique(np.linspace(0, len(inside) - 1, cap).round().astype(int))
        counts["capped"] = len(inside) - len(keep)
        inside = [inside[k] for k in keep]
    if fill_from_above and len(inside) < cap:
        extra = [i for i in above if candidates[i].key not in seen][: cap - len(inside)]
        counts["filled_from_above"] = len(extra)
        inside += extra
    counts["selected"] = len(inside)
    return Selection([candidates[i].unlabelled() for i in inside], spreads, counts)
