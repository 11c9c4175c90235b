"""The active-learning section of a campaign report: per round the training frames, the
test-set errors (member mean), the exploration spread, the frames selected and, with the
stopping rule on, the round's a-posteriori errors per phase on its own exploration."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np


def _mean_test(metrics: list[dict], name: str) -> float:
    values = [m.get("test", {}).get(name, np.nan) for m in metrics]
    values = [v for v in values if v == v]
    return float(np.mean(values)) if values else float("nan")


def iteration_table(record: dict) -> list[dict]:
    """One row per training round: frames, test errors (member mean) and selection spread."""
    rows = []
    rounds = {f"it{it['iteration']}": it for it in record.get("iterations", [])}
    for tag, metrics in record.get("training", {}).items():
        entry = rounds.get(tag, {})
        sel = entry.get("selection", {})
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
                "check": entry.get("check"),
            }
        )
    return rows


def _check_text(check: dict | None) -> str:
    """ "liquid 0.21, glass 0.08 eV/Å: fail" from a round's a-posteriori check; a phase whose
    every frame the reference refused, or that no exploration reached, is named ("…; glass:
    every frame refused by the reference: fail")."""
    if not check:
        return "—"
    phases = check.get("phases", {})
    if not phases:
        return f"fail: {check.get('reason', 'no frames')}"
    errors = ", ".join(f"{p} {v['force_rmse_eV_A']:.3f}" for p, v in phases.items())
    refused = "".join(
        f"; {p}: every frame refused by the reference" for p in check.get("unlabelled", {})
    )
    refused += "".join(f"; {p}: {why}" for p, why in check.get("unreached", {}).items())
    return f"{errors} eV/Å{refused}: {'pass' if check.get('pass') else 'fail'}"


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
        "| round | train frames | test E RMSE (meV/atom) | test F RMSE (eV/Å) | σ RMSE (GPa) "
        "| mean spread (eV/Å) | selected | F RMSE on its exploration, per phase |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['round']} | {r['train_frames']} | {r['energy_rmse_meV_atom']:.2f} | "
        f"{r['force_rmse_eV_A']:.3f} | {r['stress_rmse_GPa']:.3f} | "
        f"{r['spread_mean_eV_A']:.3f} | {r['selected']} | {_check_text(r['check'])} |"
        for r in rows
    ]
    if record.get("stopped_at"):
        lines += ["", f"Rounds stopped at {record['stopped_at']}: inside the targets."]
    lines += ["", *_reference_md_lines(record.get("reference_md"))]
    final = Path(record.get("final_model", "")) / "member_0"
    for png in ("learning_curve.png", "parity_test.png"):
        if (final / png).exists():
            shutil.copy(final / png, figs / f"final_{png}")
            lines += [f"![{png}](report/final_{png})", ""]
    return lines


def _reference_md_lines(entry: dict | None) -> list[str]:
    """What the first data held beside the start frames: the reference's own MD, or why
    not."""
    if not entry:
        return []
    if "skipped" in entry:
        return [f"No reference MD in the first data: {entry['skipped']}.", ""]
    runs = entry["runs"]
    frames = sum(r["frames"] for r in runs)
    return [
        f"First data: the start frames + {frames} frames of {len(runs)} reference MD runs "
        "along the production path (labelled like every other frame).",
        "",
    ]


def _plot_iterations(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].bar(x, [r["train_frames"] for r in rows], color="tab:blue")
    axes[0].set(ylabel="training frames", title="dataset growth")
    axes[1].plot(x, [r["force_rmse_eV_A"] for r in rows], "o-", label="force RMSE (test)")
    checked = [(i, r["check"]) for i, r in enumerate(rows) if r["check"]]
    for phase in sorted({p for _, c in checked for p in c.get("phases", {})}):
        points = [
            (i, c["phases"][phase]["force_rmse_eV_A"]) for i, c in checked if phase in c["phases"]
        ]
        axes[1].plot(*zip(*points, strict=True), "s--", label=f"{phase} (exploration)")
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
