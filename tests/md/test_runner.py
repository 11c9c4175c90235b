"""The runner's per-rank setup: torch threads follow the site's OMP_NUM_THREADS."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("env, expected", [("3", 3), ("", None)])
def test_threads_follow_omp_num_threads(monkeypatch, env, expected):
    """torch_threads = 0 takes what the site gave the worker (OMP_NUM_THREADS), so an MD task
    in a shared Parsl worker cannot oversubscribe the tasks that follow it there."""
    import os

    import torch
    from mpi4py import MPI

    from mlmd.md.runner import set_threads

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", env)
    try:
        set_threads(0, MPI.COMM_WORLD)
        assert torch.get_num_threads() == (expected or max(1, os.cpu_count() or 1))
        set_threads(2, MPI.COMM_WORLD)  # an explicit request wins
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_on_output_is_called_with_the_step_of_every_observables_row(tmp_path):
    """A caller's own progress (e.g. `mlmd validate`'s bar over several runs) advances at
    every thermo row, not only when run_md returns."""
    from mlmd.md import run_md
    from tests.md.helpers import Morse, fcc_crystal, small_config

    steps: list[int] = []
    cfg = small_config(tmp_path, steps=12, output={"thermo_every": 5, "trajectory_every": 0})
    run_md(cfg, potential=Morse(), structure=fcc_crystal((3, 3, 3)), echo=False,
           on_output=steps.append)  # fmt: skip
    assert steps == [0, 5, 10]
    rows = (tmp_path / "thermo.log").read_text().splitlines()
    assert [int(r.split()[0]) for r in rows if not r.startswith("#")] == steps
