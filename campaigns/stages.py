"""The stages of a glass campaign, each a set of content-keyed steps (:mod:`campaigns.runner`).

Every stage writes the config it runs into its step's directory before submitting
(``train.json``, ``md.toml``, ``analysis.json``, ``reference.json``): what ran is beside
what it produced. Configs were checked in the campaign process already
(:func:`mlmd.workflow.plan.plan_campaign`); the worker parses the same file again.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from campaigns.runner import Campaign, Job, then
from mlmd.atomic import write_text
from mlmd.config import to_mapping
from mlmd.workflow import file_digest, step_key
from mlmd.workflow.config import to_toml, write_json
from mlmd.workflow.meters import journal_meter, thermo_meter
from mlmd.workflow.plan import with_paths


def start(c: Campaign) -> tuple[str, str]:
    """Unlabelled first frames from the material's start recipe."""
    from apps import bindings

    s = c.cfg.start
    key = step_key("start", [c.material.path], [s.recipe, s.frames, c.cfg.seed])
    result = c.step(
        "start",
        key,
        lambda out: bindings.start_frames(
            c.material.path, s.recipe, s.frames, c.cfg.seed, str(out / "start.h5")
        ),
        "start",
    )
    return result["path"], key


def reference_spec(c: Campaign) -> dict:
    """{"label", "name", "settings"} of the campaign's reference (a material label)."""
    label = c.cfg.reference or c.material.reference
    spec = c.material.references[label]
    return {"label": label, "name": spec.name, "settings": dict(spec.settings)}


def label(c: Campaign, unlabelled: str, in_key: str, tag: str) -> tuple[str, str]:
    """Reference labels of the unlabelled frames (per-frame resumable)."""
    from apps import bindings
    from mlmd.data import Dataset

    ref, dft = reference_spec(c), c.workload("dft")
    key = step_key("label", params=[in_key, ref])
    launcher = "parsl" if dft.mpi else (dft.launcher or "auto")
    spec = c.mpi_spec("dft")

    def submit(out: Path):
        write_json(out / "reference.json", ref)
        kwargs = {"parsl_resource_specification": spec} if spec else {}
        return bindings.label(
            unlabelled, str(out / "labelled.h5"), ref, launcher, dft.ranks_per_task, 1, **kwargs
        )

    total = len(Dataset(unlabelled))
    result = c.step(
        "label",
        key,
        submit,
        tag,
        meter=lambda out: (journal_meter(out / "labelled.label/results.jsonl", total), "frame"),
    )
    skipped = sum(result.get("skipped", {}).values())
    if skipped:
        c.status.note(f"{tag}: reused {skipped} finished reference calculations")
    for frame_key, state, logfile, message in result.get("failures", []):
        c.status.note(f"excluded {frame_key} ({tag}): {state} ({message}); log {logfile}")
    return result["path"], key


def train(c: Campaign, data: str, data_key: str, tag: str) -> tuple[str, str]:
    """An ensemble of ``members`` trained on ``data`` (one step per member)."""
    from apps import bindings

    train_cfg = dataclasses.replace(c.cfg.train, seed=c.cfg.train.seed + c.cfg.seed)
    key = step_key("train", params=[data_key, to_mapping(train_cfg), c.cfg.members])
    directory = c.store.directory("train", key)
    config = write_json(directory / "train.json", train_cfg)
    model_dir = str(directory / "model")
    jobs = [
        Job(
            f"{key}-m{m}",
            f"{tag}-m{m}",
            lambda out, m=m: bindings.train_member(data, model_dir, m, config),
        )
        for m in range(c.cfg.members)
    ]
    c.record.setdefault("training", {})[tag] = c.many("train_member", jobs)
    return model_dir, key


def explore_and_select(
    c: Campaign, model: str, model_key: str, start: str, known: str, it: int
) -> tuple[str, str, dict]:
    """Exploration MD with the ensemble (from random cells, or the start frames ``start``),
    then frames chosen in the trust window."""
    from apps import bindings
    from mlmd.data import Dataset

    e = c.cfg.explore
    starts, starts_key = structures(c, "explore") if e.atoms else (start, "start-frames")
    n_starts = len(Dataset(starts))
    jobs = []
    for i, run in enumerate(c.plan.explore):
        key = step_key("explore", params=[model_key, starts_key, run.config])

        def submit(out: Path, run=run, index=i % n_starts):
            config = with_paths(run.config, model=model, starts=starts, output=str(out))
            config["structure"] = {**config["structure"], "index": index}
            write_text(out / "md.toml", to_toml(config))
            return bindings.explore(str(out / "md.toml"), str(out / "candidates.h5"))

        jobs.append(Job(key, f"it{it}-{run.tag}", submit))
    explored = c.many("explore", jobs, tolerate=True)
    window = [e.sigma_lo_eV_A, e.sigma_hi_eV_A, e.select_cap]
    key = step_key("select", params=[[job.key for job in jobs], window])
    result = c.step(
        "select",
        key,
        lambda out: bindings.select(
            model,
            [x["candidates"] for x in explored],
            known,
            str(out / "selected.h5"),
            *window,
        ),
        f"it{it}",
    )
    return result["path"], key, result


def merge(c: Campaign, inputs: list[str], keys: list[str], tag: str) -> tuple[str, str]:
    from apps import bindings

    key = step_key("merge", params=keys)
    result = c.step("merge", key, lambda out: bindings.merge(inputs, str(out / "data.h5")), tag)
    return result["path"], key


def structures(c: Campaign, which: str) -> tuple[str, str]:
    """Start structures of the ``which`` MD ("production": one per replica, a crystal
    supercell or a random cell; "explore": a random cell per run)."""
    from apps import bindings

    section = {"production": c.cfg.production, "explore": c.cfg.explore}[which]
    key = step_key(f"{which}_start", [c.material.path], [to_mapping(section), c.cfg.seed])

    def submit(out: Path):
        config = write_json(out / "campaign.json", c.cfg)
        return bindings.structures(config, which, str(out / "starts.h5"))

    result = c.step(f"{which}_start", key, submit, "starts")
    return result["path"], key


def production(c: Campaign, model: str, model_key: str) -> list[dict]:
    """The melt–quench runs with the final model (MPI, on the md workload)."""
    from apps import bindings

    starts, starts_key = structures(c, "production")
    spec = c.mpi_spec("md")
    jobs = []
    for run in c.plan.production:
        key = step_key("production", params=[model_key, starts_key, run.config])

        def submit(out: Path, run=run):
            config = with_paths(run.config, model=model, starts=starts, output=str(out))
            write_text(out / "md.toml", to_toml(config))
            md_dir = out / "md"
            future = bindings.md(
                str(out / "md.toml"),
                str(md_dir / "checkpoint.npz"),
                parsl_resource_specification=spec,
                stdout=str(out / "md.out"),
                stderr=str(out / "md.err"),
            )
            paths = {"trajectory": md_dir / "trajectory.h5", "thermo": md_dir / "thermo.log"}
            value = {**{k: str(v) for k, v in paths.items()}, "tag": run.tag}
            return then(future, lambda _: value)

        meter = lambda out, n=run.steps: (thermo_meter(out / "md/thermo.log", n), "step")  # noqa: E731
        jobs.append(Job(key, run.tag, submit, meter))
    return c.many("production", jobs, tolerate=True)


#: The production analysis windows: the glass over the anneal (the last schedule segment),
#: the liquid over the melt hold (the first).
WINDOWS = {"glass": "segment:-1", "liquid": "segment:0"}


def analyze(c: Campaign, runs: list[dict]) -> list[dict]:
    """Each production run analysed over its glass window and its liquid window."""
    from apps import bindings
    from mlmd.materials import bond_cutoffs_A

    settings = {"cutoffs_A": bond_cutoffs_A(c.material)}
    jobs = []
    for run in runs:
        digest = file_digest(run["trajectory"])
        for phase, window in WINDOWS.items():
            spec = {"window": window, "analysis": settings}
            key = step_key("analyze", params=[digest, spec])

            def submit(out: Path, run=run, spec=spec, phase=phase):
                path = out / "analysis.json"
                write_text(path, json.dumps(spec, indent=2))
                future = bindings.analyze(run["trajectory"], str(out), str(path))
                return then(future, lambda r: {**r, "tag": run["tag"], "phase": phase})

            jobs.append(Job(key, f"{run['tag']}-{phase}", submit))
    return c.many("analyze", jobs, tolerate=True)
