"""The skin list: every pair within cutoff + skin of a centre, sorted by centre then
neighbour, as a direct distance computation gives."""

from __future__ import annotations

import numpy as np

from mlmd.md.domain import Plan
from mlmd.md.neighbours import build


def test_skin_list_is_every_pair_within_reach_of_a_centre_sorted_by_centre_then_neighbour():
    rng = np.random.default_rng(2)
    n = 400
    positions = rng.uniform(0.0, 15.0, (n, 3))
    centres = rng.random(n) < 0.6
    plan = Plan((), int(centres.sum()), n, np.full(n, 14), np.arange(n), positions, np.eye(3), 0)
    skin = build(plan, centres, cutoff_A=3.0, skin_A=0.5)
    d = np.linalg.norm(positions[None] - positions[:, None], axis=2)
    i, j = np.nonzero((d < 3.5) & ~np.eye(n, dtype=bool) & centres[:, None])  # row-major
    assert len(i) > 1000
    np.testing.assert_array_equal(skin.edge_index, np.stack([i, j]))
