"""Trust-window selection with a real (untrained, 3-member) ensemble on rattled SiO2 frames."""

import numpy as np

from mlmd.data import Frame
from mlmd.data.build import sio2_crystal
from mlmd.potential.model import BodyOrderPotential, ModelConfig
from mlmd.select import max_force_spread, select_uncertain


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
    ensemble = BodyOrderPotential(
        ModelConfig(species=[8, 14], channels=4, hidden=[8], n_basis=4, n_members=3)
    )
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
