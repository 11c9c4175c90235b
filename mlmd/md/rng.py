"""Counter-based random numbers keyed by (seed, atom id, step): independent of rank count.

Every normal deviate is a pure function of its key, so an atom draws the same noise whichever
rank owns it and however many ranks run. The hash is splitmix64 (Steele, Lea & Flood 2014),
whose output passes BigCrush when fed a counter; uniforms become normals by Box–Muller.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
#: Ids reserved for global (non-atom) streams, e.g. the barostat noise.
GLOBAL_STREAM = 2**62


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _hash(seed: int, step: int, ids: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        base = _mix(np.asarray([seed], dtype=np.uint64) * _GOLDEN + _GOLDEN)
        base = _mix(base ^ (np.asarray([step], dtype=np.uint64) * _GOLDEN))
        return _mix(base ^ (np.asarray(ids, dtype=np.int64).astype(np.uint64) * _GOLDEN))


def normals(seed: int, step: int, ids: np.ndarray, n: int = 3) -> np.ndarray:
    """Standard normal deviates [len(ids), n] keyed by (seed, step, id, component).

    Args:
        seed: run seed (non-negative).
        step: the MD step the noise belongs to.
        ids: [k] int64 global atom ids (or ``GLOBAL_STREAM + j`` for global streams).
        n: deviates per id.
    """
    key = _hash(seed, step, ids)
    pairs = (n + 1) // 2
    with np.errstate(over="ignore"):
        counters = key[:, None] + (np.arange(1, 2 * pairs + 1, dtype=np.uint64) * _GOLDEN)
        bits = _mix(counters)
    # 53-bit uniforms in (0, 1]
    u = ((bits >> np.uint64(11)).astype(np.float64) + 1.0) * (1.0 / 9007199254740992.0)
    u1, u2 = u[:, 0::2], u[:, 1::2]
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], axis=1)
    return z[:, :n]
