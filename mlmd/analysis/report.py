"""``analyze``: a trajectory in, ``summary.json`` + curve files + PNG plots out.

The summary names every choice it made (r_max and why, cutoffs and where they came from, the
MSD fit window, how positions were unwrapped, the direct S(Q) sublattice), so a number in it
can be reproduced. Curves go to ``curves/*.dat`` (text, with a header naming columns and
units); plots to ``*.png``. For silica (Si and O only) the summary compares the model with the
experimental values of :mod:`mlmd.analysis.experiment` and the plots mark them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np

from mlmd import __version__
from mlmd.analysis.config import AnalysisConfig
from mlmd.analysis.experiment import SILICA, compare_silica, is_silica
from mlmd.analysis.passes import structure_pass
from mlmd.analysis.rdf import RdfAccumulator, max_r_max, species_order
from mlmd.analysis.reader import open_trajectory, parse_frames, species_labels
from mlmd.analysis.report_dynamics import dynamics_report
from mlmd.analysis.report_structure import structure_report
from mlmd.analysis.window import Window
from mlmd.analysis.window import select as select_window
from mlmd.config import to_mapping
from mlmd.errors import InputError

log = logging.getLogger(__name__)

#: Default cap on r_max (Å): the cost grows as r_max³, and S(Q) from g(r) is usually taken
#: with R ≤ 10 Å (notes/sio2.md); pass r_max_A for more.
DEFAULT_R_MAX_CAP_A = 10.0


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


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w") as fh:
        json.dump(_clean(data), fh, indent=2, allow_nan=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def analyze(
    trajectory: str | Path,
    out_dir: str | Path,
    config: AnalysisConfig | None = None,
    *,
    window: Window | str | None = None,
) -> dict:
    """Analyse ``trajectory`` and write ``summary.json``, ``curves/`` and PNGs to ``out_dir``.

    Args:
        config: the settings (:class:`AnalysisConfig`; default settings when None).
        window: the frames to analyse (:class:`~mlmd.analysis.window.Window` or its string
            ``"time_ps:A:B"``, ``"steps:A:B"``, ``"segment:K"``; None = all frames);
            ``config.frames`` thins the frames inside it.

    Returns the summary (as written); its ``window`` entry names the frames every number
    comes from.
    """
    config = config or AnalysisConfig()
    t_start = time.perf_counter()
    out = Path(out_dir)
    (out / "curves").mkdir(parents=True, exist_ok=True)
    reader = open_trajectory(
        trajectory,
        format=config.format,
        group=config.group,
        species_map=_species_map(config),
        timestep_fs=config.timestep_fs,
    )
    try:
        return _analyze(reader, out, config, Window.parse(window), t_start)
    finally:
        reader.close()


def _analyze(reader, out: Path, config: AnalysisConfig, window: Window, t_start: float) -> dict:
    chosen = select_window(reader, window, parse_frames(config.frames))
    selection = chosen.selection
    order = species_order(reader.numbers)
    labels = species_labels(order)
    lookup = {int(z): k for k, z in enumerate(order)}
    kind = np.array([lookup[int(z)] for z in reader.numbers], dtype=np.int64)
    silica = is_silica(labels)
    reference = {
        "gr": None
        if config.reference_gr is None
        else load_curve(config.reference_gr, "--reference-gr"),
        "sq": None
        if config.reference_sq is None
        else load_curve(config.reference_sq, "--reference-sq"),
    }
    notes: list[str] = []
    summary: dict = {
        "format": "mlmd.analysis.summary",
        "version": 1,
        "mlmd_version": __version__,
        "trajectory": str(reader.path),
        "reader": reader.format,
        "config": to_mapping(config),
        "system": {
            "n_atoms": reader.n_atoms,
            "species": {label: int((kind == k).sum()) for k, label in enumerate(labels)},
        },
        "notes": notes,
        "plots": [],
        "curves": [],
        "timings_s": {},
    }
    want = config.wants
    want_vacf = want("vacf") and reader.has_velocities
    if want("vacf") and not reader.has_velocities:
        notes.append("vacf skipped: the trajectory has no velocities")
    rdf_acc = None
    if any(want(w) for w in ("rdf", "coordination", "angles", "sq", "rings")):
        rdf_acc = RdfAccumulator(reader.numbers, _r_max(reader, selection, config), config.dr_A)
    p1 = structure_pass(
        reader,
        selection,
        rdf=rdf_acc,
        keep_positions=want("msd"),
        keep_velocities=want_vacf,
        tmp_dir=config.tmp_dir,
    )
    summary["timings_s"]["pass1"] = p1.seconds
    summary["window"] = chosen.record(p1.steps, p1.times_fs)
    summary["frames"] = {
        "selection": config.frames,
        "n": len(p1.steps),
        "steps": [int(p1.steps[0]), int(p1.steps[-1])],
        "time_ps": [float(p1.times_fs[0] / 1e3), float(p1.times_fs[-1] / 1e3)],
        "time_known": reader.time_known,
    }
    dens = p1.densities_g_cm3
    summary["system"]["volume_A3"] = {"mean": np.mean(p1.volumes_A3), "std": np.std(p1.volumes_A3)}
    summary["system"]["density_g_cm3"] = {"mean": np.mean(dens), "std": np.std(dens)}
    model: dict = {"density_g_cm3": float(np.mean(dens))}
    try:
        if rdf_acc is not None:
            structure_report(
                reader,
                selection,
                config,
                rdf_acc,
                labels,
                kind,
                len(p1.steps),
                out,
                summary,
                model,
                silica,
                reference,
            )
        dynamics_report(reader, config, p1, labels, kind, want_vacf, out, summary, model, silica)
    finally:
        if p1.store is not None:
            p1.store.close()
    if silica:
        summary["silica"] = {"comparison": compare_silica(model), "experiment": SILICA}
    summary["timings_s"]["total"] = time.perf_counter() - t_start
    _write_json(out / "summary.json", summary)
    return json.loads((out / "summary.json").read_text())


def _r_max(reader, selection: slice, config: AnalysisConfig) -> float:
    """The g(r) range: as configured (checked), else the largest allowed, capped at 10 Å."""
    cells = reader.cells(selection)
    if cells is None:  # ASE formats: the first selected frame tells; later frames are checked
        cells = next(iter(reader.frames(selection))).cell
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
