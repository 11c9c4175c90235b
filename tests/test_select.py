"""Trust-window selection with a real (untrained, 3-member) ensemble on rattled SiO2 frames,
and the frames with a pair inside the model's core switch, which the spread cannot see."""

import numpy as np

from mlmd.data import Frame
from mlmd.data.build import sio2_crystal
from mlmd.potential.model import BodyOrderPotential, ModelConfig
from mlmd.potential.neighbours import neighbour_list
from mlmd.reference.registry import get_reference
from mlmd.select import core_pairs, max_force_spread, select_uncertain

TINY = {"species": [8, 14], "channels": 4, "hidden": [8], "n_basis": 4, "n_members": 3}


def _frames(n: int) -> list[Frame]:
    base = sio2_crystal("cristobalite")
    rng = np.random.default_rng(0)
    return [
        Frame(
            base.numbers,
            base.positions + rng.normal(0, 0.02 * (k + 1), base.positions.shape),
            base.cell,
            base.pbc,
        )
        for k in range(n)
    ]


def test_window_cap_known_and_fill():
    ensemble = BodyOrderPotential(ModelConfig(**TINY, core_repulsion=False))
    frames = _frames(10)
    spreads = max_force_spread(ensemble, frames)
    assert spreads.shape == (10,) and np.all(spreads > 0)
    order = np.sort(spreads)
    lo, hi = (order[1] + order[2]) / 2, (order[7] + order[8]) / 2  # 6 frames inside
    inside = {f.key for f, s in zip(frames, spreads, strict=True) if lo <= s < hi}
    known = [next(iter(inside))]

    chosen = select_uncertain(
        ensemble, frames, sigma_lo_eV_A=lo, sigma_hi_eV_A=hi, cap=3, known_keys=known
    )
    keys = [f.key for f in chosen.frames]
    assert len(keys) == 3 and set(keys) <= inside - set(known)
    assert chosen.counts == {
        "candidates": 10,
        "below": 2,
        "above": 2,
        "known": 1,
        "capped": 2,
        "selected": 3,
    }
    assert all(f.status == "unlabelled" for f in chosen.frames)

    narrow = select_uncertain(
        ensemble, frames, sigma_lo_eV_A=lo, sigma_hi_eV_A=order[3], cap=4, fill_from_above=True
    )
    spread_of = {f.key: s for f, s in zip(frames, spreads, strict=True)}
    picked = sorted(spread_of[f.key] for f in narrow.frames)
    assert narrow.counts["filled_from_above"] == 3  # one frame inside, three just above
    assert np.allclose(picked, order[2:6])  # the least uncertain ones above the window


def _oo_pairs_below(frame: Frame, r_A: float) -> int:
    """O–O pairs of ``frame`` closer than ``r_A`` (an independent neighbour list)."""
    i, j, _ = neighbour_list(frame.positions, frame.cell, frame.pbc, r_A)
    oo = (frame.numbers[i] == 8) & (frame.numbers[j] == 8)
    return int(oo.sum()) // 2


def test_frames_with_a_pair_inside_the_core_switch_are_taken_whatever_their_spread():
    """The model's data came no closer than 2.3 Å for O–O (its core switch [1.5, 2.3] Å; the
    other pairs' ends at 0.5 Å). Frames with one O atom pushed towards a neighbour to 2.0 Å
    are chosen though every spread lies below the window, at most half the cap of them, and
    a known one stays out."""
    core = {"repulsion_pairs_A": {"8-8": [1.5, 2.3]}, "repulsion_outer_A": 0.5}
    ensemble = BodyOrderPotential(ModelConfig(**TINY, **core, repulsion_inner_A=0.3))
    frames = _frames(3)
    squeezed = []
    for frame in frames:
        o = np.flatnonzero(frame.numbers == 8)
        d = frame.positions[o[1:]] - frame.positions[o[0]]
        d -= np.round(d @ np.linalg.inv(frame.cell)) @ frame.cell  # minimum image
        near = np.argmin((d**2).sum(1))
        unit = d[near] / np.linalg.norm(d[near])
        moved = frame.positions.copy()
        moved[o[0]] += (np.linalg.norm(d[near]) - 2.0) * unit
        squeezed.append(Frame(frame.numbers, moved, frame.cell, frame.pbc))
    candidates = squeezed + frames
    pairs = core_pairs(ensemble, candidates)
    assert pairs.tolist() == [_oo_pairs_below(f, 2.3) for f in candidates]
    assert all(pairs[:3] >= 1) and not pairs[3:].any()
    teacher = get_reference("teacher").potential  # an analytic potential has no core
    assert core_pairs(teacher, candidates).tolist() == [0] * 6

    chosen = select_uncertain(
        ensemble,
        candidates,
        sigma_lo_eV_A=1e3,
        sigma_hi_eV_A=2e3,
        cap=4,
        known_keys=[squeezed[1].key],
    )
    assert [f.key for f in chosen.frames] == [squeezed[0].key, squeezed[2].key]
    assert chosen.counts["in_core"] == 3 and chosen.counts["core_selected"] == 2
    assert chosen.counts["below"] == 4  # the three unsqueezed ones and the known one

    capped = select_uncertain(ensemble, candidates, sigma_lo_eV_A=1e3, sigma_hi_eV_A=2e3, cap=2)
    assert capped.counts["core_selected"] == 1 and len(capped.frames) == 1
