"""Ensemble spread during production: log it, collect uncertain frames, optionally stop.

With an ensemble potential (``Evaluation.force_std`` not None, contract 3) every
``uncertainty.every`` steps the max and mean per-atom force std (eV/Å) are reduced across
ranks. A frame whose max exceeds ``threshold_eV_A`` is gathered to rank 0 and added
(unlabelled, source ``md:step=<k>``) to ``uncertainty.dataset`` for active learning, once per
content key: a run resumed from its checkpoint collects the same frames again and keeps one
copy. A frame above ``stop_threshold_eV_A`` ends the run (status ``uncertainty_stop``).

The spread cannot see pairs inside the potential's core switch, closer than its data ever
came (every member is the same core there; :func:`mlmd.potential.contract.edges_in_core`).
They are counted on the same steps, for any potential; a frame with one is collected
whatever its spread, the first is logged, every output row has the last count (observable
``core_pairs``) and the summary the most seen at once.

The per-atom std is that of the owner's total force: every member's ghost forces are
summed onto their owners (the same reverse communication as the mean force, 3K numbers per
ghost, on spread steps only), so atoms near brick faces and periodic images count fully.
"""

from __future__ import annotations

import logging

import numpy as np
from mpi4py import MPI

from mlmd.md import domain
from mlmd.md.config import UncertaintyConfig
from mlmd.md.domain import Grid
from mlmd.md.state import MDState, wrap

log = logging.getLogger(__name__)


class UncertaintyMonitor:
    """See module docstring. ``observe`` is collective; it returns "stop" or None."""

    def __init__(self, cfg: UncertaintyConfig, grid: Grid, config_map: dict):
        self.cfg, self.grid, self.config_map = cfg, grid, config_map
        self._latest: dict[str, float] = {}
        self.collected = 0
        self.max_seen = 0.0
        self.core_pairs_max = 0

    def observe(self, state: MDState, core_edges: int = 0) -> str | None:
        """``core_edges``: this rank's owned atoms' edges inside the core switch."""
        comm = self.grid.comm
        lacking, edges = comm.allreduce(
            np.array([int(state.force_std is None), core_edges], dtype=np.int64), op=MPI.SUM
        )
        pairs = int(edges) // 2
        cored = self._note_core(state, pairs) and self.cfg.dataset is not None
        if lacking:  # not an ensemble
            if cored:
                self._collect(state)
            return None
        std = state.force_std
        local_max = float(std.max()) if len(std) else 0.0
        fmax = comm.allreduce(local_max, op=MPI.MAX)
        fmean = comm.allreduce(float(std.sum())) / state.n_atoms
        self._latest = {"force_std_max": fmax, "force_std_mean": fmean, "core_pairs": pairs}
        self.max_seen = max(self.max_seen, fmax)
        c = self.cfg
        if cored or (c.threshold_eV_A is not None and fmax > c.threshold_eV_A):
            self._collect(state)
        if c.stop_threshold_eV_A is not None and fmax > c.stop_threshold_eV_A:
            if self.grid.rank == 0:
                log.warning(
                    "step %d: force std %.3f eV/Å above the stop threshold %.3f: stopping",
                    state.step,
                    fmax,
                    c.stop_threshold_eV_A,
                )
            return "stop"
        return None

    def _note_core(self, state: MDState, pairs: int) -> bool:
        """Record ``pairs`` (all ranks) inside the core switch; log the first; True if any."""
        if pairs and not self.core_pairs_max and self.grid.rank == 0:
            log.warning(
                "step %d: %d pair(s) closer than the model's data ever came (inside its core "
                "switch, where the ensemble spread cannot see them)",
                state.step,
                pairs,
            )
        self.core_pairs_max = max(self.core_pairs_max, pairs)
        return pairs > 0

    def _collect(self, state: MDState) -> None:
        pos, _ = wrap(state.positions, state.images, state.cell)
        g = domain.gather(
            self.grid,
            {"ids": state.ids, "numbers": state.numbers, "positions": pos},
            ("ids", "numbers", "positions"),
        )
        if g is None:
            return
        from mlmd.data import Dataset, Frame

        frame = Frame(
            numbers=g["numbers"],
            positions=g["positions"],
            cell=state.cell,
            pbc=np.ones(3, bool),
            source=f"md:step={state.step}",
        )
        reference = {"name": "unlabelled", "origin": "mlmd md uncertainty"}
        Dataset.open_or_create(self.cfg.dataset, reference).upsert([frame])
        self.collected += 1

    def latest(self) -> dict[str, float]:
        """The last reduced spread and core pairs (empty without an ensemble)."""
        return dict(self._latest)

    def summary(self) -> dict:
        return {
            "max_force_std": self.max_seen if self._latest else None,
            "frames_collected": self.collected,
            "core_pairs_max": self.core_pairs_max,
        }
