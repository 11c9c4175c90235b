"""A glass from a material file: active learning, melt–quench production, analysis, report.

    python campaigns/glass.py --material campaigns/materials/si.toml \\
        --site sites/local.toml --run-dir runs/si

The DAG: start frames (and frames of the reference's own MD, where it runs MD) → label →
(train ensemble → explore → select → label → merge) × iterations → train → melt–quench
production (replicas × quench rates) → analysis of the glass (anneal) and the liquid (melt
hold) → validation → ``RUN_DIR/report.md``. Every setting is a typed
config (:mod:`mlmd.workflow.config`) parsed, with every MD run it implies, in this process
before anything is submitted; ``--config FILE`` (TOML) and the options below override the
preset's. Rerun with the same ``--run-dir`` to resume. ``quickstart.py`` and
``sio2_glass.py`` are presets of this script.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaigns import stages  # noqa: E402
from campaigns.runner import Campaign  # noqa: E402
from mlmd.atomic import write_text  # noqa: E402
from mlmd.errors import ConfigError, MlmdError  # noqa: E402

log = logging.getLogger("mlmd.campaign")
ROOT = Path(__file__).resolve().parents[1]

#: Command-line options → (dotted key of the campaign config, type).
OPTIONS = {
    "--reference": ("reference", str),
    "--start-recipe": ("start.recipe", str),
    "--start-frames": ("start.frames", int),
    "--iterations": ("iterations", int),
    "--members": ("members", int),
    "--seed": ("seed", int),
    "--epochs": ("train.epochs", int),
    "--explore-runs": ("explore.runs", int),
    "--explore-steps": ("explore.steps", int),
    "--select-cap": ("explore.select_cap", int),
    "--sigma-lo-eV-A": ("explore.sigma_lo_eV_A", float),
    "--sigma-hi-eV-A": ("explore.sigma_hi_eV_A", float),
    "--production-atoms": ("production.atoms", int),
    "--production-start": ("production.start", str),
    "--replicas": ("production.replicas", int),
    "--melt-K": ("production.melt_K", float),
    "--melt-GPa": ("production.melt_GPa", float),
    "--melt-ps": ("production.melt_hold_ps", float),
    "--anneal-ps": ("production.anneal_ps", float),
    "--glass-frames": ("production.glass_frames", int),
    "--validation-atoms": ("validation.atoms", int),
    "--validation-equilibration-ps": ("validation.equilibration_ps", float),
    "--validation-sampling-ps": ("validation.sampling_ps", float),
    "--validation-every-fs": ("validation.output_every_fs", float),
    "--validation-frames": ("validation.frames_per_phase", int),
}


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    p.add_argument("--material", type=Path, help="material file (campaigns/materials/*.toml)")
    p.add_argument("--site", action="append", type=Path, help="site file (repeatable)")
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--config", type=Path, help="campaign TOML over the preset")
    for option, (key, kind) in OPTIONS.items():
        p.add_argument(option, type=kind, dest=key, default=None, help=f"sets {key}")
    p.add_argument(
        "--quench-rates-K-ps", type=float, nargs="+", dest="production.quench_rates_K_ps"
    )
    return p


def campaign_settings(args: argparse.Namespace, preset: dict, source: str):
    """The preset, then ``--config``, then the options: a checked CampaignConfig."""
    from mlmd.config import load_toml
    from mlmd.workflow.config import campaign_config, merge

    data = dict(preset)
    if args.config is not None:
        data = merge(data, load_toml(args.config))
        source += f" + {args.config}"
    if args.material is not None:
        data["material"] = str(args.material)
    keys = [key for key, _ in OPTIONS.values()] + ["production.quench_rates_K_ps"]
    for key in keys:
        value = getattr(args, key)
        if value is not None:
            head, *rest = key.split(".")
            data = merge(data, {head: _nest(rest, value)} if rest else {head: value})
    if "material" not in data:
        raise ConfigError("no material", field="--material", fix="pass --material FILE.toml")
    return campaign_config(data, source + " + command line")


def _nest(keys: list[str], value):
    return value if not keys else {keys[0]: _nest(keys[1:], value)}


def prepare(cfg):
    """The material, its reference and every MD run, checked before anything runs."""
    from mlmd.materials import load_material
    from mlmd.workflow.plan import plan_campaign
    from mlmd.workflow.plan_stages import (
        glass_rows_spec,
        properties_config,
        stop_spec,
        validation_config,
    )

    material = load_material(cfg.material)
    label = cfg.reference or material.reference
    if label not in material.references:
        raise ConfigError(
            f"no reference {label!r} in the material",
            file=material.path,
            field="--reference",
            fix=f"use one of {', '.join(sorted(material.references))}",
        )
    plan = plan_campaign(cfg, material)
    on = cfg.validation.enabled
    stages_checked = {
        "validation": validation_config(cfg, material) if on else None,
        "glass_rows": glass_rows_spec(cfg, material) if on else None,
        "stop": stop_spec(cfg) if cfg.stop.enabled else None,
        "properties": properties_config(cfg),
    }
    return material, dataclasses.replace(plan, **stages_checked)


def dag(c: Campaign) -> dict:
    """The stages in order; returns what the record and report need.

    Round r trains on the data so far, explores with that model and, when ``[stop]`` is on,
    checks it on frames of its own exploration; a model inside the targets ends the rounds
    (it is the final model); otherwise the selected frames are labelled and merged. After
    ``iterations`` rounds the final model trains on everything.
    """
    starts = stages.start(c)
    data = stages.label(c, starts, "start")
    seeded = stages.reference_md(c)
    if seeded is not None:
        data = stages.merge(c, [data, stages.label(c, seeded, "reference_md")], "start")
    model = None
    for it in range(c.cfg.iterations + 1):
        tag = f"it{it}" if it < c.cfg.iterations else "final"
        model = stages.train(c, data, tag, previous=model, final=it == c.cfg.iterations)
        if it == c.cfg.iterations:
            break
        explored, selected, counts = stages.explore_and_select(c, model, starts, data.path, it)
        entry = {"iteration": it, "selection": counts, "data": data.path, "model": model.path}
        c.record["iterations"].append(entry)
        if c.plan.stop is not None:
            entry["check"] = stages.check_round(c, model, explored, it)
            if entry["check"]["pass"]:
                c.status.note(f"it{it}: the model is inside the targets; no more rounds")
                c.record["stopped_at"] = tag
                break
        labelled = stages.label(c, selected, tag)
        data = stages.merge(c, [data, labelled], tag)
    runs = stages.production(c, model)
    out = {"final_data": data.path, "final_model": model.path, "production": runs}
    out["analyses"] = stages.analyze(c, runs)
    if c.plan.validation is not None:
        try:
            out["validation"] = stages.validation(c, model, runs)
        except Exception as exc:  # the report must still say the model is unchecked
            out["validation_error"] = f"{type(exc).__name__}: {exc}"
            c.status.note(f"validation could not run: {out['validation_error']}")
    out["properties"] = stages.properties(c, model, runs)
    return out


def run(name: str, cfg, run_dir: Path, site_files: list[Path]) -> dict:
    """Run (or resume) the whole campaign; returns its record (also in ``record.json``).

    Raises:
        InputError: a bad setting, material or site file, or another campaign holding
            ``run_dir`` (:mod:`mlmd.workflow.lock`), all before anything is submitted.
    """
    import parsl

    from apps.parsl_config import parsl_config
    from mlmd.config import to_mapping
    from mlmd.sites import load_site, merge_sites
    from mlmd.workflow.lock import run_dir_lock
    from mlmd.workflow.report import write_report

    sites = [load_site(p) for p in site_files]
    chosen = merge_sites(sites)
    material, plan = prepare(cfg)
    t0 = time.time()
    with run_dir_lock(run_dir, name):
        record = {"campaign": name, "material": material.name, "config": to_mapping(cfg)}
        record["experiment"] = stages.glass_experiment(material)
        c = Campaign(name, cfg, material, plan, run_dir, chosen, record)
        write_text(c.run_dir / "campaign.json", json.dumps(record["config"], indent=2))
        with parsl.load(parsl_config(sites, c.run_dir)):
            c.record.update(dag(c))
        c.record.update(
            reference=stages.reference_spec(c),
            wall_s=round(time.time() - t0, 1),
            sites=[str(p) for p in site_files],
        )
        write_text(c.run_dir / "record.json", json.dumps(c.record, indent=2, default=str))
        report = write_report(c.run_dir, c.record, c.status.summary())
    log.info("campaign %s finished in %.0f s: %s", name, time.time() - t0, report)
    return c.record


def main(
    argv: list[str] | None = None,
    *,
    name: str = "glass",
    doc: str = __doc__,
    preset: dict | Callable[[argparse.Namespace], dict] | None = None,
    default_site: Path | None = ROOT / "sites/local.toml",
) -> int:
    """Command line of a campaign (this script, or a preset of it: a mapping, or a function
    of the parsed options giving one); exit 2 on bad input."""
    args = parser(doc).parse_args(argv)
    preset = preset(args) if callable(preset) else preset
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    if not args.site and default_site is None:
        parser(doc).error("--site is required for this campaign (see sites/slurm.toml)")
    try:
        cfg = campaign_settings(args, preset or {}, f"{name} preset")
        run(name, cfg, args.run_dir, args.site or [default_site])
    except MlmdError as exc:  # bad input: one line naming the file and field, no traceback
        print(f"{name}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
