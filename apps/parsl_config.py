"""Site file → Parsl ``Config``: one executor per workload, labelled by the workload name.

*What* runs is an app (``apps/``), *how* it is launched is the workload's launcher / MPI mode,
*where* is the provider. MPI workloads use Parsl's ``MPIExecutor`` (tasks get
``$PARSL_MPI_PREFIX`` and must name ``num_nodes`` in their resource specification); the others
use the ``HighThroughputExecutor`` with ``workers_per_block`` workers per node.

Parsl writes its own shell lines (the local provider's ``bash SCRIPT``, the worker pool's
``--logdir=…``) without quoting, so a run directory whose path holds a space, ``;``, ``$``,
a quote or a backtick would split those lines or run part of the name. Parsl is therefore
only ever given paths of plain characters: when the run directory's are not, its files (in
``RUN_DIR/parsl``) are reached through a link named by a hash under
``~/.cache/mlmd/parsl-links`` (``MLMD_PARSL_LINKS`` chooses another place; on a cluster it
must be visible from the compute nodes, as the home directory is). What mlmd itself puts
into a shell line (``worker_init``'s exports, the MD command) is quoted with ``shlex``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shlex
import socket
import sys
from pathlib import Path

from parsl.config import Config
from parsl.executors import HighThroughputExecutor, MPIExecutor
from parsl.launchers import SimpleLauncher, SingleNodeLauncher, SrunLauncher
from parsl.providers import LocalProvider, PBSProProvider, SlurmProvider

from mlmd.errors import ConfigError
from mlmd.sites import Site, Workload, merge_sites

#: Characters that pass through an unquoted shell word unchanged.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_./+-]+")


def parsl_dir(run_dir: Path) -> Path:
    """The path under which Parsl keeps its files for ``run_dir`` (see module docstring):
    ``run_dir/parsl`` itself, or a plain-named link to it."""
    real = Path(os.path.abspath(run_dir)) / "parsl"
    real.mkdir(parents=True, exist_ok=True)
    if _PLAIN_PATH.fullmatch(str(real)):
        return real
    links = Path(os.environ.get("MLMD_PARSL_LINKS") or Path.home() / ".cache/mlmd/parsl-links")
    link = Path(os.path.abspath(links)) / hashlib.sha256(str(real).encode()).hexdigest()[:16]
    if not _PLAIN_PATH.fullmatch(str(link)):
        raise ConfigError(
            "the run directory's path holds characters Parsl cannot take, and so does the "
            "place for a link to it",
            file=str(link.parent),
            field="MLMD_PARSL_LINKS",
            fix="set MLMD_PARSL_LINKS to a directory whose path has only letters, digits "
            "and _ . / + -",
        )
    link.parent.mkdir(parents=True, exist_ok=True)
    if not (link.is_symlink() and link.resolve() == real.resolve()):
        tmp = link.with_name(f"{link.name}.tmp-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(real, target_is_directory=True)
        os.replace(tmp, link)
    return link


def _local_nodefile(parsl_root: Path) -> Path:
    """A node file naming this host, so Parsl's MPI mode works without a batch scheduler."""
    path = parsl_root / "nodefile"
    path.write_text(socket.gethostname() + "\n")
    return path


def _provider(workload: Workload, parsl_root: Path):
    worker_init = workload.worker_init.replace("{venv}", shlex.quote(sys.prefix))
    if workload.threads_per_rank:
        worker_init = f"export OMP_NUM_THREADS={workload.threads_per_rank}; {worker_init}"
    blocks = dict(
        init_blocks=workload.init_blocks,
        min_blocks=workload.min_blocks,
        max_blocks=workload.max_blocks,
    )
    if workload.provider == "local":
        if workload.mpi:
            nodefile = shlex.quote(str(_local_nodefile(parsl_root)))
            worker_init = f"export PBS_NODEFILE={nodefile}; {worker_init}"
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


def executor_for(name: str, workload: Workload, parsl_root: Path):
    """The Parsl executor that runs workload ``name``; Parsl's files go under ``parsl_root``
    (a path of plain characters: :func:`parsl_dir`)."""
    provider = _provider(workload, parsl_root)
    common = dict(label=name, provider=provider, worker_logdir_root=str(parsl_root))
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
    parsl_root = parsl_dir(Path(run_dir))
    _put_interpreter_on_path()
    logging.getLogger("parsl").propagate = False  # Parsl's debug log goes to runinfo/, not stderr
    chosen = merge_sites(sites)
    executors = [executor_for(name, wl, parsl_root) for name, (_, wl) in chosen.items()]
    return Config(
        executors=executors,
        run_dir=str(parsl_root / "runinfo"),
        retries=1,
        strategy="simple",
        max_idletime=30,
        initialize_logging=True,
    )
