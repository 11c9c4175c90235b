"""The per-step cutoff filter over the skin list: both paths (the compiled CPU loop, torch
columns for GPUs) give the pairs of a direct computation, in list order, bitwise alike."""

from __future__ import annotations

import numpy as np
import torch

from mlmd.md.pairs import _within_columns, _within_compiled, pairs_within


def random_list(n_atoms=300, n_pairs=5000, seed=0):
    rng = np.random.default_rng(seed)
    positions = torch.from_numpy(rng.uniform(0.0, 12.0, (n_atoms, 3)))
    centres = rng.integers(0, n_atoms, n_pairs)
    neighbours = (centres + rng.integers(1, n_atoms, n_pairs)) % n_atoms  # no self pairs
    return positions, torch.from_numpy(np.stack([centres, neighbours]))


def test_both_paths_equal_a_direct_filter_in_list_order():
    positions, edges = random_list()
    reach = 6.0
    vectors = positions[edges[1]] - positions[edges[0]]
    keep = (vectors**2).sum(1) < reach**2
    assert 0 < int(keep.sum()) < edges.shape[1]  # the filter has work on both sides
    for within in (_within_compiled, _within_columns):
        kept, vec, r2 = within(positions, edges, reach)
        assert torch.equal(kept, edges[:, keep])
        assert kept.is_contiguous() and vec.is_contiguous()
        torch.testing.assert_close(vec, vectors[keep], rtol=0, atol=1e-14)
        torch.testing.assert_close(r2, (vectors[keep] ** 2).sum(1), rtol=1e-14, atol=0)


def test_paths_agree_bitwise_and_handle_an_empty_result():
    positions, edges = random_list(seed=1)
    a = _within_compiled(positions, edges, 4.0)
    b = _within_columns(positions, edges, 4.0)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    kept, vec, r2 = pairs_within(positions, edges, 1e-6)
    assert kept.shape == (2, 0) and vec.shape == (0, 3) and r2.shape == (0,)
