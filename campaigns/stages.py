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
) -> tuple[list[dict], str, str, dict]:
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
    return explored, result["path"], key, result


def merge(c: Campaign, inputs: list[str], keys: list[str], tag: str) -> tuple[str, str]:
    from apps import bindings

    key = step_key("merge", params=keys)
    result = c.step("merge", key, lambda out: bindings.merge(inputs, str(out / "data.h5")), tag)
    return result["path"], key


def structures(c: Campaign, which: str) -> tuple[str, str]:
    """Start structures of the ``which`` MD ("production": one per replica, a crystal
    supercell or a random cell; "explore": a random cell per run)."""
    from apps import bindings

    section = {
        "production": c.cfg.production,
        "explore": c.cfg.explore,
        "validation": c.cfg.validation,
    }[which]
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


#: The production analyses: the glass over the anneal (the last schedule segment, compared
#: with experiment), the liquid over the melt hold (the first), the quench's ρ(T) and H(T)
#: with the glass-transition kink (the cooling segment).
ANALYSES = {
    "glass": {"window": "segment:-1"},
    "liquid": {"window": "segment:0"},
    "quench": {"window": "all", "what": ["quench"]},
}


def glass_experiment(material) -> dict:
    """The material's experiment rows of the glass at its glass_K (no other temperature)."""
    from mlmd.materials import experiment_table

    return {k: v for k, v in experiment_table(material).items() if "temperature_K" not in v}


def _analysis_spec(c: Campaign, phase: str) -> dict:
    from mlmd.materials import bond_cutoffs_A

    settings = {"cutoffs_A": bond_cutoffs_A(c.material)}
    if "what" in ANALYSES[phase]:
        settings["what"] = ANALYSES[phase]["what"]
    spec = {"window": ANALYSES[phase]["window"], "analysis": settings}
    if phase == "glass":
        spec["experiment"] = glass_experiment(c.material)
    return spec


def analyze(c: Campaign, runs: list[dict]) -> list[dict]:
    """Each production run analysed over its glass, liquid and quench windows."""
    from apps import bindings

    jobs = []
    for run in runs:
        digest = file_digest(run["trajectory"])
        for phase in ANALYSES:
            spec = _analysis_spec(c, phase)
            key = step_key("analyze", params=[digest, spec])

            def submit(out: Path, run=run, spec=spec, phase=phase):
                path = out / "analysis.json"
                write_text(path, json.dumps(spec, indent=2))
                future = bindings.analyze(run["trajectory"], str(out), str(path))
                return then(future, lambda r: {**r, "tag": run["tag"], "phase": phase})

            jobs.append(Job(key, f"{run['tag']}-{phase}", submit))
    return c.many("analyze", jobs, tolerate=True)


def _reference_args(c: Campaign) -> tuple[dict, str, int, dict]:
    """(reference spec, launcher, ranks, resource specification) of reference work."""
    dft = c.workload("dft")
    launcher = "parsl" if dft.mpi else (dft.launcher or "auto")
    return reference_spec(c), launcher, dft.ranks_per_task, c.mpi_spec("dft")


def check_round(c: Campaign, model: str, model_key: str, explored: list[dict], it: int) -> dict:
    """The stopping rule: the round's model against the reference on frames of its own
    exploration trajectories, per phase (:func:`mlmd.workflow.plan_stages.stop_spec`)."""
    from apps import bindings

    ref, launcher, ranks, spec = _reference_args(c)
    trajectories = [e["trajectory"] for e in explored if e.get("trajectory")]
    key = step_key("check", params=[model_key, ref, trajectories, to_mapping(c.plan.stop)])

    def submit(out: Path):
        targets = write_json(out / "stop.json", c.plan.stop)
        kwargs = {"parsl_resource_specification": spec} if spec else {}
        return bindings.check_round(
            model, ref, launcher, ranks, trajectories, targets, str(out), **kwargs
        )

    return c.step("check", key, submit, f"it{it}")


def validation(c: Campaign, model: str, model_key: str, runs: list[dict]) -> dict:
    """The final model against its reference (:mod:`mlmd.validate`): (b) reference MD beside
    ML-MD where the reference runs MD, (a) a-posteriori errors on production frames."""
    from apps import bindings
    from mlmd.workflow.plan_stages import validation_parts

    ref, launcher, ranks, spec = _reference_args(c)
    parts = list(validation_parts(ref["name"]))
    starts, starts_key = structures(c, "validation")
    trajectories = [r["trajectory"] for r in runs]
    config = to_mapping(c.plan.validation)
    key = step_key("validate", params=[model_key, starts_key, ref, parts, trajectories, config])
    app = bindings.validate if "b" in parts else bindings.validate_dft

    def submit(out: Path):
        filled = with_paths(config, model="", starts=starts, output="")
        path = write_json(out / "validate.json", filled)
        on_dft = spec and app is bindings.validate_dft
        kwargs = {"parsl_resource_specification": spec} if on_dft else {}
        future = app(model, ref, launcher, ranks, path, parts, trajectories, str(out), **kwargs)
        return then(future, lambda summary: {"out_dir": str(out), "summary": summary})

    return c.step("validate", key, submit, "final")


def properties(c: Campaign, model: str, model_key: str, runs: list[dict]) -> dict | None:
    """The optional property stages (``mlmd properties``) with the final model, from the
    production glass (the last frame of the first production run)."""
    from apps import bindings

    if c.plan.properties is None or not runs:
        return None
    glass = runs[0]["trajectory"]
    key = step_key("properties", params=[model_key, file_digest(glass), c.plan.properties])

    def submit(out: Path):
        config = with_paths(c.plan.properties, model=model, starts="", output=str(out / "props"))
        config["structure"] = {"trajectory": glass}
        write_text(out / "properties.toml", to_toml(config))
        future = bindings.properties(
            str(out / "properties.toml"),
            parsl_resource_specification=c.mpi_spec("md"),
            stdout=str(out / "properties.out"),
            stderr=str(out / "properties.err"),
        )
        summary = out / "props" / "summary.json"
        return then(future, lambda _: {"summary": json.loads(summary.read_text())})

    return c.step("properties", key, submit, "final")
