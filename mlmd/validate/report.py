"""``report_lines(summary)``: the validation as markdown, verdict table first.

The first line says PASS or FAIL; a failing model gets a plain sentence naming what failed
before any table. Then the verdict table (every row: quantity, model, reference, distance,
tolerance, pass/FAIL), a warning when the model's cutoff is shorter than the reference's
known range, the a-posteriori errors per phase beside the test-set errors, and the plots.
"""

from __future__ import annotations

import math


def _num(value, err=None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    text = f"{value:.4g}"
    if err is not None and isinstance(err, (int, float)) and math.isfinite(err) and err > 0:
        text += f" ± {err:.2g}"
    return text


def verdict_table(rows: list[dict]) -> list[str]:
    """The markdown verdict table of ``rows`` (:meth:`mlmd.validate.verdict.Row.to_dict`)."""
    lines = [
        "| part | quantity | model | reference | distance | tolerance | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        unit = f" {r['unit']}" if r["unit"] else ""
        ml = _num(r["ml"], r["ml_err"]) + (unit if r["ml"] is not None else "")
        ref = _num(r["ref"], r["ref_err"]) + (unit if r["ref"] is not None else "")
        lines.append(
            f"| {r['part']} | {r['quantity']} | {ml} | {ref} | {_num(r['distance'])} | "
            f"{r['rule']} | "
            f"{'pass' if r['pass'] else '**FAIL**'} |"
        )
    return lines


def _aposteriori_table(a: dict) -> list[str]:
    test = a.get("test_set") or {}
    test_f = test.get("forces_rmse")
    test_e = (
        None if test.get("energy_per_atom_rmse") is None else 1e3 * test["energy_per_atom_rmse"]
    )
    lines = [
        f"Test-set errors of the model: F RMSE {_num(test_f)} eV/Å, E RMSE {_num(test_e)} "
        "meV/atom.",
        "",
        "| phase | frames | F RMSE (eV/Å) | E RMSE (meV/atom) | mean max spread (eV/Å) "
        "| Spearman ρ (spread vs error) | calibration | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for phase, p in a["phases"].items():
        lines.append(
            f"| {phase} | {p['n_frames']} | {_num(p['force_rmse_eV_A'])} "
            f"(≤ {_num(p['target_force_rmse_eV_A'])}) | {_num(p['energy_rmse_meV_atom'])} "
            f"(≤ {_num(p['target_energy_rmse_meV_atom'])}) | {_num(p['spread_max_mean_eV_A'])} | "
            f"{_num(p['spearman'])} | {_num(p['calibration'])} | "
            f"{'pass' if p['pass'] else '**FAIL**'} |"
        )
    for phase in a.get("unlabelled", {}):
        refused = "**FAIL**: the reference refused every frame"
        lines.append(f"| {phase} | 0 | — | — | — | — | — | {refused} |")
    for path, used in (a.get("windows") or {}).items():
        spans = ", ".join(f"{k} {w[0]:g}–{w[1]:g} ps" for k, w in used["windows_ps"].items())
        tg = used["glass_transition"]
        tg_text = f"{tg['tg_K']:.0f} K" if tg.get("tg_K") is not None else "—"
        lines.append(f"\nFrames of `{path}`: {spans}; T_g {tg_text} ({tg['source']}).")
    return lines


def _reach_lines(reach: dict) -> list[str]:
    """A warning when the model's cutoff is shorter than the reference's known range, with
    what the interactions in between carry where that was measured."""
    from mlmd.validate.reach import is_short

    if not is_short(reach):
        return []
    mine, theirs, beyond = reach["model"], reach["reference"], reach.get("beyond")
    text = (
        f"**The model sees {mine:g} Å; its reference reaches {theirs:g} Å.** The forces of "
        f"pairs between {mine:g} and {theirs:g} Å are out of its reach: a floor under its "
        f"errors that no training removes (train with `cutoff_A = {theirs:g}`)."
    )
    if beyond:
        text += (
            f" On the {beyond['n_frames']} a-posteriori frames those pairs carry F RMSE "
            f"{_num(beyond['force_rmse_eV_A'])} eV/Å and "
            f"{_num(beyond['energy_meV_atom_mean'], beyond['energy_meV_atom_std'])} meV/atom."
        )
    return [text, ""]


def report_lines(summary: dict) -> list[str]:
    """Markdown lines of a validation summary (as :func:`mlmd.validate.validate` returns)."""
    v = summary["verdict"]
    ref = summary.get("reference", {}).get("name", "the reference")
    word = "PASS" if v["pass"] else "FAIL"
    lines = [f"## Validation of the model against its reference (`{ref}`): {word}", ""]
    if v["pass"]:
        lines.append(f"**PASS**: all {len(v['rows'])} checks are inside their tolerances.")
    elif not v["rows"]:
        lines.append("**FAIL**: nothing was compared.")
    else:
        shown = ", ".join(v["failed"][:8]) + (", …" if len(v["failed"]) > 8 else "")
        lines.append(
            f"**FAIL**: the model fails {len(v['failed'])} of {len(v['rows'])} checks "
            f"against `{ref}` ({shown}). Its MD does not reproduce its reference; results "
            "computed with it are not trustworthy."
        )
    lines += ["", *verdict_table(v["rows"]), ""]
    lines += _reach_lines(summary.get("reach_A") or {})
    for state in ("liquid", "glass"):
        s = summary.get(state)
        if s:
            lines.append(
                f"{state.capitalize()}: window {s['window_ps'][0]:g}–{s['window_ps'][1]:g} ps "
                f"of each run, {s['n_frames']} frames, g(r) up to {s['r_max_A']:g} Å, "
                f"{len(s['runs']) - 1} reference runs (noise floor)."
            )
    a = summary.get("aposteriori")
    if a:
        lines += ["", "### A-posteriori errors on production-like frames", ""]
        lines += _aposteriori_table(a)
    plots = summary.get("plots", [])
    if plots:
        lines.append("")
        lines += [f"![{p.rsplit('/', 1)[-1]}]({p})" for p in plots]
    return [*lines, ""]
