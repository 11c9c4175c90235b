"""The MD process setup: torch threads follow the site's OMP_NUM_THREADS."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("env, expected", [("3", 3), ("", None)])
def test_threads_follow_omp_num_threads(monkeypatch, env, expected):
    """torch_threads = 0 takes what the site gave the worker (OMP_NUM_THREADS), so an MD task
    in a shared Parsl worker cannot oversubscribe the tasks that follow it there."""
    import os

    import torch
    from mpi4py import MPI

    from mlmd.md.process import set_threads

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", env)
    try:
        set_threads(0, MPI.COMM_WORLD)
        assert torch.get_num_threads() == (expected or max(1, os.cpu_count() or 1))
        set_threads(2, MPI.COMM_WORLD)  # an explicit request wins
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
