"""The process an MD run lives in: its device (one GPU per rank by local rank), its torch CPU
threads, and the stop signals (SIGTERM, SIGUSR1) it notices between steps."""

from __future__ import annotations

import os
import signal

import torch
from mpi4py import MPI

from mlmd.errors import InputError


def pick_device(name: str, comm: MPI.Comm) -> torch.device:
    """``cpu``, or ``cuda:<local rank mod GPUs>`` for ``cuda`` (and ``auto`` when present)."""
    has_cuda = torch.cuda.is_available()
    if name == "cuda" and not has_cuda:
        raise InputError("no CUDA device is visible", field="device", fix="use 'auto' or 'cpu'")
    if name == "cpu" or not has_cuda:
        return torch.device("cpu")
    local = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
    return torch.device(f"cuda:{local % torch.cuda.device_count()}")


def set_threads(requested: int, comm: MPI.Comm) -> None:
    """Torch CPU threads per rank: ``requested``; else ``OMP_NUM_THREADS`` when the launcher
    or site set it (a Parsl worker that shares the node with others); else the node's cores
    shared among its ranks. More threads than cores makes OpenMP spin: measured 25× slower
    training in a worker whose earlier MD task had raised its thread count."""
    if requested <= 0:
        from_env = os.environ.get("OMP_NUM_THREADS", "")
        if from_env.isdigit() and int(from_env) > 0:
            requested = int(from_env)
        else:
            local = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_size()
            requested = max(1, (os.cpu_count() or 1) // local)
    torch.set_num_threads(requested)


class Signals:
    """Remembers SIGTERM/SIGUSR1; restores the old handlers on exit."""

    def __init__(self):
        self.caught: int | None = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame) -> None:
        self.caught = signum

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
