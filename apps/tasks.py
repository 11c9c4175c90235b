"""The functions Parsl runs: thin glue from file paths and parameters to ``mlmd`` calls.

No science lives here: each function opens what it is given (config files the campaign
wrote into the step's directory, datasets, models), calls one mlmd function and returns a
small JSON-able summary (paths and counts). Launch details that depend on the site (the
launcher and ranks of a reference code that runs as its own program) are added here. They
import mlmd inside the body so a worker on another node imports it there;
:mod:`apps.bindings` binds them to executors.
"""

from __future__ import annotations

import shlex

#: References that run an external program: how the site's launcher and ranks reach their
#: settings.
LAUNCHED = {"cp2k": lambda launcher, ranks: {"run": {"launcher": launcher, "ranks": ranks}}}


def _reference_settings(reference: dict) -> dict:
    """A reference's settings (a material's ``[references.LABEL]``) with the site's launch
    details (``reference["launcher"]``, ``reference["ranks"]``) added where it needs them.

    ``reference`` is what the campaign passes every reference task: {"label", "name",
    "settings", "launcher", "ranks"}.
    """
    from mlmd.workflow.config import merge

    name, settings = reference["name"], dict(reference.get("settings", {}))
    if name in LAUNCHED:
        settings = merge(settings, LAUNCHED[name](reference["launcher"], reference["ranks"]))
    return settings


def start_frames(material: str, recipe: str, frames: int, seed: int, out: str) -> dict:
    """The material's start recipe ``recipe`` (``frames``: 0 = the recipe's count) → ``out``."""
    from mlmd.materials import write_start_frames

    return write_start_frames(material, recipe, out, frames or None, seed)


def structures(campaign: str, which: str, out: str) -> dict:
    """Start structures of the ``which`` ("production": one per replica, "explore" and
    "reference_md": one per run, "validation": its two cells) MD of the campaign config
    file ``campaign`` (JSON, written by the campaign) → the dataset ``out``."""
    from mlmd.data.ops import write_frames
    from mlmd.materials import load_material
    from mlmd.workflow import plan, plan_stages
    from mlmd.workflow.config import load_campaign_json

    cfg = load_campaign_json(campaign)
    build = {
        "production": plan.production_starts,
        "explore": plan.explore_starts,
        "reference_md": plan.reference_md_starts,
        "validation": plan_stages.validation_starts,
    }[which]
    frames = build(cfg, load_material(cfg.material))
    write_frames(out, {"name": "unlabelled", "origin": f"{which} starts"}, frames, overwrite=True)
    return {"path": out, "frames": len(frames), "atoms": frames[0].n_atoms}


def label(
    in_path: str,
    out_path: str,
    reference: dict,
    *,
    workers: int = 1,
    parsl_resource_specification: dict | None = None,
) -> dict:
    """Label the unlabelled frames of ``in_path`` into ``out_path`` (resumable per frame)
    with ``reference`` (see :func:`_reference_settings`)."""
    from mlmd.reference.label import label_dataset
    from mlmd.reference.registry import get_reference

    backend = get_reference(reference["name"], config=_reference_settings(reference))
    summary = label_dataset(in_path, out_path, backend, workers=workers, progress=False)
    return {"path": out_path, **summary.to_dict()}


def train_member(data: str, model_dir: str, member: int, train: str) -> dict:
    """Train ensemble member ``member`` on ``data`` into ``model_dir`` (resumes) with the
    training config file ``train`` (JSON)."""
    from mlmd.train.loop import train_member as train_one
    from mlmd.workflow.config import load_train_json

    metrics = train_one(data, model_dir, load_train_json(train), member)
    return {"model_dir": model_dir, "member": member, **metrics}


def explore(config: str, candidates: str) -> dict:
    """A short single-process MD run with the ensemble (MD config file ``config``); frames
    whose spread exceeds its threshold are added to ``candidates``. A run the safety checks
    stop is a result (the model left its domain: what exploration looks for). A killed
    attempt's checkpoint in the run's directory (the step's key fixes its config) is
    continued; the frames it collects again are the same frames, kept once."""
    from pathlib import Path

    from mlmd.md.config import load_config
    from mlmd.md.engine import MDSafetyError
    from mlmd.md.runner import run_md

    directory = Path(load_config(config).output.directory)
    checkpoint = directory / "checkpoint.npz"
    out = {"candidates": candidates, "trajectory": str(directory / "trajectory.h5")}
    try:
        summary = run_md(config, restart=checkpoint if checkpoint.is_file() else None, echo=False)
    except MDSafetyError as exc:
        return {**out, "status": "stopped_unsafe", "message": str(exc)}
    first = summary["step"] - summary["steps_run"]
    return {**out, "status": summary["status"], "steps": summary["step"], "first_step": first}


def reference_md(config: str, reference: dict, out_dir: str) -> dict:
    """The reference's own MD (the MD config file ``config``; its potential is set to the
    reference's) in ``out_dir/md``, its frames unlabelled in ``out_dir/frames.h5``."""
    from pathlib import Path

    from mlmd.config import load_toml
    from mlmd.workflow.reference_md import run_reference_md

    settings = _reference_settings(reference)
    return run_reference_md(load_toml(config), reference["name"], settings, Path(out_dir))


def select(
    model_dir: str,
    candidates: list[str],
    known: str,
    out: str,
    *,
    sigma_lo_eV_A: float,
    sigma_hi_eV_A: float,
    cap: int,
) -> dict:
    """Choose new frames for labelling from the exploration candidates (trust window, topped
    up from just above it when an early model puts too few frames inside)."""
    from pathlib import Path

    from mlmd.data import Dataset
    from mlmd.data.ops import write_frames
    from mlmd.potential import load_potential
    from mlmd.select import select_uncertain

    frames = [f for path in candidates if Path(path).exists() for f in Dataset(path)]
    chosen = select_uncertain(
        load_potential(model_dir),
        frames,
        sigma_lo_eV_A=sigma_lo_eV_A,
        sigma_hi_eV_A=sigma_hi_eV_A,
        cap=cap,
        known_keys=Dataset(known).keys(),
        fill_from_above=True,
    )
    write_frames(
        out,
        {"name": "unlabelled", "origin": "active-learning selection"},
        chosen.frames,
        overwrite=True,
    )
    spreads = chosen.spreads
    return {
        "path": out,
        **chosen.counts,
        "spread_max": float(spreads.max()) if len(spreads) else 0.0,
        "spread_mean": float(spreads.mean()) if len(spreads) else 0.0,
    }


def merge(datasets: list[str], out: str) -> dict:
    """Merge datasets of one reference method into ``out`` (deduplicated by key).

    (Not named ``inputs``: Parsl reserves that keyword for its own file dependencies.)
    """
    from mlmd.data.ops import merge_datasets

    n = merge_datasets(datasets, out, overwrite=True)
    return {"path": out, "frames": n}


def md_command(
    config: str,
    checkpoint: str,
    parsl_resource_specification: dict | None = None,
    stdout: str = "",
    stderr: str = "",
) -> str:
    """The shell command of an MD run on ``$PARSL_MPI_PREFIX`` ranks; it continues from
    ``checkpoint`` when an earlier (killed or walltime-stopped) attempt left one.

    Both paths are shell-quoted: a run directory named ``a;touch X`` or ``$(touch X)`` is a
    name, never a command. ``$PARSL_MPI_PREFIX`` is Parsl's own (launcher, ranks, hosts)
    and is split by the shell on purpose.
    """
    config_q, checkpoint_q = shlex.quote(config), shlex.quote(checkpoint)
    run = f"$PARSL_MPI_PREFIX mlmd md run {config_q}"
    # no checkpoint: a fresh start, replacing what an attempt killed before its first
    # checkpoint left (`mlmd md run` refuses existing outputs without --overwrite)
    return (
        f"if [ -f {checkpoint_q} ]; then {run} --restart {checkpoint_q}; else {run} --overwrite; fi"
    )


def analyze(trajectory: str, out_dir: str, config: str) -> dict:
    """Analyse ``trajectory`` as the analysis config file ``config`` says (JSON: {"window":
    "segment:-1", "analysis": {AnalysisConfig}, "experiment": {table}}) into ``out_dir``."""
    import json

    from mlmd.analysis import analyze as analyze_trajectory
    from mlmd.analysis.config import AnalysisConfig
    from mlmd.config import from_mapping

    spec = json.loads(open(config).read())
    settings = from_mapping(AnalysisConfig, spec["analysis"], source=config, prefix="analysis")
    summary = analyze_trajectory(
        trajectory, out_dir, settings, window=spec["window"], experiment=spec.get("experiment")
    )
    return {"out_dir": out_dir, "window": spec["window"], "summary": summary}


def check_round(
    model: str,
    reference: dict,
    trajectories: list[str],
    spec: str,
    out_dir: str,
    *,
    parsl_resource_specification: dict | None = None,
) -> dict:
    """The active-learning stopping rule: a-posteriori errors of ``model`` per phase on
    frames of ``trajectories`` (the round's exploration), labelled by ``reference``, against
    the targets of the :class:`mlmd.validate.APosterioriSpec` file ``spec`` (JSON). A round
    whose exploration never reached a phase fails it (``reason`` says why)."""
    import json
    from pathlib import Path

    from mlmd.config import from_mapping
    from mlmd.errors import InputError
    from mlmd.reference.registry import get_reference
    from mlmd.validate import APosterioriSpec, aposteriori_errors

    targets = from_mapping(APosterioriSpec, json.loads(open(spec).read()), source=spec)
    backend = get_reference(reference["name"], config=_reference_settings(reference))
    paths = [Path(t) for t in trajectories if Path(t).is_file()]
    try:
        return aposteriori_errors(model, backend, paths, Path(out_dir), targets)
    except InputError as exc:  # e.g. the model's exploration stopped before a phase
        return {"pass": False, "phases": {}, "reason": str(exc)}


def validate_plan(
    model: str,
    reference: dict,
    config: str,
    out_dir: str,
    *,
    parts: list[str],
    parsl_resource_specification: dict | None = None,
) -> dict:
    """The MD runs of the validation of ``model`` against ``reference`` with the
    :class:`mlmd.validate.ValidateConfig` file ``config`` (JSON), planned once
    (:func:`mlmd.validate.plan_validation`; their directories and start structures under
    ``out_dir``): ``{"parts", "runs": [Run as a mapping]}``, what :func:`validate_run` and
    :func:`validate` take. It runs where the final validation runs: the reference is built
    there."""
    import dataclasses

    from mlmd.validate import plan_validation

    runs = plan_validation(
        model,
        reference["name"],
        out_dir,
        config=_validate_config(config),
        reference_config=_reference_settings(reference),
        parts=tuple(parts),
    )
    return {"parts": list(parts), "runs": [dataclasses.asdict(r) for r in runs]}


def validate_run(run: dict, reference: dict) -> dict:
    """One MD run of a validation's plan (:func:`validate_plan`) by
    :func:`mlmd.validate.execute`: a finished run is reused, an interrupted one resumes from
    its checkpoint; returns its record (``status`` ``completed``, or ``failed`` when the
    model's MD stopped on its safety checks). The reference is built only for an engine that
    needs it (LAMMPS)."""
    from mlmd.reference.registry import get_reference
    from mlmd.validate import Run, execute

    planned = Run(**run)
    backend = None
    if planned.engine != "mlmd":
        backend = get_reference(reference["name"], config=_reference_settings(reference))
    return {"run": planned.name, **execute(planned, backend)}


def validate(
    model: str,
    reference: dict,
    config: str,
    out_dir: str,
    *,
    plan: dict,
    trajectories: list[str],
    glass_rows: dict | None = None,
    parsl_resource_specification: dict | None = None,
) -> dict:
    """The final model against its reference (:func:`mlmd.validate.validate`) with the
    :class:`mlmd.validate.ValidateConfig` file ``config`` (JSON) over the MD runs of
    ``plan`` (:func:`validate_plan`), every one finished by :func:`validate_run`: it
    analyses and compares them and does part (a), running no MD. Returns the summary, whose
    verdict also holds the glass's material rows (:mod:`mlmd.workflow.glass_rows`) when
    ``glass_rows`` (:func:`mlmd.workflow.plan_stages.glass_rows_spec`) is given."""
    from pathlib import Path

    from mlmd.validate import Run
    from mlmd.validate import validate as run_validation
    from mlmd.workflow.glass_rows import structure_rows, with_rows

    summary = run_validation(
        model,
        reference["name"],
        out_dir,
        config=_validate_config(config),
        reference_config=_reference_settings(reference),
        parts=tuple(plan["parts"]),
        trajectories=tuple(trajectories),
        runs=[Run(**r) for r in plan["runs"]],
        progress=False,
    )
    if not glass_rows:
        return summary
    rows = structure_rows(summary, **glass_rows, out_dir=Path(out_dir) / "glass_rows")
    return with_rows(summary, rows)


def _validate_config(path: str):
    """The :class:`mlmd.validate.ValidateConfig` of the JSON file ``path``."""
    import json

    from mlmd.config import from_mapping
    from mlmd.validate import ValidateConfig

    return from_mapping(ValidateConfig, json.loads(open(path).read()), source=path)


def properties_command(
    config: str,
    parsl_resource_specification: dict | None = None,
    stdout: str = "",
    stderr: str = "",
) -> str:
    """The shell command of the property stages (``mlmd properties CONFIG``) on
    ``$PARSL_MPI_PREFIX`` ranks; the path is shell-quoted, as in :func:`md_command`."""
    return f"$PARSL_MPI_PREFIX mlmd properties {shlex.quote(config)}"
