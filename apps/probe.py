"""Tiny per-workload probes for ``mlmd site check``: what a task on that executor sees.

Plain functions; ``apps/cli.py`` binds them to one executor each with ``python_app`` /
``bash_app``.
"""

from __future__ import annotations


def environment_probe(parsl_resource_specification: dict | None = None) -> dict:
    """Host, Python, mlmd, torch/GPU and CP2K as seen by a worker."""
    import os
    import platform
    import shutil
    import sys

    import mlmd

    info = {
        "host": platform.node(),
        "python": sys.version.split()[0],
        "prefix": sys.prefix,
        "mlmd": mlmd.__version__,
        "cpus": os.cpu_count(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["gpus"] = torch.cuda.device_count()
        info["torch_threads"] = torch.get_num_threads()  # > cores per worker: oversubscribed
    except ImportError as exc:  # reported, not raised: the probe is a diagnosis
        info["torch"] = f"missing ({exc})"
    info["cp2k"] = shutil.which(os.environ.get("MLMD_CP2K", "cp2k")) or ""
    return info


def mpi_probe(launch: str, stdout: str, stderr: str, parsl_resource_specification=None) -> str:
    """Print ``mpi_world_size N`` as seen by the MPI program that ``launch`` starts."""
    code = (
        "from mpi4py import MPI; c = MPI.COMM_WORLD; "
        "print('mpi_world_size', c.Get_size()) if c.Get_rank() == 0 else None"
    )
    return f'{launch} python -c "{code}"'


def launcher_probe(launch: str, stdout: str, stderr: str) -> str:
    """Print one ``launched_rank`` line per process that the command prefix ``launch`` starts."""
    return f"{launch} echo launched_rank"
