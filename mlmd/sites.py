"""Site files: where each workload runs (TOML → validated, frozen config).

A site file declares, per workload (``dft``, ``train``, ``md``, ``analysis``), the batch
provider, how big a block of nodes is, how a task is launched (MPI ranks, threads, GPUs) and
what runs on a node before work starts. Unknown keys are errors that name the key. Building
the Parsl ``Config`` from this happens in ``apps/`` (mlmd never imports Parsl).

Example (``sites/local.toml`` is the default)::

    [site]
    name = "local"

    [workloads.dft]
    provider = "local"
    workers_per_block = 1
    ranks_per_task = 2
    launcher = "mpiexec.openmpi --allow-run-as-root -np {ranks}"
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlmd.config import from_mapping, load_toml
from mlmd.errors import ConfigError

WORKLOADS = ("dft", "train", "md", "analysis")


@dataclass(frozen=True)
class Workload:
    """How and where one kind of task runs.

    Attributes:
        provider: ``local`` (this machine), ``slurm`` or ``pbs``.
        mpi: tasks are MPI programs launched by Parsl's MPI executor (``$PARSL_MPI_PREFIX``);
            when false each task gets ``ranks_per_task`` cores and launches itself through
            ``launcher`` (a command prefix; ``{ranks}`` is replaced by the rank count).
        workers_per_block: concurrent tasks per block (per node for non-MPI workloads).
        ranks_per_task: MPI ranks (or cores) per task.
        threads_per_rank: OpenMP threads per rank (OMP_NUM_THREADS).
        gpus_per_task: GPUs per task (0: CPU); a task sees them via CUDA_VISIBLE_DEVICES.
        nodes_per_block, init_blocks, min_blocks, max_blocks: the batch-job shape.
        walltime: ``HH:MM:SS`` per block.
        partition, account, qos: scheduler fields (Slurm partition or PBS queue).
        scheduler_options: extra lines for the job script (``#SBATCH ...``).
        worker_init: shell run on each node before workers start (modules, venv).
        launcher: command prefix for programs that are not Python MPI (CP2K).
        mpi_launcher: Parsl's launcher for MPI tasks: ``mpiexec``, ``srun`` or ``aprun``.
    """

    provider: Literal["local", "slurm", "pbs"] = "local"
    mpi: bool = False
    workers_per_block: int = 1
    ranks_per_task: int = 1
    threads_per_rank: int = 1
    gpus_per_task: int = 0
    nodes_per_block: int = 1
    init_blocks: int = 1
    min_blocks: int = 0
    max_blocks: int = 1
    walltime: str = "01:00:00"
    partition: str = ""
    account: str = ""
    qos: str = ""
    scheduler_options: str = ""
    worker_init: str = ""
    launcher: str = ""
    mpi_launcher: Literal["mpiexec", "srun", "aprun"] = "mpiexec"

    def __post_init__(self) -> None:
        for name in ("workers_per_block", "ranks_per_task", "threads_per_rank", "nodes_per_block"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1")
        if self.gpus_per_task < 0 or self.min_blocks < 0 or self.max_blocks < 1:
            raise ValueError("gpus_per_task and min_blocks must be ≥ 0, max_blocks ≥ 1")
        parts = self.walltime.split(":")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError(f"walltime {self.walltime!r} must be HH:MM:SS")
        if self.provider == "local" and self.nodes_per_block != 1:
            raise ValueError("the local provider has exactly one node: nodes_per_block = 1")

    def launch_prefix(self, ranks: int | None = None) -> str:
        """The command prefix that starts a non-Python MPI program with ``ranks`` ranks."""
        return self.launcher.replace("{ranks}", str(ranks or self.ranks_per_task))

    @property
    def walltime_s(self) -> int:
        h, m, s = (int(p) for p in self.walltime.split(":"))
        return 3600 * h + 60 * m + s


@dataclass(frozen=True)
class SiteInfo:
    """Descriptive fields of a site."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class Site:
    """A whole site file: its name and the workloads it runs."""

    site: SiteInfo
    workloads: dict[str, Workload] = field(default_factory=dict)
    path: str = ""

    @property
    def name(self) -> str:
        return self.site.name

    def workload(self, name: str) -> Workload:
        """The workload ``name``; a clear error if this site does not declare it."""
        if name not in self.workloads:
            raise ConfigError(
                f"this site does not declare workload '{name}'",
                file=self.path or self.name,
                field=f"workloads.{name}",
                fix=f"add a [workloads.{name}] table or pass another --site that has it",
            )
        return self.workloads[name]


def load_site(path: str | os.PathLike) -> Site:
    """Read and validate a site file. Errors name the file and the dotted key."""
    path = Path(path)
    data = load_toml(path)
    site = from_mapping(Site, {**data, "path": str(path)}, source=str(path))
    unknown = sorted(set(site.workloads) - set(WORKLOADS))
    if unknown:
        raise ConfigError(
            "unknown workload",
            file=str(path),
            field=f"workloads.{unknown[0]}",
            fix=f"valid workloads: {', '.join(WORKLOADS)}",
        )
    return site


def merge_sites(sites: list[Site]) -> dict[str, tuple[Site, Workload]]:
    """Which site runs each workload when a campaign is given several site files.

    The first site that declares a workload runs it; every workload must be declared once.
    """
    chosen: dict[str, tuple[Site, Workload]] = {}
    for site in sites:
        for name, workload in site.workloads.items():
            chosen.setdefault(name, (site, workload))
    missing = [w for w in WORKLOADS if w not in chosen]
    if missing:
        files = ", ".join(s.path or s.name for s in sites)
        raise ConfigError(
            f"no site declares workload(s) {', '.join(missing)}",
            file=files,
            field="workloads",
            fix="declare them in one of the site files",
        )
    return chosen
