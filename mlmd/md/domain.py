"""Spatial decomposition: a 3-D grid of ranks, and the four LAMMPS-style communications.

Each rank owns the atoms whose fractional coordinates fall in its brick of the unit cube
(the cell may be triclinic; bricks are parallelepipeds). Ghosts are copies of atoms within
``depth`` Å of a brick, built in three stages (x, then y, then z; each stage forwards the
ghosts of the earlier ones, so edges and corners come for free), as in LAMMPS
``comm_brick.cpp``:

- :func:`exchange` wraps positions into the cell and migrates atoms to their owner;
- :func:`borders` builds the ghosts and saves the plan (:class:`Plan`);
- :func:`forward` refreshes ghost positions from the owners, following the plan;
- :func:`reverse` sends ghost forces back and sums them onto their owners.

One rank runs the same code: its neighbours are itself and its ghosts are its own periodic
images. A brick thinner than the ghost depth gets its ghosts over several hops per direction
(LAMMPS's multiple swaps), so any cell runs on any rank count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from mlmd.errors import InputError
from mlmd.md.state import PER_ATOM, concat, take, wrap

AXES = "xyz"


@dataclass(frozen=True)
class Grid:
    """A periodic 3-D Cartesian grid of ranks.

    Attributes:
        comm: the Cartesian communicator.
        dims: ranks per axis.
        coords: this rank's grid coordinates.
        lower / upper: rank of the neighbour below / above along each axis.
        rank_of: [dims] array mapping grid coordinates to ranks.
    """

    comm: MPI.Cartcomm
    dims: tuple[int, int, int]
    coords: tuple[int, int, int]
    lower: tuple[int, int, int]
    upper: tuple[int, int, int]
    rank_of: np.ndarray

    @property
    def rank(self) -> int:
        return self.comm.Get_rank()

    @property
    def size(self) -> int:
        return self.comm.Get_size()

    def brick(self) -> tuple[np.ndarray, np.ndarray]:
        """Fractional bounds (lo [3], hi [3]) of this rank's brick."""
        d, c = np.asarray(self.dims), np.asarray(self.coords)
        return c / d, (c + 1) / d

    def owner_coords(self, frac: np.ndarray) -> np.ndarray:
        """[n, 3] grid coordinates owning fractional positions ``frac`` [n, 3]."""
        dims = np.asarray(self.dims)
        return np.clip(np.floor(frac * dims).astype(np.int64), 0, dims - 1)

    def owner_ranks(self, frac: np.ndarray) -> np.ndarray:
        c = self.owner_coords(frac)
        return self.rank_of[c[:, 0], c[:, 1], c[:, 2]]


def make_grid(comm: MPI.Comm, dims: tuple[int, int, int] | None = None) -> Grid:
    """Split ``comm`` into a periodic 3-D grid (``MPI.Compute_dims(size, 3)`` by default)."""
    size = comm.Get_size()
    dims = tuple(dims) if dims is not None else tuple(MPI.Compute_dims(size, 3))
    if len(dims) != 3 or int(np.prod(dims)) != size or min(dims) < 1:
        raise InputError(
            f"decomposition {list(dims)} does not multiply to the {size} ranks running",
            field="decomposition",
            fix=f"give three positive integers whose product is {size}, or leave it out",
        )
    cart = comm.Create_cart(list(dims), periods=[True] * 3, reorder=False)
    lower, upper = zip(*(cart.Shift(d, 1) for d in range(3)), strict=True)
    rank_of = np.zeros(dims, dtype=np.int64)
    for idx in np.ndindex(*dims):
        rank_of[idx] = cart.Get_cart_rank(list(idx))
    return Grid(cart, dims, tuple(cart.Get_coords(cart.Get_rank())), lower, upper, rank_of)


def fractional(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """[n, 3] fractional coordinates of Cartesian ``positions`` (rows-are-vectors cell)."""
    return positions @ np.linalg.inv(cell)


def plane_spacings(cell: np.ndarray) -> np.ndarray:
    """[3] Å distance between opposite faces of the cell along each lattice direction."""
    return 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)


def exchange(grid: Grid, atoms: dict[str, np.ndarray], cell: np.ndarray) -> dict:
    """Wrap positions into the cell and migrate every atom to the rank that owns it.

    Per-atom arrays travel with their atom; atoms are sent one neighbour at a time along x,
    y, z, repeating while any atom is still on the wrong rank (an atom that crossed more
    than one brick hops on). Returns this rank's owned atoms (dict of per-atom arrays).
    """
    atoms = dict(atoms)
    atoms["positions"], atoms["images"] = wrap(atoms["positions"], atoms["images"], cell)
    for d in range(3):
        n_dim, me = grid.dims[d], grid.coords[d]
        if n_dim == 1:
            continue
        for _ in range(n_dim):
            c = grid.owner_coords(fractional(atoms["positions"], cell))[:, d]
            away = c != me
            if not grid.comm.allreduce(int(away.any()), op=MPI.MAX):
                break
            up = away & (((c - me) % n_dim) <= n_dim // 2)
            down = away & ~up
            if n_dim == 2:  # both neighbours are the same rank: send everything one way
                up, down = away, np.zeros_like(away)
            keep = take(atoms, ~away)
            from_up = grid.comm.sendrecv(
                take(atoms, down), dest=grid.lower[d], source=grid.upper[d]
            )
            from_down = grid.comm.sendrecv(
                take(atoms, up), dest=grid.upper[d], source=grid.lower[d]
            )
            atoms = concat([keep, from_up, from_down])
    return atoms


@dataclass(frozen=True)
class Swap:
    """One stage of the ghost plan: what this rank sends where, and what it receives.

    Attributes:
        send_index: [k] rows of the local (owned + ghost) arrays sent.
        shift: [3] int periodic image shift applied to the sent positions.
        dest / source: ranks sent to / received from.
        recv_start / n_recv: where the received ghosts land in the local arrays.
    """

    send_index: np.ndarray
    shift: np.ndarray
    dest: int
    source: int
    recv_start: int
    n_recv: int


@dataclass(frozen=True)
class Plan:
    """The saved ghost plan of one rebuild: owned atoms first, then ghosts stage by stage.

    Attributes:
        swaps: the stages, in order.
        n_owned / n_local: owned atoms / owned + ghost atoms.
        numbers: [n_local] atomic numbers.
        ids: [n_local] global ids (ghosts repeat their owner's id).
        positions: [n_local, 3] Å local positions at the rebuild (reference for the skin).
        cell: [3, 3] Å cell at the rebuild.
        depth_A: ghost depth in Å.
    """

    swaps: tuple[Swap, ...]
    n_owned: int
    n_local: int
    numbers: np.ndarray
    ids: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    depth_A: float


def borders(grid: Grid, atoms: dict[str, np.ndarray], cell: np.ndarray, depth_A: float) -> Plan:
    """Build ghosts ``depth_A`` deep around this rank's brick and save the plan.

    ``atoms`` are this rank's owned atoms as left by :func:`exchange` (inside the brick).
    Where the depth exceeds a brick's thickness (small cells, many ranks), each direction
    takes several hops: a hop forwards the ghosts the previous one brought that are still
    within the depth, so the ghosts of a cell thinner than the depth are its next images.
    """
    lo, hi = grid.brick()
    depth = depth_A / plane_spacings(cell)  # fractional depth per axis
    hops = np.maximum(np.ceil(depth * np.asarray(grid.dims) - 1e-12), 1).astype(int)
    local = [
        (atoms["positions"], fractional(atoms["positions"], cell), atoms["numbers"], atoms["ids"])
    ]
    n_local = len(atoms["ids"])
    swaps = []
    for d in range(3):
        n_before = n_local
        first = tuple(np.concatenate(column) for column in zip(*local, strict=True))
        for direction in (-1, 1):
            rows, pool = np.arange(n_before), first
            dest, source = (
                (grid.lower[d], grid.upper[d]) if direction < 0 else (grid.upper[d], grid.lower[d])
            )
            shift = np.zeros(3, np.int64)
            if grid.coords[d] == (0 if direction < 0 else grid.dims[d] - 1):  # across the cell edge
                shift[d] = -direction
            for _ in range(hops[d]):
                s = pool[1][:, d]
                near = s < lo[d] + depth[d] if direction < 0 else s >= hi[d] - depth[d]
                send = np.nonzero(near)[0]
                out = (
                    pool[0][send] + shift @ cell,
                    pool[1][send] + shift,
                    pool[2][send],
                    pool[3][send],
                )
                got = (
                    out
                    if dest == grid.rank == source
                    else grid.comm.sendrecv(out, dest, source=source)
                )
                local.append(got)
                swaps.append(Swap(rows[send], shift, dest, source, n_local, len(got[0])))
                rows, pool = np.arange(n_local, n_local + len(got[0])), got
                n_local += len(got[0])
    pos, _, num, ids = (np.concatenate(column) for column in zip(*local, strict=True))
    return Plan(
        swaps=tuple(swaps),
        n_owned=len(atoms["ids"]),
        n_local=n_local,
        numbers=num,
        ids=ids,
        positions=pos,
        cell=cell.copy(),
        depth_A=depth_A,
    )


def _sendrecv(grid: Grid, buf: np.ndarray, dest: int, source: int, n_recv: int) -> np.ndarray:
    if dest == grid.rank == source:
        return buf
    out = np.empty((n_recv, *buf.shape[1:]), dtype=np.float64)
    grid.comm.Sendrecv(np.ascontiguousarray(buf), dest=dest, recvbuf=out, source=source)
    return out


def forward(grid: Grid, plan: Plan, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """[n_local, 3] Å: owned ``positions`` followed by ghost positions refreshed by the plan."""
    local = np.empty((plan.n_local, 3), dtype=np.float64)
    local[: plan.n_owned] = positions
    for sw in plan.swaps:
        buf = local[sw.send_index] + sw.shift @ cell
        local[sw.recv_start : sw.recv_start + sw.n_recv] = _sendrecv(
            grid, buf, sw.dest, sw.source, sw.n_recv
        )
    return local


def reverse(grid: Grid, plan: Plan, forces: np.ndarray) -> np.ndarray:
    """[n_owned, ...]: local per-atom vectors [n_local, ...] (forces [n_local, 3], or several
    members' forces [n_local, 3K]) with every ghost's row summed onto its owner."""
    acc = np.array(forces, dtype=np.float64, copy=True)
    for sw in reversed(plan.swaps):
        ghost = acc[sw.recv_start : sw.recv_start + sw.n_recv]
        back = _sendrecv(grid, ghost, sw.source, sw.dest, len(sw.send_index))
        acc[sw.send_index] += back
    return acc[: plan.n_owned]


def distribute(grid: Grid, atoms: dict[str, np.ndarray] | None, cell: np.ndarray) -> dict:
    """Scatter a whole structure held on rank 0 (``atoms``; None elsewhere) to its owners."""
    parts = None
    if grid.rank == 0:
        frac = fractional(atoms["positions"], cell)
        owner = grid.owner_ranks(frac - np.floor(frac))
        parts = [take(atoms, owner == r) for r in range(grid.size)]
    return exchange(grid, grid.comm.scatter(parts, root=0), cell)


def gather(grid: Grid, atoms: dict[str, np.ndarray], keys=PER_ATOM) -> dict | None:
    """Gather per-atom arrays on rank 0, sorted by id (None on other ranks)."""
    parts = grid.comm.gather({k: atoms[k] for k in keys}, root=0)
    if parts is None:
        return None
    merged = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    order = np.argsort(merged["ids"], kind="stable")
    return {k: v[order] for k, v in merged.items()}
