"""``report.md`` of a campaign, verdict first, each section a function of the campaign record.

Order (issue 12): the model against its reference (the validation verdict), the reference
against experiment (its own glass, where it ran MD), then the model against experiment (the
production glass), the production windows in detail (glass over the anneal, liquid over the
melt hold, the quench's ρ(T), H(T) and T_g), active learning, properties and provenance.
Every number names the window it comes from. PNGs are copied under ``RUN_DIR/report/``.
"""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

from mlmd import __version__
from mlmd.atomic import write_text
from mlmd.workflow import physical
from mlmd.workflow.report_rounds import active_learning


def write_report(run_dir: Path, record: dict, status: dict) -> Path:
    """Write ``run_dir/report.md`` (and its PNGs under ``run_dir/report/``) atomically."""
    run_dir = Path(run_dir)
    figs = run_dir / "report"
    figs.mkdir(exist_ok=True)
    lines = header(record)
    lines += verdict(record, figs)
    lines += reference_vs_experiment(record)
    lines += model_vs_experiment(record)
    lines += production(record, figs)
    lines += active_learning(record, figs)
    lines += properties(record)
    lines += provenance(record, status)
    path = run_dir / "report.md"
    write_text(path, "\n".join(lines))
    return path


def header(record: dict) -> list[str]:
    ref = record.get("reference", {})
    return [
        f"# {record['campaign']}: {record.get('material', '?')} glass campaign report",
        "",
        f"Last invocation {record.get('wall_s', 0):.0f} s (reused steps not counted). "
        f"Reference: `{ref.get('label', '?')}` ({ref.get('name', '?')}, settings "
        f"`{json.dumps(ref.get('settings', {}))}`).",
        "",
    ]


def copy_plot(path: str | Path, figs: Path, prefix: str) -> str:
    """Copy a PNG into the report's folder; its path relative to ``report.md``."""
    path = Path(path)
    name = f"{prefix}_{path.name}".replace("/", "_")
    shutil.copy(path, figs / name)
    return f"report/{name}"


def verdict(record: dict, figs: Path) -> list[str]:
    """The validation's own report lines (:func:`mlmd.validate.report_lines`), plots local,
    then issue 12's minimum bar (:mod:`mlmd.workflow.physical`)."""
    from mlmd.validate import report_lines

    entry = record.get("validation")
    if not entry and record.get("validation_error"):
        return [
            "## Validation of the model against its reference: FAIL",
            "",
            f"**FAIL**: the validation could not run ({record['validation_error']}). Nothing "
            "below is checked; results computed with this model are not trustworthy.",
            "",
        ]
    if not entry:
        return ["## Validation", "", "No validation stage ran: nothing below is checked.", ""]
    lines = []
    for line in report_lines(entry["summary"]):
        if line.startswith("![") and line.endswith(")"):
            target = line[line.index("](") + 2 : -1]
            if Path(target).is_file():
                line = line.replace(target, copy_plot(target, figs, "validation"))
        lines.append(line)
    return lines + physical.report_lines(entry["summary"])


def _window_of(rows: dict) -> str:
    w = next(iter(rows.values())).get("window") or {}
    return w.get("label") or f"{w.get('text', '?')}, {w.get('frames', '?')} frames"


def _comparison(rows: dict, who: str) -> list[str]:
    out = [f"| quantity | {who} | experiment | source | window |", "|---|---|---|---|---|"]
    for name, r in rows.items():
        exp = f"{r['experiment']:.4g} ± {r.get('uncertainty') or 0:.2g} {r.get('unit', '')}"
        out.append(f"| {name} | {r['model']:.4g} | {exp} | {r['source']} | {_window_of(rows)} |")
    return [*out, ""]


def reference_vs_experiment(record: dict) -> list[str]:
    """The reference's own glass (the validation's first reference run) against experiment."""
    from mlmd.analysis import compare

    glass = (record.get("validation") or {}).get("summary", {}).get("glass")
    experiment = record.get("experiment") or {}
    if not glass or not experiment:
        return []
    path = Path(glass["runs"].get("reference_1", {}).get("analysis", ""))
    if not path.is_file():
        return []
    rows, missing = compare(json.loads(path.read_text()), experiment)
    lines = ["## The reference against experiment", ""]
    lines += ["Its own glass from the same schedule (the validation's first reference run).", ""]
    lines += _comparison(rows, "reference") if rows else ["(no quantity in common)", ""]
    return lines + ([f"Not compared: {'; '.join(missing)}.", ""] if missing else [])


def _by_run(record: dict) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for analysis in record.get("analyses", []):
        out.setdefault(analysis["tag"], {})[analysis["phase"]] = analysis
    return out


def model_vs_experiment(record: dict) -> list[str]:
    lines = ["## The model against experiment", ""]
    summary = (record.get("validation") or {}).get("summary")
    failed = summary is not None and not summary["verdict"]["pass"]
    if failed or record.get("validation_error"):
        lines += ["The model FAILED its validation: these are not its reference's numbers.", ""]
    for tag, phases in _by_run(record).items():
        rows = (phases.get("glass", {}).get("summary") or {}).get("comparison") or {}
        if rows:
            lines += [f"Production run {tag}, its glass:", "", *_comparison(rows, "model")]
    return lines


def quench_lines(summary: dict) -> list[str]:
    """T_g from the kinks of H(T) and ρ(T) of the quench (or why there is none)."""
    q = summary.get("quench") or {}
    w = q.get("window") or {}
    where = f"cooling segment {w.get('start_ps', 0):g}–{w.get('end_ps', 0):g} ps"
    lines = []
    for key in ("enthalpy", "density"):
        fit = q.get(key)
        if fit is None:
            lines.append(f"- T_g from {key}: not fitted ({where})")
        elif fit["resolved"]:
            lines.append(f"- T_g from {key}: {fit['tg_K']:.0f} ± {fit['tg_err_K']:.0f} K ({where})")
        else:
            lines.append(f"- T_g from {key}: no kink resolved — {fit['reason']} ({where})")
    return [*lines, ""]


def core_lines(summary: dict) -> list[str]:
    """A warning when the window's MD had pairs inside the model's core switch (observable
    ``core_pairs`` of an ensemble's run: closer than its data ever came)."""
    stats = ((summary.get("thermo") or {}).get("series") or {}).get("core_pairs")
    if not stats or not stats["max"] > 0:
        return []
    return [
        f"**Pairs closer than the model's data ever came**: up to {stats['max']:.0f} at once "
        f"(mean {stats['mean']:.2g} per output row) inside its core switch in this window. The "
        "model is its fixed core there, not its reference, and its ensemble spread cannot see "
        "them. Pairs that stay are a hole in its repulsion: this window's numbers are not "
        "trustworthy. Brief ones are collisions its data should reach next (label frames of "
        "this run).",
        "",
    ]


def production(record: dict, figs: Path) -> list[str]:
    """Per run: the glass (anneal) and liquid (melt hold) analyses and the quench."""
    from mlmd.analysis import report_lines

    lines = ["## Production", ""]
    by_run = _by_run(record)
    for run in record.get("production", []):
        tag = run["tag"]
        lines += [f"### {tag}", "", f"Trajectory `{run['trajectory']}`.", ""]
        for phase in ("glass", "liquid", "quench"):
            analysis = by_run.get(tag, {}).get(phase)
            if analysis is None:
                lines += [f"**{phase}**: no analysis (see the notes).", ""]
                continue
            lines.append(f"**{phase}**")
            lines += [""]
            summary = analysis["summary"]
            lines += quench_lines(summary) if phase == "quench" else report_lines(summary)
            lines += core_lines(summary)
            for png in sorted(Path(analysis["out_dir"]).glob("*.png")):
                lines += [f"![{phase} {png.stem}]({copy_plot(png, figs, f'{tag}_{phase}')})", ""]
    return lines


def properties(record: dict) -> list[str]:
    from mlmd.properties import report_lines

    entry = record.get("properties")
    if not entry:
        return []
    return ["## Properties (final model, production glass)", ""] + [
        *report_lines(entry["summary"], record.get("experiment") or {}),
        "",
    ]


def provenance(record: dict, status: dict) -> list[str]:
    lines = [
        "## Provenance",
        "",
        f"- mlmd {__version__}, Python {platform.python_version()}, host {platform.node()}",
        f"- sites: {', '.join(record.get('sites', []))}",
        f"- campaign config: `{json.dumps(record.get('config', {}), default=str)}`",
        f"- final dataset `{record.get('final_data')}`, model `{record.get('final_model')}`",
        f"- stages: `{json.dumps(status.get('stages', {}))}`",
        "",
    ]
    if status.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in status["notes"]] + [""]
    return lines
