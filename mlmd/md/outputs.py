"""What a run writes as it goes: H5MD frames and observables, and the thermo log.

:class:`Outputs` decides from ``[output]`` which step writes what, gathers frames to rank 0,
and writes each observable row from :mod:`mlmd.md.observables` (one table of names) to the
trajectory and the thermo log. Collective: every rank calls :meth:`Outputs.record`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from mlmd.md import domain
from mlmd.md.config import OutputConfig
from mlmd.md.domain import Grid
from mlmd.md.h5md import H5MDWriter
from mlmd.md.observables import PRESSURE_TENSOR, TABLE, pressure_tensor_GPa
from mlmd.md.state import MDState, wrap
from mlmd.md.thermo import ThermoLog

_FRAME_KEYS = ("ids", "positions", "images", "velocities", "forces")


def output_paths(directory: str | Path) -> dict[str, Path]:
    """The files of an output directory: ``trajectory``, ``thermo``, ``checkpoint``."""
    out = Path(directory)
    return {
        "trajectory": out / "trajectory.h5",
        "thermo": out / "thermo.log",
        "checkpoint": out / "checkpoint.npz",
    }


class Outputs:
    """The trajectory writer and thermo log of one run (files open on rank 0 only).

    Args:
        cfg: the ``[output]`` section.
        grid: the rank grid.
        state: the first state (its species, masses and ids go into the trajectory).
        config_map: the resolved run config (stored in the trajectory).
        restarted: continue existing files from ``state.step`` instead of starting them.
        echo: also print thermo rows to stdout (rank 0).
    """

    def __init__(
        self,
        cfg: OutputConfig,
        grid: Grid,
        state: MDState,
        config_map: dict,
        *,
        restarted: bool,
        echo: bool,
    ):
        self.cfg, self.grid = cfg, grid
        self.paths = output_paths(cfg.directory)
        self.writer: H5MDWriter | None = None
        self.thermo: ThermoLog | None = None
        self._clock = (time.perf_counter(), state.step)
        first = domain.gather(grid, state.atoms(), ("ids", "numbers", "masses"))
        if grid.rank != 0:
            return
        if cfg.trajectory_every or cfg.pressure_tensor_every:
            self.writer = H5MDWriter(
                self.paths["trajectory"],
                first["numbers"],
                first["masses"],
                first["ids"],
                config_map,
                velocities=cfg.velocities,
                forces=cfg.forces,
                restart_step=state.step if restarted else None,
            )
        echo_to = sys.stdout if echo else None
        restart_step = state.step if restarted else None
        self.thermo = ThermoLog(self.paths["thermo"], restart_step=restart_step, echo=echo_to)

    def record(self, state: MDState, measure: Callable[[], dict], force: bool = False) -> bool:
        """Write what is due at ``state.step``: a frame every ``trajectory_every`` steps, the
        pressure tensor every ``pressure_tensor_every`` steps, observables (``measure()``)
        every ``thermo_every`` steps or when ``force``d. True when an observables row was
        written (the same on every rank)."""
        o, step = self.cfg, state.step
        if o.trajectory_every and step % o.trajectory_every == 0:
            self._frame(state)
        if self.writer is not None and o.pressure_tensor_every:
            if step % o.pressure_tensor_every == 0:
                tensor = {PRESSURE_TENSOR.name: pressure_tensor_GPa(state)}
                self.writer.write_observables(step, state.time_fs, tensor)
        if o.thermo_every and (step % o.thermo_every == 0 or force):
            self._observables(state, measure())
            return True
        return False

    def _observables(self, state: MDState, values: dict) -> None:
        now, (then, step0) = time.perf_counter(), self._clock
        rate = (state.step - step0) * state.n_atoms / (now - then) if state.step > step0 else None
        self._clock = (now, state.step)
        if self.grid.rank != 0:
            return
        if self.writer is not None:
            self.writer.write_observables(state.step, state.time_fs, values)
        columns = {o.column: values.get(o.name) for o in TABLE if o.column}
        self.thermo.row(
            step=state.step, time_ps=state.time_fs * 1e-3, atom_steps_per_s=rate, **columns
        )

    def _frame(self, state: MDState) -> None:
        pos, img = wrap(state.positions, state.images, state.cell)
        atoms = {**state.atoms(), "positions": pos, "images": img}
        g = domain.gather(self.grid, atoms, _FRAME_KEYS)
        if g is not None:
            self.writer.write_frame(
                state.step,
                state.time_fs,
                state.cell,
                g["positions"],
                g["images"],
                velocities=g["velocities"],
                forces=g["forces"],
            )

    def flush(self) -> None:
        """Everything queued to the files (before a checkpoint: a crash then loses nothing
        up to the checkpoint's step)."""
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        for f in (self.writer, self.thermo):
            if f is not None:
                f.close()
