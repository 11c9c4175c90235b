"""The two streaming passes over a trajectory.

Pass 1 (:func:`structure_pass`): g(r) of every frame, unwrapped positions and velocities into
the on-disk :class:`~mlmd.analysis.dynamics.FrameStore`, cell volume and density per frame.
Pass 2 (:func:`bond_pass`), once the coordination cutoffs are known from g(r): coordination
numbers, bond angles, and the direct S(Q) and ring statistics of evenly spaced frames. Each
pass holds one frame at a time.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from mlmd.analysis.angles import AngleAccumulator
from mlmd.analysis.coordination import CoordinationAccumulator, bonds
from mlmd.analysis.dynamics import FrameStore, Unwrapper
from mlmd.analysis.rdf import RdfAccumulator
from mlmd.analysis.rings import RingAccumulator
from mlmd.analysis.structure_factor import DirectSq
from mlmd.analysis.trajectory import TrajectoryReader
from mlmd.errors import InputError
from mlmd.units import AMU_PER_A3_TO_G_PER_CM3

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Pass1:
    """What pass 1 collected: per-frame ``steps``, ``times_fs``, ``volumes_A3``,
    ``densities_g_cm3`` [T], the g(r) accumulator (or None), the store and the unwrapper."""

    steps: np.ndarray
    times_fs: np.ndarray
    volumes_A3: np.ndarray
    densities_g_cm3: np.ndarray
    rdf: RdfAccumulator | None
    store: FrameStore | None
    unwrapper: Unwrapper | None
    seconds: float


def structure_pass(
    reader: TrajectoryReader,
    selection: slice,
    *,
    rdf: RdfAccumulator | None,
    keep_positions: bool,
    keep_velocities: bool,
    tmp_dir: str | None = None,
) -> Pass1:
    t0 = time.perf_counter()
    store = FrameStore(reader.n_atoms, tmp_dir) if keep_positions or keep_velocities else None
    unwrap = Unwrapper(reader.masses) if keep_positions else None
    total_mass = float(np.nansum(reader.masses)) if np.isfinite(reader.masses).all() else np.nan
    steps, times, volumes = [], [], []
    for snap in reader.frames(selection):
        if rdf is not None:
            rdf.add(snap.positions, snap.cell, snap.pbc)
        if store is not None:
            data = {}
            if keep_positions:
                data["positions"] = unwrap(snap.positions, snap.cell, snap.image)
            if keep_velocities:
                if snap.velocities is None:
                    raise InputError(
                        f"frame {snap.index} has no velocities",
                        file=str(reader.path),
                        field="velocity",
                        fix="drop vacf from --what",
                    )
                data["velocities"] = snap.velocities
            store.append(snap.time_fs, **data)
        steps.append(snap.step)
        times.append(snap.time_fs)
        volumes.append(abs(np.linalg.det(snap.cell)) if np.all(snap.pbc) else np.nan)
        if len(steps) % 100 == 0:
            log.info("pass 1: %d frames", len(steps))
    if not steps:
        raise InputError(
            "the frame selection is empty",
            file=str(reader.path),
            field="--frames",
            fix="select at least one frame",
        )
    if store is not None:
        store.finish()
    volumes = np.array(volumes)
    return Pass1(
        steps=np.array(steps),
        times_fs=np.array(times, dtype=float),
        volumes_A3=volumes,
        densities_g_cm3=total_mass / volumes * AMU_PER_A3_TO_G_PER_CM3,
        rdf=rdf,
        store=store,
        unwrapper=unwrap,
        seconds=time.perf_counter() - t0,
    )


def direct_frame_positions(n_frames: int, n_direct: int) -> set[int]:
    """Evenly spaced positions (0..n_frames−1) of at most ``n_direct`` frames."""
    if n_direct <= 0:
        return set()
    return {int(round(x)) for x in np.linspace(0, n_frames - 1, min(n_direct, n_frames))}


def bond_pass(
    reader: TrajectoryReader,
    selection: slice,
    *,
    coordination: CoordinationAccumulator | None,
    angles: AngleAccumulator | None,
    direct: DirectSq | None,
    direct_positions: set[int],
    rings: RingAccumulator | None = None,
    ring_positions: set[int] | None = None,
) -> float:
    """Pass 2; returns its wall time in seconds."""
    t0 = time.perf_counter()
    ring_positions = ring_positions or set()
    every = max(coordination.r_max if coordination else 0.0, angles.r_max if angles else 0.0)
    cutoff = max(every, rings.cutoff if rings else 0.0)
    last = max(direct_positions | ring_positions, default=-1)
    for k, snap in enumerate(reader.frames(selection)):
        ring_frame = rings is not None and k in ring_positions
        if every > 0 or ring_frame:
            i, j, vec = bonds(snap.positions, snap.cell, snap.pbc, cutoff)
            if coordination is not None:
                coordination.add_bonds(i, j, np.linalg.norm(vec, axis=1))
            if angles is not None:
                angles.add_bonds(i, j, vec)
            if ring_frame:
                rings.add_bonds(i, j, vec)
        if direct is not None and k in direct_positions:
            direct.add(snap.positions, snap.cell)
        if every == 0 and k >= last:
            break
    return time.perf_counter() - t0
