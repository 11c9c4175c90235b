"""``report.md`` of a campaign: dataset growth, errors and spread per iteration, learning
curves, production thermo and structure (copied from the analysis), and provenance."""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

import numpy as np

from mlmd import __version__


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _mean_test(metrics: list[dict], name: str) -> float:
    values = [m.get("test", {}).get(name, np.nan) for m in metrics]
    values = [v for v in values if v == v]
    return float(np.mean(values)) if values else float("nan")


def iteration_table(record: dict) -> list[dict]:
    """One row per training round: frames, test errors (member mean) and selection spread."""
    from mlmd.data import Dataset

    rows = []
    training = record.get("training", {})
    selections = {f"it{it['iteration']}": it for it in record.get("iterations", [])}
    for tag, metrics in training.items():
        it = selections.get(tag, {})
        sel = it.get("selection", {})
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
                "dataset_frames": len(Dataset(it["data"])) if it.get("data") else None,
            }
        )
    return rows


def _plot_iterations(rows: list[dict], path: Path) -> None:
    plt = _pyplot()
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


def write_report(run_dir: Path, record: dict, status: dict) -> Path:
    """Write ``run_dir/report.md`` (and its PNGs under ``run_dir/report/``)."""
    run_dir = Path(run_dir)
    figs = run_dir / "report"
    figs.mkdir(exist_ok=True)
    rows = iteration_table(record)
    lines = [f"# {record['campaign']}: SiO2 campaign report", ""]
    lines += [
        f"Last invocation {record.get('wall_s', 0):.0f} s (reused steps not counted). Reference: "
        f"`{record['sizes']['reference']}` (preset `{record['sizes']['preset']}`).",
        "",
    ]
    if rows:
        _plot_iterations(rows, figs / "iterations.png")
        lines += [
            "## Active learning",
            "",
            "![iterations](report/iterations.png)",
            "",
            "| round | train frames | E RMSE (meV/atom) | F RMSE (eV/Å) | σ RMSE (GPa) "
            "| mean spread | selected |",
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
    lines += ["## Production", ""]
    for run, analysis in zip(
        record.get("production", []), record.get("analyses", []), strict=False
    ):
        name = Path(run["config"]).parent.name
        lines += [
            f"### {name}",
            "",
            f"Config `{run['config']}`, trajectory `{run['trajectory']}`.",
            "",
        ]
        out_dir = Path(analysis.get("out_dir", ""))
        lines += _comparison_table(analysis.get("summary", {}))
        for png in sorted(out_dir.glob("*.png")) if out_dir.is_dir() else []:
            shutil.copy(png, figs / f"{name}_{png.name}")
            lines += [f"![{png.stem}](report/{name}_{png.name})", ""]
    lines += [
        "## Provenance",
        "",
        f"- mlmd {__version__}, Python {platform.python_version()}, host {platform.node()}",
        f"- sites: {', '.join(record.get('sites', []))}",
        f"- sizes: `{json.dumps(record['sizes'], default=str)}`",
        f"- final dataset `{record.get('final_data')}`, model `{record.get('final_model')}`",
        f"- stages: `{json.dumps(status.get('stages', {}))}`",
        "",
    ]
    if status.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in status["notes"]] + [""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def _comparison_table(summary: dict) -> list[str]:
    """Markdown rows: the glass against experimental silica (from the analysis summary)."""
    comparison = summary.get("silica", {}).get("comparison", {})
    if not comparison:
        return ["(no silica comparison in the analysis summary)", ""]
    rows = ["| quantity | this glass | experiment | source |", "|---|---|---|---|"]
    for name, entry in comparison.items():
        model = entry.get("model")
        shown = f"{model:.3f}" if isinstance(model, (int, float)) else str(model)
        rows.append(f"| {name} | {shown} | {entry.get('experiment')} | {entry.get('source', '')} |")
    return [*rows, ""]
