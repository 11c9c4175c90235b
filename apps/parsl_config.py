"""Site file → Parsl ``Config``: one executor per workload, labelled by the workload name.

*What* runs is an app (``apps/``), *how* it is launched is the workload's launcher / MPI mode,
*where* is the provider. MPI workloads use Parsl's ``MPIExecutor`` (tasks get
``$PARSL_MPI_PREFIX`` and must name ``num_nodes`` in their resource specification); the others
use the ``HighThroughputExecutor`` with ``workers_per_block`` workers per node.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

from parsl.config import Config
from parsl.executors import HighThroughputExecutor, MPIExecutor
from parsl.launchers import SimpleLauncher, SingleNodeLauncher, SrunLauncher
from parsl.providers import LocalProvider, PBSProProvider, SlurmProvider

from mlmd.sites import Site, Workload, merge_sites


def _local_nodefile(run_dir: Path) -> Path:
    """A node file naming this host, so Parsl's MPI mode works without a batch scheduler."""
    path = run_dir / "parsl" / "nodefile"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(socket.gethostname() + "\n")
    return path


def _provider(workload: Workload, run_dir: Path):
    worker_init = workload.worker_init.replace("{venv}", sys.prefix)
    if workload.threads_per_rank:
        worker_init = f"export OMP_NUM_THREADS={workload.threads_per_rank}; {worker_init}"
    blocks = dict(
        init_blocks=workload.init_blocks,
        min_blocks=workload.min_blocks,
        max_blocks=workload.max_blocks,
    )
    if workload.provider == "local":
        if workload.mpi:
            worker_init = f"export PBS_NODEFILE={_local_nodefile(run_dir)}; {worker_init}"
        launcher = SimpleLauncher() if workload.mpi else SingleNodeLauncher()
        return LocalProvider(worker_init=worker_init, launcher=launcher, **blocks)
    common = dict(
        nodes_per_block=workload.nodes_per_block,
        walltime=workload.walltime,
        worker_init=worker_init,
        scheduler_options=workload.scheduler_options,
        account=workload.account or None,
        **blocks,
    )
    if workload.provider == "slurm":
        launcher = SimpleLauncher() if workload.mpi else SrunLauncher()
        return SlurmProvider(
            partition=workload.partition or None,
            qos=workload.qos or None,
            launcher=launcher,
            exclusive=False,
            **common,
        )
    launcher = SimpleLauncher() if workload.mpi else SingleNodeLauncher()
    return PBSProProvider(queue=workload.partition or None, launcher=launcher, **common)


def executor_for(name: str, workload: Workload, run_dir: Path):
    """The Parsl executor that runs workload ``name``."""
    provider = _provider(workload, run_dir)
    common = dict(label=name, provider=provider, worker_logdir_root=str(run_dir / "parsl"))
    if workload.mpi:
        return MPIExecutor(
            max_workers_per_block=workload.workers_per_block,
            mpi_launcher=workload.mpi_launcher,
            **common,
        )
    accelerators = (
        [str(i) for i in range(workload.workers_per_block * workload.gpus_per_task)]
        if workload.gpus_per_task
        else []
    )
    return HighThroughputExecutor(
        max_workers_per_node=workload.workers_per_block,
        cores_per_worker=workload.ranks_per_task * workload.threads_per_rank,
        available_accelerators=accelerators,
        **common,
    )


def _put_interpreter_on_path() -> None:
    """Parsl starts ``interchange.py`` and ``process_worker_pool.py`` (and tasks start
    ``mpiexec``) by name: make this interpreter's scripts directory win, as an activated
    virtual environment would."""
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if path[:1] != [scripts]:
        os.environ["PATH"] = os.pathsep.join([scripts, *[p for p in path if p != scripts]])


def parsl_config(sites: list[Site], run_dir: str | Path) -> Config:
    """A fresh Parsl ``Config`` running each workload where the site files declare it."""
    run_dir = Path(run_dir).resolve()
    _put_interpreter_on_path()
    logging.getLogger("parsl").propagate = False  # Parsl's debug log goes to runinfo/, not stderr
    chosen = merge_sites(sites)
    executors = [executor_for(name, wl, run_dir) for name, (_, wl) in chosen.items()]
    return Config(
        executors=executors,
        run_dir=str(run_dir / "parsl" / "runinfo"),
        retries=1,
        strategy="simple",
        max_idletime=30,
        initialize_logging=True,
    )
