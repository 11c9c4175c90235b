"""The campaign runner: content-keyed steps submitted as Parsl apps, reused when finished.

Every step's outputs live under ``RUN_DIR/steps/<stage>-<key>/`` where the key hashes the
step's parameters (its config, the material file's content) and the keys of the steps it
reads, so all keys are known before anything runs and a rerun reuses every finished step
(and says so). Labelling resumes per frame inside an unfinished step; MD continues from its
checkpoint. Progress goes to ``RUN_DIR/status.json`` and the log (:mod:`mlmd.workflow`).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from mlmd.workflow import CampaignStatus, StepStore
from mlmd.workflow.meters import wait_all


class Out(NamedTuple):
    """What a stage hands on: a path (dataset, model directory) and its step's key (the
    key of every step that reads it includes this one)."""

    path: str
    key: str


class Job(NamedTuple):
    """One step of a stage: its key, its name in the status, how to submit it
    (``submit(out_dir) -> future``) and, for long steps, how to meter it
    (``meter(out_dir) -> (Meter, unit)``)."""

    key: str
    task: str
    submit: Any
    meter: Any = None


@dataclass
class Campaign:
    """One run directory's campaign: its settings, material, plan, sites and bookkeeping."""

    name: str
    cfg: Any  # mlmd.workflow.config.CampaignConfig
    material: Any  # mlmd.materials.Material
    plan: Any  # mlmd.workflow.plan.Plan
    run_dir: Path
    sites: dict  # workload -> (Site, Workload), from mlmd.sites.merge_sites
    record: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir).resolve()
        self.store = StepStore(self.run_dir)
        self.status = CampaignStatus(self.run_dir, self.name)
        self.record.setdefault("iterations", [])

    def step(self, stage: str, key: str, submit, task: str, meter=None) -> dict:
        """Reuse step ``stage``/``key`` if done, else run ``submit(out_dir)`` → future."""
        return self.many(stage, [Job(key, task, submit, meter)])[0]

    def many(self, stage: str, jobs: list[Job], tolerate: bool = False) -> list[dict]:
        """Submit several independent steps at once; wait for all (reusing finished ones).

        Each step is marked done as soon as it finishes, so a campaign killed while its
        siblings run reuses it. With ``tolerate`` a failed step is reported and left out of
        the results (a replica that blew up must not stop its siblings); the campaign fails
        only if all fail.
        """
        futures, meters, by_name = {}, {}, {}
        for job in jobs:
            if self.store.is_done(stage, job.key):
                self.status.set(stage, job.task, "reused")
                continue
            out = self.store.directory(stage, job.key)
            self.status.set(stage, job.task, "running")
            futures[job.task] = job.submit(out)
            by_name[f"{stage} {job.task}"] = job
            if job.meter is not None:
                meters[f"{stage} {job.task}"] = job.meter(out)

        def finished(name: str) -> None:
            job = by_name[name]
            if futures[job.task].exception() is None:
                self.store.mark_done(stage, job.key, futures[job.task].result())
                self.status.set(stage, job.task, "done")

        wait_all({f"{stage} {t}": f for t, f in futures.items()}, meters, on_done=finished)
        results = []
        for job in jobs:
            exc = futures[job.task].exception() if job.task in futures else None
            if exc is not None:
                self.status.set(stage, job.task, "failed")
                if not tolerate:
                    raise exc
                self.status.note(f"excluded {stage} {job.task}: {type(exc).__name__}: {exc}")
                continue
            results.append(self.store.outputs(stage, job.key))
        if jobs and not results:
            raise RuntimeError(f"every {stage} task failed; see {self.status.path}")
        return results

    def workload(self, name: str):
        """The site workload (:class:`mlmd.sites.Workload`) that runs ``name`` tasks."""
        return self.sites[name][1]

    def mpi_spec(self, name: str) -> dict:
        """Parsl's resource specification of one MPI task of workload ``name``."""
        wl = self.workload(name)
        return {"num_nodes": wl.nodes_per_block, "num_ranks": wl.ranks_per_task} if wl.mpi else {}


def then(future, result) -> Future:
    """A future of ``result(value)`` once ``future`` (an app) succeeded with ``value``."""
    out: Future = Future()

    def done(f) -> None:
        exc = f.exception()
        if exc is not None:
            out.set_exception(exc)
        else:
            out.set_result(result(f.result()))

    future.add_done_callback(done)
    return out
