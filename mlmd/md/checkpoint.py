"""Checkpoints: the full state of a run in one file, written atomically by rank 0.

Contents (``.npz``): every per-atom array of every rank in rank order (``rank`` says whose
row it is, so a restart on the same number of ranks gives each rank its atoms back in the
same order), the positions and cell of the last neighbour-list rebuild (``ref_positions``,
``ref_cell``: the ghost plan and list are rebuilt from them bit for bit), the global
scalars (step, cell, energies, virial, kinetic tensor), the integrator's name and its
variables field by field (``bath/<field>``, e.g. ``bath/heat_eV``), the potential's identity
(JSON: name and a hash of its weights) and the resolved config (JSON). Counter-based noise
needs no RNG state beyond the seed and the step. The file is written through
:func:`mlmd.atomic.atomic_output` (a temporary beside the target, fsync, rename, fsync of the
directory; a killed writer's temporary is removed by the next checkpoint).
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlmd.atomic import atomic_output
from mlmd.errors import InputError
from mlmd.md import domain
from mlmd.md.domain import Grid
from mlmd.md.integrators import INTEGRATORS
from mlmd.md.state import PER_ATOM, MDState

FORMAT = "mlmd.md.checkpoint/2"


@dataclass(frozen=True)
class Restored:
    """A checkpoint read back on one rank: its ``state``; the rebuild reference
    ``ref_positions`` [n_owned, 3] Å and ``ref_cell`` [3, 3] Å (None when the rank grid
    differs and the atoms were redistributed); the ``integrator`` kind; the ``potential``
    identity, the resolved ``config`` of the run that wrote it, and the atomic ``numbers``
    [N] of all its atoms in id order."""

    state: MDState
    ref_positions: np.ndarray | None
    ref_cell: np.ndarray | None
    integrator: str
    potential: dict
    config: dict
    numbers: np.ndarray


def _bath_arrays(bath) -> dict[str, np.ndarray]:
    if bath is None:
        return {}
    return {f"bath/{f.name}": np.asarray(getattr(bath, f.name)) for f in dataclasses.fields(bath)}


def _bath_from(integrator: str, meta: dict):
    cls = INTEGRATORS[integrator].Vars
    if cls is None:
        return None
    values = {}
    for f in dataclasses.fields(cls):
        v = np.array(meta[f"bath/{f.name}"])
        values[f.name] = float(v) if v.ndim == 0 else v
    return cls(**values)


def write_checkpoint(
    path: str | Path,
    grid: Grid,
    state: MDState,
    reference: tuple[np.ndarray, np.ndarray],
    config: dict,
    *,
    integrator: str,
    potential: dict,
) -> None:
    """Gather the state on rank 0 and write it atomically to ``path`` (collective).

    ``reference``: the last rebuild's owned positions and cell
    (:meth:`mlmd.md.engine.Engine.rebuild_reference`); ``integrator``: the kind whose
    variables ``state.bath`` holds; ``potential``: its identity
    (:meth:`mlmd.md.forces.ForceField.identity`)."""
    local = {k: getattr(state, k) for k in PER_ATOM}
    ref_positions, ref_cell = reference
    local["ref_positions"] = ref_positions
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
        ref_cell=ref_cell,
        potential_energy=np.array(state.potential_energy),
        virial=state.virial,
        kinetic=state.kinetic,
        n_atoms=np.array(state.n_atoms),
        dof=np.array(state.dof),
        config=np.array(json.dumps(config)),
        integrator=np.array(integrator),
        potential=np.array(json.dumps(potential)),
        **_bath_arrays(state.bath),
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    grid.comm.Barrier()


def _load(path: str | Path) -> tuple[dict | None, str | None]:
    """(arrays, None) or (None, what is wrong)."""
    try:
        with np.load(path) as npz:
            data = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        return None, f"not a readable .npz file: {type(exc).__name__}: {exc}"
    found = str(data.get("format", "none"))
    if found.startswith("mlmd.md.checkpoint/") and found != FORMAT:
        return None, (
            f"checkpoint format {found} was written by an older mlmd; this one reads {FORMAT} "
            "only: rerun from the start (or finish the run with the mlmd that wrote it)"
        )
    if found != FORMAT:
        return None, f"not an mlmd MD checkpoint (format {found!r})"
    return data, None


def read_checkpoint(path: str | Path, grid: Grid) -> Restored:
    """Load a checkpoint on every rank (collective).

    With the same rank count and grid each rank gets its own atoms in their saved order
    plus the rebuild reference (for a bitwise continuation); otherwise atoms are
    redistributed by position and the reference is None (a fresh rebuild).
    """
    data, error = _load(path) if grid.rank == 0 else (None, None)
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
        meta["numbers_by_id"] = data["numbers"][np.argsort(data["ids"], kind="stable")]
    meta = grid.comm.bcast(meta, root=0)
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
    integrator = str(meta["integrator"])
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
        bath=_bath_from(integrator, meta),
    )
    return Restored(
        state,
        ref,
        ref_cell,
        integrator,
        json.loads(str(meta["potential"])),
        json.loads(str(meta["config"])),
        meta["numbers_by_id"],
    )


def mismatch(restored: Restored, potential: dict, numbers: np.ndarray | None, structure: dict):
    """What differs between a checkpoint and the run asked to continue it (empty: nothing).

    Args:
        potential: this run's potential identity (:meth:`ForceField.identity`).
        numbers: [N] atomic numbers of this config's start structure in id order, when it
            was cheap to read (a file or a given structure); else None.
        structure: this config's ``[structure]`` table (compared when ``numbers`` is None:
            builders are deterministic, so the same table builds the same atoms).
    """
    found = []
    mine, theirs = potential.get("sha256"), restored.potential.get("sha256")
    if mine != theirs:
        found.append(
            f"potential: the checkpoint's is {restored.potential.get('name')!r} "
            f"(weights sha256 {str(theirs)[:12]}…), this config's {potential.get('name')!r} "
            f"(sha256 {str(mine)[:12]}…)"
        )
    if numbers is not None:
        n_ck, n_me = len(restored.numbers), len(numbers)
        if n_ck != n_me:
            found.append(f"atoms: the checkpoint has {n_ck}, this config's structure {n_me}")
        elif not np.array_equal(restored.numbers, numbers):
            first = int(np.nonzero(restored.numbers != numbers)[0][0])
            found.append(
                f"species: atom {first} is Z={int(restored.numbers[first])} in the checkpoint, "
                f"Z={int(numbers[first])} in this config's structure"
            )
    else:
        theirs = restored.config.get("structure", {})
        for key in sorted(set(theirs) | set(structure)):
            if theirs.get(key) != structure.get(key):
                found.append(
                    f"structure.{key}: the checkpoint's run has {theirs.get(key)!r}, "
                    f"this config {structure.get(key)!r}"
                )
    return found
