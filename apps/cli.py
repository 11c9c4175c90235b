"""``mlmd site check``: build a site's Parsl config and run a tiny probe per workload."""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from pathlib import Path

log = logging.getLogger("mlmd.site")


def register(sub: argparse._SubParsersAction) -> None:
    site = sub.add_parser("site", help="site files: check one before a campaign")
    site_sub = site.add_subparsers(dest="site_command", metavar="ACTION", required=True)
    check = site_sub.add_parser("check", help="preflight: probe every workload of a site file")
    check.add_argument("site_file", type=Path)
    check.add_argument("--run-dir", type=Path, default=Path("runs/site-check"))
    check.add_argument("--timeout", type=float, default=600.0, help="seconds per probe")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    import parsl

    from apps.parsl_config import parsl_config
    from mlmd.sites import load_site

    site = load_site(args.site_file)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    with parsl.load(parsl_config([site], args.run_dir)):
        report = {name: _probe(name, wl, args) for name, wl in site.workloads.items()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        keys = ("host", "mlmd", "torch", "torch_threads", "gpus", "mpi_ranks", "cp2k")
        for name, entry in report.items():
            status = "ok  " if entry["ok"] else "FAIL"
            detail = entry.get("error") or ", ".join(f"{k}={entry[k]}" for k in keys if k in entry)
            print(f"{status} {name:9s} {detail}")
    return 0 if all(e["ok"] for e in report.values()) else 1


def _probe(name: str, workload, args: argparse.Namespace) -> dict:
    """Run the environment probe (and an MPI probe where tasks use MPI) on one executor."""
    from parsl import bash_app, python_app

    from apps.probe import environment_probe, launcher_probe, mpi_probe

    t0 = time.perf_counter()
    log.info("probing workload %s (%s provider)", name, workload.provider)
    entry: dict = {"provider": workload.provider, "ok": False}
    try:
        spec = {}
        if workload.mpi:  # Parsl's MPI mode needs num_nodes in every task's specification
            spec = {"num_nodes": workload.nodes_per_block, "num_ranks": workload.ranks_per_task}
            kwargs = {"parsl_resource_specification": {"num_nodes": 1, "num_ranks": 1}}
        else:
            kwargs = {}
        env = python_app(environment_probe, executors=[name])(**kwargs)
        entry.update(env.result(args.timeout))
        out = args.run_dir / f"probe-{name}.out"
        files = dict(stdout=str(out), stderr=str(out.with_suffix(".err")))
        for path in files.values():  # Parsl appends: a rerun would count old ranks too
            Path(path).unlink(missing_ok=True)
        if workload.mpi:
            probe = bash_app(mpi_probe, executors=[name])
            probe("$PARSL_MPI_PREFIX", parsl_resource_specification=spec, **files).result(
                args.timeout
            )
            match = re.search(r"mpi_world_size (\d+)", out.read_text())
            entry["mpi_ranks"] = int(match.group(1)) if match else 0
        elif workload.launcher:
            probe = bash_app(launcher_probe, executors=[name])
            probe(workload.launch_prefix(), **files).result(args.timeout)
            entry["mpi_ranks"] = out.read_text().count("launched_rank")
        if "mpi_ranks" in entry:
            entry["mpi_ok"] = entry["mpi_ranks"] == workload.ranks_per_task
        entry["ok"] = entry.get("mpi_ok", True) and (name != "dft" or bool(entry["cp2k"]))
    except Exception as exc:  # a failed probe is the report, not a crash
        entry["error"] = f"{type(exc).__name__}: {exc}"
    entry["seconds"] = round(time.perf_counter() - t0, 2)
    return entry
