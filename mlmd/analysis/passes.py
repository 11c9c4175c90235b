"""The two streaming passes over a trajectory.

Pass 1 (:func:`structure_pass`): g(r) of every frame, unwrapped positions and velocities into
the on-disk :class:`~mlmd.analysis.dynamics.FrameStore`, cell volume and density per frame.
Pass 2 (:func:`bond_pass`), once the coordination cutoffs are known from g(r): coordination
numbers, bond angles, and the direct S(Q), ring statistics and Voronoi indices of evenly
spaced frames. Each pass holds one frame at a time and draws a progress bar with ETA on a
terminal (:mod:`mlmd.progress`).
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
from mlmd.analysis.voronoi import VoronoiAccumulator
from mlmd.errors import InputError
from mlmd.progress import Progress
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


def n_selected(reader: TrajectoryReader, selection: slice) -> int:
    """Frames in ``selection`` (0 when the reader cannot tell before reading: the bar then
    counts without an ETA)."""
    return 0 if reader.n_frames is None else len(range(reader.n_frames)[selection])


def structure_pass(
    reader: TrajectoryReader,
    selection: slice,
    *,
    rdf: RdfAccumulator | None,
    keep_positions: bool,
    keep_velocities: bool,
    tmp_dir: str | None = None,
) -> Pass1:
    """Pass 1 over the ``selection`` of ``reader``: each frame into ``rdf`` (if given), its
    unwrapped positions [N,3] Å (``keep_positions``) and velocities [N,3] Å/fs
    (``keep_velocities``) into a :class:`FrameStore` under ``tmp_dir``, and its step, time
    (fs) and volume (Å³; NaN when not periodic). InputError (exit 2) for an empty selection,
    or a frame without velocities when they are kept."""
    t0 = time.perf_counter()
    store = FrameStore(reader.n_atoms, tmp_dir) if keep_positions or keep_velocities else None
    unwrap = Unwrapper(reader.masses) if keep_positions else None
    total_mass = float(np.nansum(reader.masses)) if np.isfinite(reader.masses).all() else np.nan
    steps, times, volumes = [], [], []
    bar = Progress(n_selected(reader, selection), "analyze: pass 1 (g(r), positions)", unit="frame")
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
        bar.advance()
    bar.close()
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


@dataclasses.dataclass
class BondWork:
    """The accumulators of pass 2 and the frame positions (0..n−1 within the selection) at
    which the per-frame ones (direct S(Q), rings, Voronoi) run."""

    coordination: CoordinationAccumulator | None = None
    angles: AngleAccumulator | None = None
    direct: DirectSq | None = None
    direct_frames: set[int] = dataclasses.field(default_factory=set)
    rings: RingAccumulator | None = None
    ring_frames: set[int] = dataclasses.field(default_factory=set)
    voronoi: VoronoiAccumulator | None = None
    voronoi_frames: set[int] = dataclasses.field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not any((self.coordination, self.angles, self.direct, self.rings, self.voronoi))

    @property
    def every_frame_cutoff(self) -> float:
        """Bond cutoff needed on every frame (coordination, angles); 0 when none."""
        c, a = self.coordination, self.angles
        return max(c.r_max if c else 0.0, a.r_max if a else 0.0)

    @property
    def last_frame(self) -> int:
        sets = (
            (self.direct_frames if self.direct else set())
            | (self.ring_frames if self.rings else set())
            | (self.voronoi_frames if self.voronoi else set())
        )
        return max(sets, default=-1)


def bond_pass(reader: TrajectoryReader, selection: slice, work: BondWork, n_frames: int) -> float:
    """Pass 2 over the ``n_frames`` selected frames; returns its wall time in seconds."""
    t0 = time.perf_counter()
    every = work.every_frame_cutoff
    cutoff = max(every, work.rings.cutoff if work.rings else 0.0)
    last = work.last_frame
    total = n_frames if every > 0 else last + 1
    bar = Progress(total, "analyze: pass 2 (bonds, S(Q), rings)", unit="frame")
    for k, snap in enumerate(reader.frames(selection)):
        ring_frame = work.rings is not None and k in work.ring_frames
        if every > 0 or ring_frame:
            i, j, vec = bonds(snap.positions, snap.cell, snap.pbc, cutoff)
            if work.coordination is not None:
                work.coordination.add_bonds(i, j, np.linalg.norm(vec, axis=1))
            if work.angles is not None:
                work.angles.add_bonds(i, j, vec)
            if ring_frame:
                work.rings.add_bonds(i, j, vec)
        if work.direct is not None and k in work.direct_frames:
            work.direct.add(snap.positions, snap.cell)
        if work.voronoi is not None and k in work.voronoi_frames:
            work.voronoi.add(snap.positions, snap.cell, snap.pbc)
        bar.advance()
        if every == 0 and k >= last:
            break
    bar.close()
    return time.perf_counter() - t0
