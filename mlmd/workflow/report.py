"""``report.md`` of a campaign, section by section, each a function of the campaign record:
active learning (dataset growth, errors and spread per round), production (the glass over
its anneal window and the liquid over its melt-hold window, every number with its window)
and provenance. PNGs go under ``RUN_DIR/report/``."""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

import numpy as np

from mlmd import __version__
from mlmd.atomic import write_text


def write_report(run_dir: Path, record: dict, status: dict) -> Path:
    """Write ``run_dir/report.md`` (and its PNGs under ``run_dir/report/``) atomically."""
    run_dir = Path(run_dir)
    figs = run_dir / "report"
    figs.mkdir(exist_ok=True)
    lines = header(record)
    lines += active_learning(record, figs)
    lines += production(record, figs)
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


def _mean_test(metrics: list[dict], name: str) -> float:
    values = [m.get("test", {}).get(name, np.nan) for m in metrics]
    values = [v for v in values if v == v]
    return float(np.mean(values)) if values else float("nan")


def iteration_table(record: dict) -> list[dict]:
    """One row per training round: frames, test errors (member mean) and selection spread."""
    rows = []
    selections = {f"it{it['iteration']}": it for it in record.get("iterations", [])}
    for tag, metrics in record.get("training", {}).items():
        sel = selections.get(tag, {}).get("selection", {})
        rows.append(
            {
                "round": tag,
                "train_frames": int(sum(m.get("n_train", 0) for m in metrics[:1])),
                "energy_rmse_meV_atom": 1e3 * _mean_test(metrics, "energy_per_atom_rmse"),
                "force_rmse_eV_A": _mean_test(metrics, "forces_rmse"),
                "stress_rmse_GPa": _mean_test(metrics, "stress_rmse"),
                "spread_mean_eV_A": sel.get("spread_mean", float("nan")),
                "spread_max_eV_A": sel.get("spread_max", float("nan")),
                "selected": sel.get("selected", 0),
            }
        )
    return rows


def active_learning(record: dict, figs: Path) -> list[str]:
    rows = iteration_table(record)
    if not rows:
        return []
    _plot_iterations(rows, figs / "iterations.png")
    lines = [
        "## Active learning",
        "",
        "![iterations](report/iterations.png)",
        "",
        "| round | train frames | E RMSE (meV/atom) | F RMSE (eV/Å) | σ RMSE (GPa) "
        "| mean spread (eV/Å) | selected |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['round']} | {r['train_frames']} | {r['energy_rmse_meV_atom']:.2f} | "
        f"{r['force_rmse_eV_A']:.3f} | {r['stress_rmse_GPa']:.3f} | "
        f"{r['spread_mean_eV_A']:.3f} | {r['selected']} |"
        for r in rows
    ]
    lines.append("")
    final = Path(record.get("final_model", "")) / "member_0"
    for png in ("learning_curve.png", "parity_test.png"):
        if (final / png).exists():
            shutil.copy(final / png, figs / f"final_{png}")
            lines += [f"![{png}](report/final_{png})", ""]
    return lines


def _plot_iterations(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].bar(x, [r["train_frames"] for r in rows], color="tab:blue")
    axes[0].set(ylabel="training frames", title="dataset growth")
    axes[1].plot(x, [r["force_rmse_eV_A"] for r in rows], "o-", label="force RMSE (test)")
    axes[1].set(ylabel="eV/Å", title="errors per round")
    axes[1].legend()
    axes[2].plot(x, [r["spread_mean_eV_A"] for r in rows], "o-", label="mean")
    axes[2].plot(x, [r["spread_max_eV_A"] for r in rows], "s--", label="max")
    axes[2].set(ylabel="max force spread per frame (eV/Å)", title="exploration spread")
    axes[2].legend()
    for ax in axes:
        ax.set_xticks(x, [r["round"] for r in rows])
        ax.set_xlabel("training round")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: Scalars of each phase's table: (label, path into the analysis summary, format).
SCALARS = (
    ("density (g/cm³)", ("system", "density_g_cm3", "mean"), ".3f"),
    ("pressure (GPa)", ("thermo", "series", "pressure", "mean"), ".2f"),
    ("temperature (K)", ("thermo", "series", "temperature", "mean"), ".0f"),
)


def _get(d, path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def window_text(summary: dict) -> str:
    """ "segment:-1, 12.3–15.0 ps, 21 frames" from a summary's ``window`` record."""
    w = summary.get("window") or {}
    start, end = w.get("start_ps"), w.get("end_ps")
    span = f", {start:g}–{end:g} ps" if start is not None and end is not None else ""
    return f"{w.get('text', w.get('kind', '?'))}{span}, {w.get('frames', '?')} frames"


def phase_table(summary: dict, phase: str) -> list[str]:
    """The phase's numbers with the window they come from, then its structure."""
    rows = [f"**{phase}** — window {window_text(summary)}", "", "| quantity | value |", "|---|---|"]
    for name, path, fmt in SCALARS:
        value = _get(summary, path)
        rows.append(f"| {name} | {format(value, fmt) if value is not None else 'n/a'} |")
    for pair, entry in (_get(summary, ("rdf", "partials")) or {}).items():
        rows.append(f"| first g(r) peak {pair} (Å) | {entry['first_peak_A']:.3f} |")
    for triplet, entry in (summary.get("angles") or {}).items():
        rows.append(f"| mean angle {triplet} (°) | {entry['mean_deg']:.1f} |")
    for species, entry in (_get(summary, ("msd", "species")) or {}).items():
        d, err = entry["D_cm2_per_s"], entry["D_err_cm2_per_s"]
        rows.append(f"| D_{species} (10⁻⁵ cm²/s) | {1e5 * d:.3f} ± {1e5 * err:.3f} |")
    return [*rows, ""]


def production(record: dict, figs: Path) -> list[str]:
    lines = ["## Production", ""]
    by_run: dict[str, dict[str, dict]] = {}
    for analysis in record.get("analyses", []):
        by_run.setdefault(analysis["tag"], {})[analysis["phase"]] = analysis
    for run in record.get("production", []):
        tag = run["tag"]
        lines += [f"### {tag}", "", f"Trajectory `{run['trajectory']}`.", ""]
        for phase in ("glass", "liquid"):
            analysis = by_run.get(tag, {}).get(phase)
            if analysis is None:
                lines += [f"**{phase}**: no analysis (see the notes).", ""]
                continue
            lines += phase_table(analysis["summary"], phase)
            out_dir = Path(analysis["out_dir"])
            name = tag.replace("/", "_") + f"_{phase}"
            for png in sorted(out_dir.glob("*.png")):
                shutil.copy(png, figs / f"{name}_{png.name}")
                lines += [f"![{phase} {png.stem}](report/{name}_{png.name})", ""]
    return lines


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
