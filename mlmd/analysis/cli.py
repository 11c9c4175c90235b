"""``mlmd analyze TRAJ -o OUT_DIR``: structure, dynamics and thermo of a trajectory.

The arguments parse into :class:`~mlmd.analysis.config.AnalysisConfig` (strictly, through
:func:`mlmd.config.from_mapping`), on top of an optional ``--config FILE.toml`` ``[analysis]``
table; the resolved settings are written into ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import logging

from mlmd.analysis.config import ANALYSES, AnalysisConfig
from mlmd.analysis.window import Window
from mlmd.config import from_mapping, load_toml
from mlmd.errors import InputError

log = logging.getLogger(__name__)


def _pairs(text: str, arg: str) -> dict[str, str]:
    """``"Si-O=2.3,O-O=3.0"`` or ``"1=Si,2=O"`` → dict of strings."""
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"'{item}' is not KEY=VALUE", field=arg, fix="e.g. Si-O=2.3,O-O=3")
        out[key.strip()] = value.strip()
    return out


def _window(text: str) -> list[float]:
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise InputError(
            f"'{text}' is not START:END", field="--fit-window-ps", fix="e.g. 1:5 (ps)"
        ) from None
    return [lo, hi]


def config_from_args(args: argparse.Namespace) -> AnalysisConfig:
    """The settings: the ``[analysis]`` table of ``--config`` (if any), then the arguments."""
    data = dict(load_toml(args.config).get("analysis", {})) if args.config else {}
    source = args.config or "mlmd analyze arguments"
    simple = {
        "frames": args.frames,
        "r_max_A": args.rmax,
        "dr_A": args.dr,
        "q_max_A": args.q_max,
        "direct_q_max_A": args.direct_q_max,
        "direct_frames": args.direct_frames,
        "direct_max_work": args.direct_max_work,
        "n_blocks": args.blocks,
        "rings_frames": args.rings_frames,
        "ring_bond": args.ring_bond,
        "voronoi_frames": args.voronoi_frames,
        "reference_sq": args.reference_sq,
        "reference_gr": args.reference_gr,
        "group": args.group,
        "format": args.format,
        "timestep_fs": args.timestep_fs,
        "device": args.device,
        "threads": args.threads,
        "tmp_dir": args.tmp_dir,
    }
    data.update({k: v for k, v in simple.items() if v is not None})
    data.update(_flags_and_lists(args))
    return from_mapping(AnalysisConfig, data, source=source)


def _flags_and_lists(args: argparse.Namespace) -> dict:
    """The settings of the switches and the comma-separated list options that were given."""
    data = {}
    if args.what:
        data["what"] = [w for item in args.what for w in item.split(",") if w]
    if args.lorch:
        data["lorch"] = True
    if args.no_plots:
        data["plots"] = False
    if args.cutoff:
        data["cutoffs_A"] = _cutoffs(args.cutoff)
    if args.angle_bonds:
        data["angle_bonds"] = [p for item in args.angle_bonds for p in item.split(",") if p]
    if args.voronoi_centres:
        data["voronoi_centres"] = [c for c in args.voronoi_centres.split(",") if c]
    if args.sq_weighting:
        data["sq_weightings"] = [w for w in args.sq_weighting.split(",") if w]
    if args.species_map:
        data["species_map"] = _pairs(args.species_map, "--species-map")
    if args.fit_window_ps:
        data["fit_window_ps"] = _window(args.fit_window_ps)
    return data


def _cutoffs(texts: list[str]) -> dict[str, float]:
    """``--cutoff Si-O=2.3,O-O=3`` (repeatable) → {"Si-O": 2.3, "O-O": 3.0} in Å."""
    cutoffs = {}
    for text in texts:
        for key, value in _pairs(text, "--cutoff").items():
            try:
                cutoffs[key] = float(value)
            except ValueError:
                raise InputError(
                    f"'{value}' is not a number", field="--cutoff", fix="e.g. --cutoff Si-O=2.3"
                ) from None
    return cutoffs


def window_from_args(args: argparse.Namespace) -> Window:
    """The analysis window of ``--time-ps A:B``, ``--steps A:B`` or ``--segment K``."""
    if args.time_ps is not None:
        return Window.parse(f"time_ps:{args.time_ps}")
    if args.steps is not None:
        return Window.parse(f"steps:{args.steps}")
    if args.segment is not None:
        return Window.parse(f"segment:{args.segment}")
    return Window()


def experiment_from_args(args: argparse.Namespace) -> dict | None:
    """The ``--experiment FILE`` table: TOML (an ``[experiment]`` table, or the table itself)
    or JSON, {name: {value, uncertainty, unit, source}}."""
    if not args.experiment:
        return None
    path = args.experiment
    if path.endswith(".json"):
        try:
            with open(path) as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read it ({exc})", file=path, field="--experiment") from None
    else:
        data = load_toml(path)
    table = data.get("experiment", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise InputError("is not a table of quantities", file=path, field="--experiment")
    return table


def run(args: argparse.Namespace) -> int:
    from mlmd.analysis.report import analyze

    config = config_from_args(args)
    summary = analyze(
        args.trajectory,
        args.output,
        config,
        window=window_from_args(args),
        experiment=experiment_from_args(args),
    )
    log.info(
        "wrote %s/summary.json and %d plots in %.1f s",
        args.output,
        len(summary["plots"]),
        summary["timings_s"]["total"],
    )
    for note in summary["notes"]:
        log.warning("%s", note)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="g(r), coordination, angles, S(Q), MSD/diffusion, VACF/VDOS, thermo of a trajectory",
        description="Analyse an H5MD trajectory (or extxyz / LAMMPS dump via ASE): writes "
        "OUT_DIR/summary.json, OUT_DIR/curves/*.dat and PNG plots.",
    )
    p.add_argument("trajectory", help="H5MD (.h5), extxyz or LAMMPS dump file")
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument(
        "--what",
        nargs="+",
        metavar="NAME",
        help=f"analyses to run: all (default) or some of {', '.join(ANALYSES)}",
    )
    p.add_argument("--config", help="TOML file with an [analysis] table of settings")
    _window_arguments(p)
    _structure_arguments(p)
    _dynamics_arguments(p)
    _input_arguments(p)
    p.add_argument("--no-plots", action="store_true", help="write no PNG files")
    p.set_defaults(func=run)


def _window_arguments(p: argparse.ArgumentParser) -> None:
    chosen = p.add_argument_group("analysis window (one of)").add_mutually_exclusive_group()
    chosen.add_argument(
        "--time-ps", metavar="A:B", help="analyse frames with A ≤ t ≤ B ps (a bound may be empty)"
    )
    chosen.add_argument("--steps", metavar="A:B", help="analyse frames with A ≤ MD step ≤ B")
    chosen.add_argument(
        "--segment",
        metavar="K",
        help="analyse schedule segment K of the MD run (from its stored config; −1 = last, "
        "e.g. the anneal of a melt–quench; a run without a schedule is one segment)",
    )
    p.add_argument(
        "--frames", help="frame selection START:STOP:STEP (Python slice) inside the window"
    )


def _structure_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rmax",
        type=float,
        help="g(r) range in Å (≤ half the smallest "
        "perpendicular cell width; default that, at most 10 Å)",
    )
    p.add_argument("--dr", type=float, help="g(r) bin width in Å (default 0.02)")
    p.add_argument(
        "--cutoff",
        action="append",
        metavar="A-B=R",
        help="coordination/bond cutoff in Å, e.g. Si-O=2.3; A and B species of the "
        "trajectory (default: first minimum of g_AB)",
    )
    p.add_argument(
        "--angle-bonds",
        action="append",
        metavar="A-B",
        help="pairs whose bonds make bond angles, e.g. Si-O (default: every pair with a cutoff)",
    )
    p.add_argument(
        "--ring-bond",
        metavar="A-B",
        help="ring statistics over this link: former-bridge (Si-O) or former-former (Si-Si); "
        "none by default (rings make sense for network formers only)",
    )
    p.add_argument(
        "--voronoi-frames", type=int, help="frames for Voronoi indices; 0 = skip (default 3)"
    )
    p.add_argument(
        "--voronoi-centres", metavar="A,B", help="centre species of Voronoi indices (default all)"
    )
    p.add_argument(
        "--sq-weighting",
        metavar="neutron,xray",
        help="weighted totals of S(Q) (default neutron,xray)",
    )
    p.add_argument("--lorch", action="store_true", help="also S(Q) from g(r) with a Lorch window")
    p.add_argument("--q-max", type=float, help="largest Q of S(Q) from g(r), Å⁻¹ (default 20)")
    p.add_argument(
        "--direct-q-max", type=float, help="largest |Q| of the direct S(Q), Å⁻¹ (default 10)"
    )
    p.add_argument(
        "--direct-frames",
        type=int,
        help="frames (evenly spaced) for the direct S(Q); 0 = skip (default 10)",
    )
    p.add_argument(
        "--direct-max-work",
        type=float,
        help="cap on atoms × vectors × frames of the direct S(Q) before it thins the "
        "reciprocal lattice (default 1e10 ≈ 5 s here; crystals need every vector)",
    )
    p.add_argument(
        "--rings-frames", type=int, help="frames for ring statistics; 0 = skip (default 3)"
    )
    p.add_argument("--device", help="torch device for the direct S(Q) (default cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads for the direct S(Q) (default 1)")


def _dynamics_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--blocks", type=int, help="blocks for diffusion error bars (default 5)")
    p.add_argument(
        "--fit-window-ps", help="MSD fit window START:END in ps (default 20%%–60%% of a block)"
    )
    p.add_argument("--tmp-dir", help="directory for the temporary unwrapped-position store")


def _input_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--experiment",
        metavar="FILE",
        help="experimental values to compare with (TOML [experiment] or JSON: "
        "{name: {value, uncertainty, unit, source}}; names in mlmd.analysis.quantities)",
    )
    p.add_argument("--reference-sq", metavar="FILE", help="experimental S(Q): columns Q/Å⁻¹ S")
    p.add_argument("--reference-gr", metavar="FILE", help="experimental g(r): columns r/Å g")
    p.add_argument(
        "--species-map",
        metavar="1=Si,2=O",
        help="elements of stored species/type values (generic H5MD, LAMMPS dumps)",
    )
    p.add_argument("--group", help="H5MD particle group (default: all, or the only one)")
    p.add_argument("--format", help="force a reader: h5md or an ASE format name")
    p.add_argument("--timestep-fs", type=float, help="MD timestep for dumps without times")
