"""The seeded, order-independent train/val/test split of a dataset's frames."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from mlmd.errors import InputError


def split(
    keys: list[str],
    fractions: Sequence[float],
    seed: int,
    indices: Sequence[int] | None,
    file: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``indices`` (default: all) of frames with content ``keys`` into three parts.

    Frames are ordered by sha256(seed, key) (ties by index), so a split depends on the seed
    and the frames, not on file order; counts are ``round(f * n)`` for val and test and the
    rest for train. Returns three sorted int64 index arrays.
    """
    fr = np.asarray(fractions, dtype=float)
    if fr.shape != (3,) or not np.isfinite(fr).all() or (fr < 0).any() or abs(fr.sum() - 1) > 1e-9:
        raise InputError(
            f"fractions {list(fractions)} must be three non-negative numbers summing to 1",
            file=file,
            field="fractions",
            fix="e.g. (0.8, 0.1, 0.1)",
        )
    idx = np.arange(len(keys)) if indices is None else np.asarray(indices, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= len(keys)):
        raise InputError("indices out of range", file=file, field="indices")
    rank = [hashlib.sha256(f"{seed}:{keys[i]}".encode()).hexdigest() for i in idx]
    order = idx[np.argsort(np.asarray(rank), kind="stable")]
    n_val, n_test = int(round(fr[1] * len(idx))), int(round(fr[2] * len(idx)))
    n_train = len(idx) - n_val - n_test
    parts = (order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])
    return tuple(np.sort(p).astype(np.int64) for p in parts)  # type: ignore[return-value]
