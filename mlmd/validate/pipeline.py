"""``validate(model, reference, ...)``: parts (b) reference MD beside ML-MD and (a) a-posteriori
errors, the verdict, plots and ``summary.json``.

Part (b) runs (:mod:`mlmd.validate.runs`) the model and ``reference_seeds`` reference runs
at each enabled state point, analyses every run over its window with the same settings
(:mod:`mlmd.validate.observe`) and compares them (:mod:`mlmd.validate.verdict`). Part (a)
labels frames of production trajectories — given, or the model's own glass run of (b) — or,
for a reference that runs out of process (DFT), of small-cell ML-MD replicas of the glass
schedule (:mod:`mlmd.validate.aposteriori`). Finished MD runs are reused on a rerun.

Which runs, and where, is planned once (:mod:`mlmd.validate.plan`): :func:`validate` runs
them here one after another, or analyses runs a campaign ran as parallel tasks (``runs``)
and runs no MD itself.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlmd import __version__
from mlmd.atomic import write_text
from mlmd.config import to_mapping
from mlmd.errors import InputError
from mlmd.progress import Progress
from mlmd.validate import plots
from mlmd.validate.aposteriori import aposteriori_errors, aposteriori_rows, check_trajectories
from mlmd.validate.config import ValidateConfig
from mlmd.validate.observe import (
    analysis_config,
    bond_cutoffs,
    common_r_max,
    measure,
    trajectory_species,
    window_frame_count,
)
from mlmd.validate.plan import PARTS, checked_inputs, frames_from, planned_runs
from mlmd.validate.reach import reach, with_beyond
from mlmd.validate.runs import Run, execute, finished_record
from mlmd.validate.verdict import failed_run, glass_rows, liquid_rows, verdict

log = logging.getLogger(__name__)


def reference_species(reference) -> list[int] | None:
    """Atomic numbers a reference knows, when it can say: its ``species``, its potential's
    (the teacher), or its settings' ``elements`` (lammps)."""
    from ase.data import atomic_numbers

    species = getattr(reference, "species", None)
    if species is None and hasattr(reference, "potential"):
        species = getattr(reference.potential, "species", None)
    elements = getattr(getattr(reference, "settings", None), "elements", None)
    if species is None and elements:
        species = [atomic_numbers[e] for e in elements]
    return None if species is None else sorted(int(z) for z in species)


def check_species(model: str, potential, reference) -> list[int]:
    """The species of ``potential`` (the model ``model``, loaded); :class:`InputError` when
    they differ from the reference's."""
    mine = sorted(int(z) for z in potential.species)
    theirs = reference_species(reference)
    if theirs is not None and mine != theirs:
        raise InputError(
            f"the model's species {mine} differ from the reference's {theirs}",
            file=str(model),
            field="species",
            fix="validate against a reference of the model's elements (--reference, "
            "--reference-config)",
        )
    return mine


def _window(cfg: ValidateConfig, state: str) -> tuple[float, float]:
    if state == "liquid":
        eq = cfg.liquid.equilibration_ps
        return eq, eq + cfg.liquid.sampling_ps
    return cfg.glass.anneal_ps


def compare_state(
    cfg: ValidateConfig, state: str, runs: list[Run], records: dict, out: Path
) -> tuple[dict, list]:
    """Analyse and compare one state point's runs: (state summary, verdict rows)."""
    model = next(r for r in runs if not r.is_reference)
    refs = [r for r in runs if r.is_reference]
    failed = records[model.role].get("status") != "completed"
    measured = refs if failed else [*refs, model]
    window = _window(cfg, state)
    n_frames = {r.role: window_frame_count(r.trajectory, window, f"the {state}") for r in measured}
    n = n_frames[refs[0].role]
    dt_ps = cfg.md.output_every * cfg.md.timestep_fs / 1e3
    r_max = common_r_max([r.trajectory for r in measured], cfg.analysis.dr_A)
    cutoffs = dict(cfg.analysis.cutoffs_A)
    species = trajectory_species(refs[0].trajectory)
    results = {}
    for run in measured:  # the first reference first: its g(r) minima are everyone's cutoffs
        acfg = analysis_config(
            cfg.analysis,
            state,
            n_frames=n,
            frame_dt_ps=dt_ps,
            r_max_A=r_max,
            cutoffs_A=cutoffs,
            species=species,
        )
        results[run.role] = measure(
            run.trajectory, out / "analysis" / state / run.role, acfg, window
        )
        if run is refs[0]:
            cutoffs = {**bond_cutoffs(results[run.role].summary), **cutoffs}
    ref_results = [results[r.role] for r in refs]
    if failed:
        rows = [failed_run(state, records[model.role].get("message", "did not finish"))]
    else:
        rows_of = liquid_rows if state == "liquid" else glass_rows
        rows = rows_of(results[model.role], ref_results, cfg.tolerances)
    shown = sorted(measured, key=lambda r: r.is_reference)  # the model first: red, solid
    curves = {r.role.replace("_", " "): results[r.role].curves for r in shown}
    pngs = [
        plots.plot_overlays(state, curves, kind, out / f"{state}_{kind}.png")
        for kind in ("g", "angle", "msd")
    ]
    summary = {
        "window_ps": list(window),
        "n_frames": n,
        "r_max_A": r_max,
        "cutoffs_A": cutoffs,
        "runs": {
            r.role: {
                "scalars": results[r.role].scalars,
                "analysis": str(results[r.role].summary),
                "trajectory": str(r.trajectory),
                "frames": n_frames[r.role],
            }
            for r in measured
        },
        "records": records,
        "plots": [str(p) for p in pngs if p is not None],
    }
    return summary, rows


def _records(runs: list[Run], reference, bar, run_md: bool) -> dict[str, dict]:
    """Every run's record: run here (reusing finished ones; the bar advances by each run's
    MD steps), or, without ``run_md``, read from its directory, where it must be finished."""
    records = {}
    for run in runs:
        if run_md:
            log.info("validate: %s %s (%s)", run.state, run.role, run.engine)
            bar.note = f"{run.state} {run.role.replace('_', ' ')}"
            records[run.name] = execute(run, reference)
            bar.advance(run.config["steps"])
        else:
            records[run.name] = finished_record(run)
    return records


def validate(  # noqa: PLR0913 — public API (`mlmd validate`): keyword-only options, named at every call
    model: str | Path,
    reference: str,
    out_dir: str | Path,
    *,
    config: ValidateConfig | None = None,
    reference_config=None,
    parts: tuple[str, ...] = PARTS,
    trajectories: tuple[str | Path, ...] = (),
    runs: list[Run] | None = None,
    progress: bool = True,
) -> dict:
    """Validate ``model`` against ``reference``; writes ``out_dir/summary.json``.

    Args:
        model: the model's potential spec (a model directory, an export, a *.vashishta
            file, a registered name).
        reference: a reference name (``teacher``, ``lammps``, ``cp2k``...); part (b) needs
            one that runs MD.
        config: the :class:`ValidateConfig` (defaults: issue 12's state points).
        reference_config: the reference's settings (mapping or TOML path).
        parts: ``"b"`` reference MD beside ML-MD, ``"a"`` a-posteriori errors.
        trajectories: production trajectories for part (a).
        runs: None: the MD runs are planned and run here, one after another (finished
            runs are reused, an interrupted one resumes). Else :func:`plan_validation`'s
            plan for the same arguments, every run finished elsewhere by :func:`execute`
            (a campaign's parallel tasks): analysed, never run; one not finished is an
            :class:`~mlmd.errors.MlmdError`.
        progress: a progress bar over the MD steps run here.

    Returns:
        the summary: ``{"verdict": {"pass", "rows", "failed"}, "liquid", "glass",
        "aposteriori", "plots", ...}`` (see :func:`mlmd.validate.report_lines`).
    """
    from mlmd.potential import load_potential

    cfg, parts, ref = checked_inputs(reference, config, reference_config, parts)
    out, model = Path(out_dir), str(model)
    potential = load_potential(model, "cpu")
    species = check_species(model, potential, ref)
    if "a" in parts and trajectories and frames_from(cfg, ref) == "trajectories":
        check_trajectories([Path(t) for t in trajectories], cfg.aposteriori)
    out.mkdir(parents=True, exist_ok=True)
    run_md = runs is None
    job = _Job(cfg, model, reference, ref, out, tuple(Path(t) for t in trajectories), progress)
    if run_md:
        runs = planned_runs(cfg, model=model, name=reference, ref=ref, out=out, parts=parts)
    summary = _header(job, species=species, parts=parts, reach_A=reach(potential, ref))
    return _finish(job, parts, summary, list(runs), run_md=run_md)


def _finish(job: _Job, parts: tuple[str, ...], summary: dict, runs: list[Run], *, run_md: bool):
    """Run (``run_md``) or find the MD runs, compare them, do part (a); the summary, also
    written to ``summary.json``."""
    steps = sum(r.config["steps"] for r in runs) if run_md else 0
    bar = Progress(steps, label="validate", unit="MD step", enabled=job.progress and run_md)
    rows: list = []
    try:
        records = _records(runs, job.ref, bar, run_md=run_md)
        for state in ("liquid", "glass"):
            mine = [r for r in runs if r.state == state]
            if mine:
                recs = {r.role: records[r.name] for r in mine}
                summary[state], state_rows = compare_state(job.cfg, state, mine, recs, job.out)
                summary["plots"] += summary[state]["plots"]
                rows += state_rows
        if "a" in parts:
            rows += _part_a(job, runs, records, summary)
    finally:
        bar.close()
    summary["verdict"] = verdict(rows)
    path = job.out / "summary.json"
    write_text(path, json.dumps(_finite(summary), indent=2, allow_nan=False))
    return json.loads(path.read_text())


@dataclass(frozen=True)
class _Job:
    """What one validation is of: its config, the model's spec, the reference's name and
    the built reference, the output directory, the production trajectories given for part
    (a), and whether to draw progress bars."""

    cfg: ValidateConfig
    model: str
    name: str
    ref: object
    out: Path
    trajectories: tuple[Path, ...]
    progress: bool


def _header(job: _Job, *, species: list[int], parts: tuple[str, ...], reach_A: dict) -> dict:
    return {
        "format": "mlmd.validate.summary",
        "version": 1,
        "mlmd_version": __version__,
        "model": job.model,
        "species": species,
        "reference": {"name": job.name, "settings": job.ref.reference},
        "parts": list(parts),
        "reach_A": reach_A,
        "config": to_mapping(job.cfg),
        "plots": [],
    }


def _part_a(job: _Job, runs: list[Run], records: dict, summary: dict) -> list:
    """Part (a) into ``summary["aposteriori"]``; its verdict rows."""
    sources, failure = _aposteriori_sources(job, runs, records)
    if failure is not None:
        return [failed_run("a-posteriori", failure)]
    a = aposteriori_errors(
        job.model,
        job.ref,
        sources,
        job.out / "aposteriori",
        job.cfg.aposteriori,
        progress=job.progress,
    )
    a["trajectories"] = [str(p) for p in sources]
    summary["aposteriori"] = a
    summary["reach_A"] = with_beyond(summary["reach_A"], job.ref, a["datasets"]["frames"])
    summary["plots"] += a["plots"]
    return aposteriori_rows(a)


def _aposteriori_sources(job: _Job, runs: list[Run], records: dict):
    """(trajectories whose frames part (a) labels, or None and why the model's MD failed)."""
    mode = frames_from(job.cfg, job.ref)
    if mode == "replicas":
        run = next(r for r in runs if r.state == "replica")
    elif job.trajectories:
        return list(job.trajectories), None
    else:
        run = next((r for r in runs if r.state == "glass" and not r.is_reference), None)
        if run is None:
            raise InputError(
                "part (a) needs production trajectories",
                field="--trajectory",
                fix="pass --trajectory TRAJ.h5 (or enable the glass state point)",
            )
    record = records[run.name]
    if record["status"] != "completed":
        return None, f"the model's {run.state} MD: {record.get('message', record['status'])}"
    return [run.trajectory], None


def _finite(obj):
    """JSON-safe: numpy → Python, NaN/inf → None, tuples → lists, paths → strings."""
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj
