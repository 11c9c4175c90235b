"""The SiO2 campaign DAG: label → (train ensemble → explore → select → label → merge)ⁿ →
train → melt-quench production MD (replicas × quench rates) → analysis → report.

Both campaign scripts (``quickstart.py``, ``sio2_glass.py``) run this code; they differ only
in sizes. Every step's outputs live under ``RUN_DIR/steps/<step>-<key>/`` where the key
hashes the step's parameters and the keys of the steps it reads, so all keys are known before
anything runs and a rerun reuses every finished step (and says so). Labelling resumes per
frame inside an unfinished step; MD continues from its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from campaigns.production import melt_quench_config, to_toml
from mlmd.atomic import write_text
from mlmd.errors import MlmdError
from mlmd.workflow import CampaignStatus, StepStore, step_key
from mlmd.workflow.meters import journal_meter, thermo_meter, wait_all

log = logging.getLogger("mlmd.campaign")


@dataclass(frozen=True)
class Sizes:
    """The knobs a campaign script exposes (see ``add_arguments``)."""

    reference: str = "cp2k"
    preset: str = "fast"
    start_frames: int = 12
    start_kind: str = "small"
    iterations: int = 2
    members: int = 4
    train: dict = field(default_factory=dict)
    explore_runs: int = 4
    explore_steps: int = 300
    explore_temperatures_K: tuple[float, ...] = (600.0, 1500.0, 2500.0, 3500.0)
    sigma_lo_eV_A: float = 0.05
    sigma_hi_eV_A: float = 1.5
    select_cap: int = 8
    production_atoms: int = 1002
    production_start: str = "cristobalite"  # or "random" (insertion at production_density)
    production_density: float = 2.2
    melt_K: float = 4000.0
    melt_GPa: float = 4.0
    melt_ps: float = 1.0
    quench_rates_K_ps: tuple[float, ...] = (1000.0,)
    anneal_ps: float = 0.5
    replicas: int = 1
    seed: int = 0


def add_arguments(parser: argparse.ArgumentParser, defaults: Sizes) -> None:
    """Command-line options for every size knob, with the script's defaults."""
    parser.add_argument("--site", action="append", type=Path, help="site file (repeatable)")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--reference", choices=("cp2k", "teacher"), default=defaults.reference)
    parser.add_argument(
        "--production-start", choices=("cristobalite", "random"), default=defaults.production_start
    )
    parser.add_argument("--preset", default=defaults.preset, help="CP2K preset")
    for name in (
        "start_frames",
        "iterations",
        "members",
        "explore_runs",
        "explore_steps",
        "select_cap",
        "production_atoms",
        "replicas",
        "seed",
    ):
        parser.add_argument(
            "--" + name.replace("_", "-"), type=int, default=getattr(defaults, name)
        )
    for name in ("sigma_lo_eV_A", "sigma_hi_eV_A", "melt_K", "melt_GPa", "melt_ps", "anneal_ps"):
        parser.add_argument(
            "--" + name.replace("_", "-"), type=float, default=getattr(defaults, name)
        )
    parser.add_argument(
        "--quench-rates-K-ps", type=float, nargs="+", default=list(defaults.quench_rates_K_ps)
    )
    parser.add_argument("--epochs", type=int, default=defaults.train.get("epochs", 30))


def sizes_from_args(args: argparse.Namespace, defaults: Sizes) -> Sizes:
    """The :class:`Sizes` chosen on the command line."""
    values = {k: getattr(args, k) for k in asdict(defaults) if hasattr(args, k)}
    values["quench_rates_K_ps"] = tuple(args.quench_rates_K_ps)
    values["train"] = {**defaults.train, "epochs": args.epochs}
    return Sizes(**{**asdict(defaults), **values})


class Job(NamedTuple):
    """One step of a stage: its key, its name in the status, how to submit it
    (``submit(out_dir) -> future``) and, for long steps, how to meter it
    (``meter(out_dir) -> Meter``)."""

    key: str
    task: str
    submit: object
    meter: object = None


class Campaign:
    """Runs the DAG for one run directory; every stage goes through :meth:`_step`."""

    def __init__(self, name: str, sizes: Sizes, run_dir: Path, sites: list):
        self.name, self.sizes, self.sites = name, sizes, sites
        self.run_dir = run_dir.resolve()
        self.store = StepStore(self.run_dir)
        self.status = CampaignStatus(self.run_dir, name)
        self.record: dict = {"campaign": name, "sizes": asdict(sizes), "iterations": []}

    # -- plumbing -------------------------------------------------------------------------
    def _step(self, stage: str, key: str, submit, label: str = "", meter=None) -> dict:
        """Reuse step ``stage``/``key`` if done, else run ``submit(out_dir)`` → future."""
        return self._many(stage, [Job(key, label or key, submit, meter)])[0]

    def _many(self, stage: str, jobs: list[Job], tolerate: bool = False) -> list[dict]:
        """Submit several independent steps at once; wait for all (reusing finished ones).

        With ``tolerate`` a failed step is reported and left out of the results (a replica
        that blew up must not stop its siblings); the campaign fails only if all fail.
        """
        futures, meters = {}, {}
        for job in jobs:
            if self.store.is_done(stage, job.key):
                self.status.set(stage, job.task, "reused")
                continue
            out = self.store.directory(stage, job.key)
            self.status.set(stage, job.task, "running")
            futures[job.task] = job.submit(out)
            if job.meter is not None:
                meters[job.task] = job.meter(out)
        wait_all(
            {f"{stage} {task}": f for task, f in futures.items()},
            {f"{stage} {task}": m for task, m in meters.items()},
        )
        results = []
        for job in jobs:
            if job.task in futures:
                try:
                    result = futures[job.task].result()
                except Exception as exc:
                    self.status.set(stage, job.task, "failed")
                    if not tolerate:
                        raise
                    self.status.note(f"excluded {stage} {job.task}: {type(exc).__name__}: {exc}")
                    continue
                self.store.mark_done(stage, job.key, result)
                self.status.set(stage, job.task, "done")
            results.append(self.store.outputs(stage, job.key))
        if jobs and not results:
            raise RuntimeError(f"every {stage} task failed; see {self.status.path}")
        return results

    # -- stages ---------------------------------------------------------------------------
    def label(self, unlabelled: str, in_key: str, tag: str) -> tuple[str, str]:
        from apps import bindings

        s = self.sizes
        dft = self.sites["dft"][1]
        key = step_key("label", params=[in_key, s.reference, s.preset])
        launcher = "parsl" if dft.mpi else (dft.launcher or "auto")
        spec = (
            {"num_nodes": dft.nodes_per_block, "num_ranks": dft.ranks_per_task} if dft.mpi else {}
        )

        def submit(out: Path):
            kwargs = {"parsl_resource_specification": spec} if spec else {}
            return bindings.label(
                unlabelled,
                str(out / "labelled.h5"),
                s.reference,
                s.preset,
                launcher,
                dft.ranks_per_task,
                1,
                **kwargs,
            )

        from mlmd.data import Dataset

        total = len(Dataset(unlabelled))
        result = self._step(
            "label",
            key,
            submit,
            tag,
            meter=lambda out: (
                journal_meter(out / "labelled.label" / "results.jsonl", total),
                "frame",
            ),
        )
        skipped = sum(result.get("skipped", {}).values())
        if skipped:
            self.status.note(f"{tag}: reused {skipped} finished reference calculations")
        for frame_key, state, logfile, message in result.get("failures", []):
            self.status.note(f"excluded {frame_key} ({tag}): {state} ({message}); log {logfile}")
        return result["path"], key

    def train(self, data: str, data_key: str, tag: str) -> tuple[str, str]:
        from apps import bindings

        s = self.sizes
        key = step_key("train", params=[data_key, s.train, s.members, s.seed])
        model_dir = str(self.store.directory("train", key) / "model")
        jobs = [
            Job(
                f"{key}-m{m}",
                f"{tag}-m{m}",
                lambda out, m=m: bindings.train_member(
                    data, model_dir, m, {**s.train, "seed": s.seed}
                ),
            )
            for m in range(s.members)
        ]
        metrics = self._many("train_member", jobs)
        self.record.setdefault("training", {})[tag] = metrics
        return model_dir, key

    def explore_and_select(
        self, model_dir: str, model_key: str, start: str, known: str, it: int
    ) -> tuple[str, str, dict]:
        from apps import bindings

        s = self.sizes
        jobs = []
        for r in range(s.explore_runs):
            temp = s.explore_temperatures_K[r % len(s.explore_temperatures_K)]
            md = {
                "steps": s.explore_steps,
                "timestep_fs": 1.0,
                "seed": s.seed * 100 + r,
                "initial_temperature_K": temp,
                "ensemble": {"kind": "langevin", "temperature_K": temp, "damping_fs": 100.0},
                "uncertainty": {
                    "every": 20,
                    "threshold_eV_A": s.sigma_lo_eV_A,
                    "stop_threshold_eV_A": 3 * s.sigma_hi_eV_A,
                },
            }
            key = step_key("explore", params=[model_key, md, r])

            def submit(out: Path, md=md, r=r):
                md = {
                    **md,
                    "output": {
                        "directory": str(out / "md"),
                        "trajectory_every": 0,
                        "thermo_every": 50,
                        "checkpoint_every": 0,
                    },
                }
                return bindings.explore(model_dir, start, r, md, str(out / "candidates.h5"))

            jobs.append(Job(key, f"it{it}-run{r}", submit))
        explored = self._many("explore", jobs, tolerate=True)
        window = [s.sigma_lo_eV_A, s.sigma_hi_eV_A, s.select_cap]
        key = step_key("select", params=[[job.key for job in jobs], window])
        result = self._step(
            "select",
            key,
            lambda out: bindings.select(
                model_dir,
                [e["candidates"] for e in explored],
                known,
                str(out / "selected.h5"),
                s.sigma_lo_eV_A,
                s.sigma_hi_eV_A,
                s.select_cap,
            ),
            f"it{it}",
        )
        return result["path"], key, result

    def merge(self, inputs: list[str], keys: list[str], tag: str) -> tuple[str, str]:
        from apps import bindings

        key = step_key("merge", params=keys)
        result = self._step(
            "merge", key, lambda out: bindings.merge(inputs, str(out / "data.h5")), tag
        )
        return result["path"], key

    def production(self, model_dir: str, model_key: str) -> list[dict]:
        from apps import bindings

        s, md_site = self.sizes, self.sites["md"][1]
        spec = {"num_nodes": md_site.nodes_per_block, "num_ranks": md_site.ranks_per_task}
        jobs = []
        for rate in s.quench_rates_K_ps:
            for rep in range(s.replicas):
                config = melt_quench_config(s, rate, rep, model_dir)
                key = step_key("production", params=[model_key, config])
                jobs.append(
                    Job(
                        key,
                        f"{rate:g}K/ps-r{rep}",
                        lambda out, c=config: _run_md(bindings, out, c, spec),
                        lambda out, n=config["steps"]: (
                            thermo_meter(out / "md/thermo.log", n),
                            "step",
                        ),
                    )
                )
        return self._many("production", jobs, tolerate=True)

    def analyze(self, runs: list[dict]) -> list[dict]:
        from apps import bindings

        jobs = []
        for run in runs:
            key = step_key("analyze", params=[run["trajectory"]])
            jobs.append(
                Job(
                    key,
                    Path(run["trajectory"]).parent.parent.name,
                    lambda out, r=run: bindings.analyze(r["trajectory"], str(out)),
                )
            )
        return self._many("analyze", jobs, tolerate=True)


def _run_md(bindings, out: Path, config: dict, spec: dict):
    """Write the MD config into the step directory and launch it on the md executor."""
    md_dir = out / "md"
    config = {**config, "output": {**config["output"], "directory": str(md_dir)}}
    path = out / "md.toml"
    path.write_text(to_toml(config))
    future = bindings.md(
        str(path),
        str(md_dir / "checkpoint.npz"),
        parsl_resource_specification=spec,
        stdout=str(out / "md.out"),
        stderr=str(out / "md.err"),
    )
    return _then(
        future,
        {
            "trajectory": str(md_dir / "trajectory.h5"),
            "thermo": str(md_dir / "thermo.log"),
            "config": str(path),
        },
    )


def _then(future, value: dict) -> Future:
    """A future that resolves to ``value`` once ``future`` (a bash app) has succeeded."""
    out: Future = Future()

    def done(f) -> None:
        exc = f.exception()
        if exc is not None:
            out.set_exception(exc)
        else:
            out.set_result(value)

    future.add_done_callback(done)
    return out


def run(name: str, sizes: Sizes, run_dir: Path, site_files: list[Path]) -> dict:
    """Run (or resume) the whole campaign; returns its record (also in ``record.json``).

    Raises:
        InputError: another campaign holds ``run_dir`` (see :mod:`mlmd.workflow.lock`).
    """
    import parsl

    from apps.parsl_config import parsl_config
    from mlmd.sites import load_site, merge_sites
    from mlmd.workflow.lock import run_dir_lock
    from mlmd.workflow.report import write_report

    sites = [load_site(p) for p in site_files]
    t0 = time.time()
    with run_dir_lock(run_dir, name):
        campaign = Campaign(name, sizes, run_dir, merge_sites(sites))
        with parsl.load(parsl_config(sites, run_dir)):
            data, model, runs, analyses = _dag(campaign)
        campaign.record.update(
            final_data=data,
            final_model=model,
            production=runs,
            analyses=analyses,
            wall_s=round(time.time() - t0, 1),
            sites=[str(p) for p in site_files],
        )
        write_text(run_dir / "record.json", json.dumps(campaign.record, indent=2, default=str))
        write_report(run_dir, campaign.record, campaign.status.summary())
    log.info("campaign %s finished in %.0f s: %s", name, time.time() - t0, run_dir / "report.md")
    return campaign.record


def _dag(campaign: Campaign) -> tuple[str, str, list[dict], list[dict]]:
    """The stages in order: start frames, labels, active-learning rounds, final training,
    production and its analysis. Returns (data, model, production runs, analyses)."""
    from apps import bindings

    s = campaign.sizes
    key = step_key("start", params=[s.start_frames, s.start_kind, s.seed])
    start = campaign._step(
        "start",
        key,
        lambda out: bindings.build_start_frames(
            str(out / "start.h5"), s.start_kind, s.start_frames, s.seed
        ),
        "start",
    )
    data, data_key = campaign.label(start["path"], key, "start")
    for it in range(s.iterations):
        model, model_key = campaign.train(data, data_key, f"it{it}")
        selected, sel_key, counts = campaign.explore_and_select(
            model, model_key, start["path"], data, it
        )
        labelled, lab_key = campaign.label(selected, sel_key, f"it{it}")
        data, data_key = campaign.merge([data, labelled], [data_key, lab_key], f"it{it}")
        campaign.record["iterations"].append(
            {"iteration": it, "selection": counts, "data": data, "model": model}
        )
    model, model_key = campaign.train(data, data_key, "final")
    runs = campaign.production(model, model_key)
    return data, model, runs, campaign.analyze(runs)


def main(name: str, doc: str, defaults: Sizes, argv: list[str] | None, default_site: Path | None):
    """Command-line entry of a campaign script: parse the size knobs and run (or resume).

    ``default_site`` is used when no ``--site`` is given; None makes ``--site`` required.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    add_arguments(parser, defaults)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    if not args.site and default_site is None:
        parser.error("--site is required for this campaign (see sites/slurm.toml)")
    try:
        run(name, sizes_from_args(args, defaults), args.run_dir, args.site or [default_site])
    except MlmdError as exc:  # bad input: one line naming the file and field, no traceback
        print(f"{name}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0
