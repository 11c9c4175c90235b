"""``analyze``: a trajectory in, ``summary.json`` + curve files + PNG plots out.

The summary names every choice it made (the window and its frames, r_max and why, cutoffs
and where they came from, the MSD fit window, how positions were unwrapped, the direct S(Q)
sublattice, the scattering tables), so a number in it can be reproduced. Curves go to
``curves/*.dat`` (text, with a header naming columns and units); plots to ``*.png``, each
titled with its window. Nothing here knows a material: an experiment table, when the caller
gives one, is compared quantity by quantity (:mod:`mlmd.analysis.quantities`) and marked on
the plots.

The run: open the trajectory, check every species name in the settings against it, select
the window's frames, pass 1 (g(r), positions, volumes), then the sections (structure with
one bond pass, dynamics, thermo), each returning its values from one context object
(:mod:`mlmd.analysis.context`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mlmd import __version__
from mlmd.analysis import quantities
from mlmd.analysis.config import AnalysisConfig
from mlmd.analysis.context import Choices, Context, Section, merge
from mlmd.analysis.passes import Pass1, structure_pass
from mlmd.analysis.quench import quench_section
from mlmd.analysis.rdf import RdfAccumulator, max_r_max
from mlmd.analysis.reader import open_trajectory, parse_frames
from mlmd.analysis.report_dynamics import dynamics_sections
from mlmd.analysis.report_structure import structure_sections
from mlmd.analysis.species import Species
from mlmd.analysis.trajectory import TrajectoryReader
from mlmd.analysis.window import Window, WindowSelection
from mlmd.analysis.window import select as select_window
from mlmd.atomic import write_text
from mlmd.config import to_mapping
from mlmd.errors import InputError, MlmdError

#: Default cap on r_max (Å): the cost grows as r_max³, and S(Q) from g(r) is usually taken
#: with R ≤ 10 Å (notes/sio2.md); pass r_max_A for more.
DEFAULT_R_MAX_CAP_A = 10.0
#: Analyses that need g(r) from pass 1.
_NEEDS_RDF = ("rdf", "coordination", "angles", "sq", "rings", "voronoi")


def load_curve(path: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """A two-column text file (``#`` comments) → (x, y)."""
    try:
        data = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read it ({exc})",
            file=path,
            field=what,
            fix="give a text file with two columns (x, y) and '#' comments",
        ) from None
    if data.shape[1] < 2 or len(data) < 2:
        raise InputError(
            "needs two columns and two rows",
            file=path,
            field=what,
            fix="columns: r/Å and g(r), or Q/Å⁻¹ and S(Q)",
        )
    return data[:, 0], data[:, 1]


def _species_map(config: AnalysisConfig) -> dict[int, str]:
    out = {}
    for key, value in config.species_map.items():
        try:
            out[int(key)] = value
        except ValueError:
            raise InputError(
                f"species value {key!r} is not an integer",
                field="species_map",
                fix="write it as 1=Si,2=O",
            ) from None
    return out


def _clean(obj):
    """JSON-safe: numpy → Python, NaN/inf → None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def check_experiment(experiment: Mapping | None) -> dict[str, dict]:
    """The caller's experiment table {name: {"value", "uncertainty", "unit", "source"}}."""
    out = {}
    for name, row in (experiment or {}).items():
        value = row.get("value") if isinstance(row, Mapping) else None
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(
                "needs a finite value",
                field=f"experiment.{name}",
                fix='give {"value": x, "uncertainty": u, "unit": "...", "source": "..."}',
            )
        out[str(name)] = dict(row)
    return out


def analyze(
    trajectory: str | Path,
    out_dir: str | Path,
    config: AnalysisConfig | None = None,
    *,
    window: Window | str | None = None,
    experiment: Mapping[str, Mapping] | None = None,
) -> dict:
    """Analyse ``trajectory`` and write ``summary.json``, ``curves/`` and PNGs to ``out_dir``.

    Args:
        config: the settings (:class:`AnalysisConfig`; default settings when None).
        window: the frames to analyse (:class:`~mlmd.analysis.window.Window` or its string
            ``"time_ps:A:B"``, ``"steps:A:B"``, ``"segment:K"``; None = all frames);
            ``config.frames`` thins the frames inside it.
        experiment: values to compare with, {name: {"value", "uncertainty", "unit",
            "source"}} (names in :mod:`mlmd.analysis.quantities`); a plain table from the
            caller, e.g. a material file's ``[experiment]``.

    Returns the summary (as written); its ``window`` entry names the frames every number
    comes from, ``comparison`` holds the rows compared with ``experiment``.
    """
    config = config or AnalysisConfig()
    experiment = check_experiment(experiment)
    t_start = time.perf_counter()
    reader = open_trajectory(
        trajectory,
        format=config.format,
        group=config.group,
        species_map=_species_map(config),
        timestep_fs=config.timestep_fs,
    )
    made = _first_missing(Path(out_dir))
    try:
        species = Species.of(reader.numbers)
        run = Run(
            reader=reader,
            out=Path(out_dir),
            config=config,
            species=species,
            choices=Choices.check(config, species),
            chosen=select_window(reader, window, parse_frames(config.frames)),
            experiment=experiment,
        )
        (run.out / "curves").mkdir(parents=True, exist_ok=True)
        summary = _analyze(run)
        out = run.out
    except MlmdError:  # refused: leave no trace (nothing the user has is touched)
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise
    finally:
        reader.close()
    summary["timings_s"]["total"] = time.perf_counter() - t_start
    write_text(out / "summary.json", json.dumps(_clean(summary), indent=2, allow_nan=False))
    return json.loads((out / "summary.json").read_text())


def _first_missing(path: Path) -> Path | None:
    """The outermost directory of ``path`` (itself or a parent) that does not exist yet."""
    missing = None
    for p in (path, *path.parents):
        if p.exists():
            break
        missing = p
    return missing


@dataclasses.dataclass(frozen=True)
class Run:
    """What one ``analyze`` call works on, checked before any frame is read."""

    reader: TrajectoryReader
    out: Path
    config: AnalysisConfig
    species: Species
    choices: Choices
    chosen: WindowSelection
    experiment: dict


def _analyze(run: Run) -> dict:
    """Pass 1, the sections, the comparison: the summary (not yet written)."""
    reader, config, chosen = run.reader, run.config, run.chosen
    want_vacf = config.wants("vacf") and reader.has_velocities
    rdf_acc = None
    if any(config.wants(w) for w in _NEEDS_RDF):
        rdf_acc = RdfAccumulator(
            reader.numbers, _r_max(reader, chosen.selection, config), config.dr_A
        )
    p1 = structure_pass(
        reader,
        chosen.selection,
        rdf=rdf_acc,
        keep_positions=config.wants("msd"),
        keep_velocities=want_vacf,
        tmp_dir=config.tmp_dir,
    )
    try:
        window = chosen.record(p1.steps, p1.times_fs)
        window["label"] = chosen.label(window)
        ctx = _context(run, p1, window)
        sections = [_pass1_section(run, p1, window), Section(notes=list(run.choices.notes))]
        if rdf_acc is not None:
            sections += structure_sections(ctx, rdf_acc)
        sections += dynamics_sections(ctx, p1, want_vacf)
        if config.wants("quench"):
            sections.append(quench_section(ctx, chosen.segment))
    finally:
        if p1.store is not None:
            p1.store.close()
    summary = _summary(run, merge(sections))
    if run.experiment:
        summary["comparison"], summary["not_compared"] = quantities.compare(summary, run.experiment)
    return summary


def _context(run: Run, p1: Pass1, window: dict) -> Context:
    config = run.config
    gr = None if config.reference_gr is None else load_curve(config.reference_gr, "--reference-gr")
    sq = None if config.reference_sq is None else load_curve(config.reference_sq, "--reference-sq")
    return Context(
        reader=run.reader,
        selection=run.chosen.selection,
        n_frames=len(p1.steps),
        config=config,
        species=run.species,
        choices=run.choices,
        out=run.out,
        reference_gr=gr,
        reference_sq=sq,
        marks=quantities.marks(run.experiment, run.species.labels),
        label=f"{Path(run.reader.path).name} — {window['label']}",
    )


def _pass1_section(run: Run, p1: Pass1, window: dict) -> Section:
    """The window, the frames, volume and density of pass 1."""
    reader, config, notes = run.reader, run.config, []
    if config.wants("vacf") and not reader.has_velocities:
        notes.append("vacf skipped: the trajectory has no velocities")
    dens = p1.densities_g_cm3
    values = {
        "window": window,
        "frames": {
            "selection": config.frames,
            "n": len(p1.steps),
            "steps": [int(p1.steps[0]), int(p1.steps[-1])],
            "time_ps": [float(p1.times_fs[0] / 1e3), float(p1.times_fs[-1] / 1e3)],
            "time_known": reader.time_known,
        },
        "volume_A3": {"mean": np.mean(p1.volumes_A3), "std": np.std(p1.volumes_A3)},
        "density_g_cm3": {"mean": np.mean(dens), "std": np.std(dens)},
    }
    return Section(values=values, notes=notes, timings_s={"pass1": p1.seconds})


def _summary(run: Run, body: Section) -> dict:
    values = dict(body.values)
    system = {
        "n_atoms": run.reader.n_atoms,
        "species": dict(run.species.counts),
        "volume_A3": values.pop("volume_A3"),
        "density_g_cm3": values.pop("density_g_cm3"),
    }
    return {
        "format": "mlmd.analysis.summary",
        "version": 2,
        "mlmd_version": __version__,
        "trajectory": str(run.reader.path),
        "reader": run.reader.format,
        "config": to_mapping(run.config),
        "system": system,
        **values,
        "notes": body.notes,
        "plots": body.plots,
        "curves": body.curves,
        "timings_s": dict(body.timings_s),
    }


def _r_max(reader, selection: slice, config: AnalysisConfig) -> float:
    """The g(r) range: as configured (checked), else the largest allowed, capped at 10 Å."""
    cells = reader.cells(selection)
    if cells is None:  # ASE formats: the first selected frame tells; later frames are checked
        first = next(iter(reader.frames(selection)), None)
        cells = np.zeros((0, 3, 3)) if first is None else first.cell
    if len(np.asarray(cells).reshape(-1, 9)) == 0:
        raise InputError(
            "the frame selection is empty",
            file=str(reader.path),
            field="--frames",
            fix="select at least one frame",
        )
    limit = max_r_max(cells)
    if config.r_max_A is None:
        return min(limit, DEFAULT_R_MAX_CAP_A)
    if config.r_max_A > limit:
        raise InputError(
            f"r_max = {config.r_max_A} Å exceeds half the smallest perpendicular cell width "
            f"({limit:.3f} Å)",
            field="--rmax",
            fix=f"use --rmax {math.floor(limit * 100) / 100} or less",
        )
    return config.r_max_A
