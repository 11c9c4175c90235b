"""Checkpoints: the full state of a run in one file, written atomically by rank 0.

Contents (``.npz``): every per-atom array of every rank in rank order (``rank`` says whose
row it is, so a restart on the same number of ranks gives each rank its atoms back in the
same order), the positions and cell of the last neighbour-list rebuild (``ref_positions``,
``ref_cell``: the ghost plan and list are rebuilt from them bit for bit), the global
scalars (step, cell, energies, virial, kinetic tensor), the integrator variables
(``extra/<name>``) and the resolved config (JSON). Counter-based noise needs no RNG state
beyond the seed and the step. The file is written to ``<path>.tmp``, fsynced and renamed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from mlmd.errors import InputError
from mlmd.md import domain
from mlmd.md.domain import Grid
from mlmd.md.state import PER_ATOM, MDState

FORMAT = "mlmd.md.checkpoint/1"


def write_checkpoint(path: str | Path, grid: Grid, state: MDState, plan, config: dict) -> None:
    """Gather the state on rank 0 and write it atomically to ``path`` (collective)."""
    local = {k: getattr(state, k) for k in PER_ATOM}
    local["ref_positions"] = plan.positions[: plan.n_owned]
    local["rank"] = np.full(state.n_owned, grid.rank, dtype=np.int64)
    parts = grid.comm.gather(local, root=0)
    if grid.rank != 0:
        grid.comm.Barrier()
        return
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    arrays.update(
        format=np.array(FORMAT),
        n_ranks=np.array(grid.size),
        dims=np.array(grid.dims),
        step=np.array(state.step),
        dt_fs=np.array(state.dt_fs),
        cell=state.cell,
        ref_cell=plan.cell,
        potential_energy=np.array(state.potential_energy),
        virial=state.virial,
        kinetic=state.kinetic,
        n_atoms=np.array(state.n_atoms),
        dof=np.array(state.dof),
        config=np.array(json.dumps(config)),
        **{f"extra/{k}": v for k, v in state.extra.items()},
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    grid.comm.Barrier()


def read_checkpoint(path: str | Path, grid: Grid):
    """Load a checkpoint on every rank (collective).

    Returns ``(state, ref_positions | None, ref_cell | None, config dict)``: with the same
    rank count and grid each rank gets its own atoms in their saved order plus the rebuild
    reference (for a bitwise continuation); otherwise atoms are redistributed by position
    and the reference is None (a fresh rebuild).
    """
    data, error = None, None
    if grid.rank == 0:
        try:
            with np.load(path) as npz:
                data = {k: npz[k] for k in npz.files}
            if str(data.get("format")) != FORMAT:
                error = "not an mlmd MD checkpoint"
        except (OSError, ValueError) as exc:
            error = str(exc)
    error = grid.comm.bcast(error, root=0)
    if error is not None:
        raise InputError(f"cannot read checkpoint ({error})", file=str(path), field="--restart")
    meta, parts = None, None
    if grid.rank == 0:
        per_atom = {k: data[k] for k in (*PER_ATOM, "ref_positions")}
        same = int(data["n_ranks"]) == grid.size and tuple(data["dims"]) == grid.dims
        if same:
            parts = [
                {k: v[data["rank"] == r] for k, v in per_atom.items()} for r in range(grid.size)
            ]
        meta = {k: v for k, v in data.items() if k not in per_atom and k != "rank"}
        meta["same"] = same
        meta["all"] = None if same else per_atom
    meta = grid.comm.bcast(
        None if meta is None else {k: v for k, v in meta.items() if k != "all"}, root=0
    )
    if meta["same"]:
        mine = grid.comm.scatter(parts, root=0)
        ref = mine.pop("ref_positions")
        ref_cell = meta["ref_cell"]
    else:
        whole = None
        if grid.rank == 0:
            whole = {k: data[k] for k in PER_ATOM}
        mine = domain.distribute(grid, whole, meta["cell"])
        ref, ref_cell = None, None
    extra = {k.split("/", 1)[1]: np.array(v) for k, v in meta.items() if k.startswith("extra/")}
    state = MDState(
        **{k: mine[k] for k in PER_ATOM},
        cell=np.array(meta["cell"]),
        step=int(meta["step"]),
        dt_fs=float(meta["dt_fs"]),
        potential_energy=float(meta["potential_energy"]),
        virial=np.array(meta["virial"]),
        kinetic=np.array(meta["kinetic"]),
        n_atoms=int(meta["n_atoms"]),
        dof=int(meta["dof"]),
        extra=extra,
    )
    return state, ref, ref_cell, json.loads(str(meta["config"]))
