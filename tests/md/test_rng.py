"""Counter-based noise: keyed by (seed, step, atom id), so independent of array order and
rank count."""

from __future__ import annotations

import numpy as np

from mlmd.md.rng import normals
from tests.md import tolerances as tol


def test_noise_is_keyed_by_atom_id_not_position_in_array():
    ids = np.arange(1000, 1100)
    z = normals(5, 42, ids)
    perm = np.random.default_rng(0).permutation(len(ids))
    assert np.array_equal(normals(5, 42, ids[perm]), z[perm])
    assert not np.allclose(normals(5, 43, ids), z)
    assert abs(z.mean()) < tol.NOISE_MEAN and abs(z.std() - 1) < tol.NOISE_STD
