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

from campaigns.runner import Campaign, Job, Out, then
from mlmd.atomic import write_text
from mlmd.config import to_mapping
from mlmd.workflow import file_digest, step_key
from mlmd.workflow.config import to_toml, write_json
from mlmd.workflow.meters import journal_meter, thermo_meter
from mlmd.workflow.plan import with_paths


def start(c: Campaign) -> Out:
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
    return Out(result["path"], key)


def reference_md(c: Campaign) -> Out | None:
    """The reference's own MD along the production path (``[reference_md]``; one step per
    run, on the train workload), its frames merged unlabelled; None when it is off, or when
    the reference cannot run MD (a status note and the record say so)."""
    from apps import bindings
    from mlmd.validate import MD_ENGINES

    if not c.plan.reference_md:
        return None
    ref, _ = reference_job(c)
    if ref["name"] not in MD_ENGINES:
        why = f"the reference {ref['label']} ({ref['name']}) cannot run MD"
        c.status.note(f"reference_md: skipped, {why}")
        c.record["reference_md"] = {"skipped": why}
        return None
    starts = structures(c, "reference_md")
    jobs = []
    for run in c.plan.reference_md:
        key = step_key("reference_md", params=[starts.key, reference_spec(c), run.config])

        def submit(out: Path, run=run):
            config = with_paths(run.config, model="", starts=starts.path, output=str(out))
            write_text(out / "md.toml", to_toml(config))
            return bindings.reference_md(str(out / "md.toml"), ref, str(out))

        meter = lambda out, n=run.steps: (thermo_meter(out / "md/thermo.log", n), "step")  # noqa: E731
        jobs.append(Job(key, run.tag, submit, meter))
    done = c.many("reference_md", jobs)
    c.record["reference_md"] = {"runs": done}
    return merge(c, [Out(r["path"], job.key) for r, job in zip(done, jobs, strict=True)], "ref")


def reference_spec(c: Campaign) -> dict:
    """{"label", "name", "settings"} of the campaign's reference (a material label): what
    the keys of reference steps hash (not where or how it is launched)."""
    label = c.cfg.reference or c.material.reference
    spec = c.material.references[label]
    return {"label": label, "name": spec.name, "settings": dict(spec.settings)}


def reference_job(c: Campaign) -> tuple[dict, dict]:
    """(the reference with the dft workload's launcher and ranks, the keyword arguments of a
    reference task: Parsl's resource specification in MPI mode)."""
    dft = c.workload("dft")
    launcher = "parsl" if dft.mpi else (dft.launcher or "auto")
    ref = {**reference_spec(c), "launcher": launcher, "ranks": dft.ranks_per_task}
    spec = c.mpi_spec("dft")
    return ref, ({"parsl_resource_specification": spec} if spec else {})


def label(c: Campaign, unlabelled: Out, tag: str) -> Out:
    """Reference labels of the unlabelled frames (per-frame resumable)."""
    from apps import bindings
    from mlmd.data import Dataset

    ref, kwargs = reference_job(c)
    key = step_key("label", params=[unlabelled.key, reference_spec(c)])

    def submit(out: Path):
        write_json(out / "reference.json", ref)
        return bindings.label(unlabelled.path, str(out / "labelled.h5"), ref, **kwargs)

    total = len(Dataset(unlabelled.path))
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
    return Out(result["path"], key)


def train(
    c: Campaign, data: Out, tag: str, previous: Out | None = None, *, final: bool = False
) -> Out:
    """An ensemble of ``members`` trained on ``data`` (one step per member), recorded as
    one (``model.json``: a member lost later is refused on load). With
    ``continue_training``, member i starts from member i of the ``previous`` round's model;
    the ``final`` model trains for ``final_time_budget_s`` when one is set."""
    from apps import bindings
    from mlmd.potential.export import write_manifest
    from mlmd.workflow.plan import member_train_config

    start = previous if c.cfg.continue_training else None
    init_from = start.path if start is not None else ""
    train_cfg = member_train_config(c.cfg, final=final, init_from=init_from)
    hashed = to_mapping(dataclasses.replace(train_cfg, init_from=""))  # not a path: its key
    params = [data.key, hashed, c.cfg.members] + ([start.key] if start is not None else [])
    key = step_key("train", params=params)
    directory = c.store.directory("train", key)
    config = write_json(directory / "train.json", train_cfg)
    model_dir = directory / "model"
    jobs = [
        Job(
            f"{key}-m{m}",
            f"{tag}-m{m}",
            lambda out, m=m: bindings.train_member(data.path, str(model_dir), m, config),
        )
        for m in range(c.cfg.members)
    ]
    c.record.setdefault("training", {})[tag] = c.many("train_member", jobs)
    write_manifest(model_dir, c.cfg.members)
    return Out(str(model_dir), key)


def explore_and_select(
    c: Campaign, model: Out, start: Out, known: str, it: int
) -> tuple[list[dict], Out, dict]:
    """Exploration MD with the ensemble (from random cells, or the start frames ``start``),
    then frames chosen in the trust window; returns (explorations, selected, counts)."""
    from apps import bindings
    from mlmd.data import Dataset

    e = c.cfg.explore
    starts = structures(c, "explore") if e.atoms else start
    n_starts = len(Dataset(starts.path))
    jobs = []
    for i, run in enumerate(c.plan.explore):
        key = step_key("explore", params=[model.key, starts.key, run.config])

        def submit(out: Path, run=run, index=i % n_starts):
            config = with_paths(run.config, model=model.path, starts=starts.path, output=str(out))
            config["structure"] = {**config["structure"], "index": index}
            write_text(out / "md.toml", to_toml(config))
            return bindings.explore(str(out / "md.toml"), str(out / "candidates.h5"))

        jobs.append(Job(key, f"it{it}-{run.tag}", submit))
    explored = c.many("explore", jobs, tolerate=True)
    window = {"sigma_lo_eV_A": e.sigma_lo_eV_A, "sigma_hi_eV_A": e.sigma_hi_eV_A}
    window["cap"] = e.select_cap
    key = step_key("select", params=[[job.key for job in jobs], window])
    candidates = [x["candidates"] for x in explored]
    result = c.step(
        "select",
        key,
        lambda out: bindings.select(
            model.path, candidates, known, str(out / "selected.h5"), **window
        ),
        f"it{it}",
    )
    return explored, Out(result["path"], key), result


def merge(c: Campaign, inputs: list[Out], tag: str) -> Out:
    from apps import bindings

    key = step_key("merge", params=[i.key for i in inputs])
    paths = [i.path for i in inputs]
    result = c.step("merge", key, lambda out: bindings.merge(paths, str(out / "data.h5")), tag)
    return Out(result["path"], key)


def structures(c: Campaign, which: str) -> Out:
    """Start structures of the ``which`` MD ("production": one per replica, a crystal
    supercell or a random cell; "explore", "reference_md": a random cell per run;
    "validation": its cells)."""
    from apps import bindings

    section = {
        "production": c.cfg.production,
        "explore": c.cfg.explore,
        "reference_md": c.cfg.reference_md,
        "validation": c.cfg.validation,
    }[which]
    key = step_key(f"{which}_start", [c.material.path], [to_mapping(section), c.cfg.seed])

    def submit(out: Path):
        config = write_json(out / "campaign.json", c.cfg)
        return bindings.structures(config, which, str(out / "starts.h5"))

    result = c.step(f"{which}_start", key, submit, "starts")
    return Out(result["path"], key)


def production(c: Campaign, model: Out) -> list[dict]:
    """The melt–quench runs with the final model (MPI, on the md workload)."""
    from apps import bindings

    starts = structures(c, "production")
    spec = c.mpi_spec("md")
    jobs = []
    for run in c.plan.production:
        key = step_key("production", params=[model.key, starts.key, run.config])

        def submit(out: Path, run=run):
            config = with_paths(run.config, model=model.path, starts=starts.path, output=str(out))
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


def check_round(c: Campaign, model: Out, explored: list[dict], it: int) -> dict:
    """The stopping rule: the round's model against the reference on frames of its own
    exploration trajectories, per phase (:func:`mlmd.workflow.plan_stages.stop_spec`)."""
    from apps import bindings

    ref, kwargs = reference_job(c)
    trajectories = [e["trajectory"] for e in explored if e.get("trajectory")]
    stop = to_mapping(c.plan.stop)
    key = step_key("check", params=[model.key, reference_spec(c), trajectories, stop])

    def submit(out: Path):
        targets = write_json(out / "stop.json", stop)
        return bindings.check_round(model.path, ref, trajectories, targets, str(out), **kwargs)

    return c.step("check", key, submit, f"it{it}")


def validation(c: Campaign, model: Out, runs: list[dict]) -> dict:
    """The final model against its reference (:mod:`mlmd.validate`): (b) reference MD beside
    ML-MD where the reference runs MD, (a) a-posteriori errors on production frames. Its
    plan, then each MD run as its own step, all at once (where training runs: on W workers
    about the longest run), then the step that analyses them, does part (a) and writes the
    verdict. Plan and final step run where the reference is built: where training runs with
    part (b), on the dft workload for single points only. The runs live in the run
    directory's ``validation_runs/``, each keyed by what it is (its config, the model's
    files, the reference's settings: :func:`mlmd.validate.plan_validation`), not by the
    validate step: changed glass rows or production trajectories rerun no MD, and a new
    model's validation reuses the reference's runs."""
    from apps import bindings
    from mlmd.workflow.plan_stages import validation_parts

    ref, kwargs = reference_job(c)
    parts = list(validation_parts(ref["name"]))
    starts = structures(c, "validation")
    trajectories = [r["trajectory"] for r in runs]
    config = to_mapping(c.plan.validation)
    rows = c.plan.glass_rows
    params = [model.key, starts.key, reference_spec(c), parts, trajectories, config, rows]
    key = step_key("validate", params=params)
    md = "b" in parts
    plan_app = bindings.validate_plan if md else bindings.validate_plan_dft
    app, kwargs = (bindings.validate, {}) if md else (bindings.validate_dft, kwargs)
    out = c.store.directory("validate", key)
    filled = with_paths(config, model="", starts=starts.path, output="")
    path = write_json(out / "validate.json", filled)
    plan: dict = {}
    if not c.store.is_done("validate", key):
        runs_dir = str(c.run_dir / "validation_runs")
        plan_it = lambda _: plan_app(model.path, ref, path, runs_dir, parts=parts, **kwargs)  # noqa: E731
        plan = c.step("validate_plan", key, plan_it, "final")
        c.many("validate_run", [_validation_run(run, ref) for run in plan["runs"]])

    def submit(_):
        final = {"plan": plan, "trajectories": trajectories, "glass_rows": rows, **kwargs}
        future = app(model.path, ref, path, str(out), **final)
        return then(future, lambda summary: {"out_dir": str(out), "summary": summary})

    return c.step("validate", key, submit, "final")


def _validation_run(run: dict, ref: dict) -> Job:
    """The step of one MD run of the validation (``run``: a planned Run as a mapping), keyed
    by the run (its directory's name hashes what it is)."""
    from apps import bindings

    steps, directory = run["config"]["steps"], Path(run["config"]["output"]["directory"])
    meter = lambda _: (thermo_meter(directory / "thermo.log", steps), "step")  # noqa: E731
    return Job(
        step_key("validate_run", params=[run["config"]["output"]["directory"]]),
        f"{run['state']}-{run['role']}",
        lambda _: bindings.validate_run(run, ref),
        meter,  # both engines write thermo.log as they go
    )


def properties(c: Campaign, model: Out, runs: list[dict]) -> dict | None:
    """The optional property stages (``mlmd properties``) with the final model, from the
    production glass (the last frame of the first production run)."""
    from apps import bindings

    if c.plan.properties is None or not runs:
        return None
    glass = runs[0]["trajectory"]
    key = step_key("properties", params=[model.key, file_digest(glass), c.plan.properties])

    def submit(out: Path):
        output = str(out / "props")
        config = with_paths(c.plan.properties, model=model.path, starts="", output=output)
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
