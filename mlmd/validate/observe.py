"""What one run measures over its comparison window, through :func:`mlmd.analysis.analyze`.

Every run of a state point is analysed with the same settings: the same r_max (half the
smallest box width of all its runs), bin widths, bond cutoffs (given, else the first minima
of the first reference run's g(r)), MSD fit window and blocks. The analysis writes its usual
``summary.json``, ``curves/*.dat`` and PNGs into the validation's own
``analysis/<state>/<role>`` (a run may serve several validations); :class:`Measurement`
keeps what the comparison needs: scalars with their block errors, and curves (g(r)
partials, bond-angle densities, MSD) on the analysis's grids.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from mlmd.analysis import AnalysisConfig, analyze
from mlmd.analysis.quantities import fsdp_entry
from mlmd.analysis.rdf import max_r_max
from mlmd.analysis.reader import open_trajectory
from mlmd.analysis.species import Species
from mlmd.analysis.window import select
from mlmd.errors import InputError
from mlmd.validate.config import AnalysisSpec
from mlmd.validate.stats import diffusion_window_ps

#: Conversion Å²/ps → 10⁻⁵ cm²/s (the unit diffusion is reported in).
A2_PS_TO_1E5_CM2_S = 10.0


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One run's observables over its window.

    Attributes:
        scalars: name → (value, standard error or NaN); names carry units:
            ``pressure_GPa``, ``epot_eV_atom``, ``density_g_cm3``, ``temperature_K``,
            ``D_<X>_1e-5cm2_s``, ``peak_<A-B>_A``, ``angle_<A-B-C>_deg``, ``fsdp_A-1``.
        curves: ``g <A-B>`` → (r Å, g), ``angle <A-B-C>`` → (θ deg, density 1/deg),
            ``msd <X>`` → (lag ps, MSD Å²).
        coordination: ``<centre>-<neighbour>`` → {count: fraction of centres}.
        n_frames: frames analysed; ``summary``: the analysis summary file.
    """

    scalars: dict[str, tuple[float, float]]
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    coordination: dict[str, dict[int, float]]
    n_frames: int
    summary: Path


def window_frame_count(trajectory: Path, window: tuple[float, float], what: str) -> int:
    """Frames of ``trajectory`` with time in ``window`` (ps); :class:`InputError` below 8."""
    with open_trajectory(trajectory) as reader:
        chosen = select(reader, f"time_ps:{window[0]!r}:{window[1]!r}", slice(None))
        n = len(range(len(reader.frame_times()[0]))[chosen.selection])
    if n < 8:
        raise InputError(
            f"{n} frames between {window[0]:g} and {window[1]:g} ps (need ≥ 8 for {what})",
            file=str(trajectory),
            field="md.output_every_fs",
            fix="write frames more often or lengthen the window",
        )
    return n


def common_r_max(trajectories: list[Path], dr_A: float) -> float:
    """Half the smallest perpendicular box width over every frame of every run (Å), floored
    to whole bins: g(r) 'up to half the box', on one grid for all runs."""
    limit = math.inf
    for path in trajectories:
        with open_trajectory(path) as reader:
            limit = min(limit, max_r_max(reader.cells()))
    return math.floor(limit / dr_A + 1e-9) * dr_A


def analysis_config(
    spec: AnalysisSpec,
    state: str,
    *,
    n_frames: int,
    frame_dt_ps: float,
    r_max_A: float,
    cutoffs_A: dict[str, float],
    species: list[str],
) -> AnalysisConfig:
    """The analysis settings of every run of one state point: the liquid adds the MSD (D),
    the glass the direct S(Q) (its FSDP). Bond angles come from bonds between unlike
    species (A–B–A and B–A–B: O–Si–O, Si–O–Si), or the one species' own bonds.

    Args:
        state: ``"liquid"`` or ``"glass"``.
        n_frames, frame_dt_ps: frames in the window and the time between them (ps).
        r_max_A: g(r) range, Å; cutoffs_A: bond cutoffs per pair ("Si-O"), Å.
        species: the trajectory's element symbols.
    """
    what = ["rdf", "coordination", "angles", "thermo"]
    window = None
    if state == "liquid":
        try:
            window = diffusion_window_ps(n_frames, frame_dt_ps, spec.diffusion_blocks)
        except ValueError as exc:
            raise InputError(
                f"the liquid's diffusion error: {exc}",
                field="analysis.diffusion_blocks",
                fix="sample longer (liquid.sampling_ps), write frames more often "
                "(md.output_every_fs) or use fewer blocks",
            ) from None
        what.append("msd")
    else:
        what.append("sq")
    return AnalysisConfig(
        what=tuple(what),
        r_max_A=r_max_A,
        dr_A=spec.dr_A,
        cutoffs_A=dict(cutoffs_A),
        angle_bonds=tuple(spec.angle_bonds) or angle_bonds(species),
        angle_bin_deg=spec.angle_bin_deg,
        sq_weightings=("neutron",),
        q_max_A=spec.fsdp_q_max_A,
        direct_q_max_A=spec.fsdp_q_max_A,
        n_blocks=spec.diffusion_blocks,
        fit_window_ps=window,
        plots=False,
    )


def angle_bonds(species: list[str]) -> tuple[str, ...]:
    """Unlike pairs of ``species`` ("Si-O"), or ("X-X",) for one species."""
    pairs = [f"{a}-{b}" for k, a in enumerate(species) for b in species[k + 1 :]]
    return tuple(pairs) or (f"{species[0]}-{species[0]}",)


def trajectory_species(trajectory: Path) -> list[str]:
    """Species labels of a trajectory, in the analysis' order (heaviest first)."""
    with open_trajectory(trajectory) as reader:
        return Species.of(reader.numbers).labels


def _columns(path: Path) -> dict[str, np.ndarray]:
    """A curve file of the analysis as {header name: column}."""
    with path.open() as fh:
        header = fh.readline().lstrip("#").split()
    data = np.loadtxt(path, comments="#", ndmin=2)
    return dict(zip(header, data.T, strict=True))


def measure(
    trajectory: Path, out_dir: Path, config: AnalysisConfig, window: tuple[float, float]
) -> Measurement:
    """Analyse the frames of ``trajectory`` in ``window`` (ps) into ``out_dir`` and collect
    its :class:`Measurement`."""
    s = analyze(trajectory, out_dir, config, window=f"time_ps:{window[0]!r}:{window[1]!r}")
    n_atoms = s["system"]["n_atoms"]
    series = s.get("thermo", {}).get("series", {})
    scalars: dict[str, tuple[float, float]] = {}
    for name, key, scale in (
        ("pressure", "pressure_GPa", 1.0),
        ("potential_energy", "epot_eV_atom", 1.0 / n_atoms),
        ("density", "density_g_cm3", 1.0),
        ("temperature", "temperature_K", 1.0),
    ):
        if name in series:
            err = series[name]["sem_blocks"]
            scalars[key] = (series[name]["mean"] * scale, _num(err) * scale)
    for label, d in s.get("msd", {}).get("species", {}).items():
        scalars[f"D_{label}_1e-5cm2_s"] = (
            d["D_A2_per_ps"] * A2_PS_TO_1E5_CM2_S,
            _num(d["D_err_A2_per_ps"]) * A2_PS_TO_1E5_CM2_S,
        )
    for pair, p in s.get("rdf", {}).get("partials", {}).items():
        if p.get("first_peak_A") is not None:
            scalars[f"peak_{pair}_A"] = (p["first_peak_A"], math.nan)
    for kind, a in s.get("angles", {}).items():
        scalars[f"angle_{kind}_deg"] = (a["mean_deg"], math.nan)
    fsdp = fsdp_entry(s)  # the direct S(Q) when computed, else from g(r)
    if fsdp:
        scalars["fsdp_A-1"] = (fsdp["fsdp_Q_A-1"], _num(fsdp.get("fsdp_Q_err_A-1")))
    coordination = {
        pair: {int(n): f for n, f in c["distribution"].items()}
        for pair, c in s.get("coordination", {}).items()
        if isinstance(c, dict)
    }
    curves = _curves(out_dir / "curves")
    return Measurement(scalars, curves, coordination, s["frames"]["n"], out_dir / "summary.json")


def _curves(directory: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    curves = {}
    for file, x_name, prefix, tag, suffix in (
        ("gr.dat", "r_A", "g_", "g", ""),
        ("angles.dat", "angle_deg", "p_", "angle", "_per_deg"),
        ("msd.dat", "lag_ps", "msd_", "msd", "_A2"),
    ):
        if not (directory / file).exists():
            continue
        cols = _columns(directory / file)
        x = cols.pop(x_name)
        for name, y in cols.items():
            if name.startswith(prefix) and name.endswith(suffix) and name != "g_total":
                curves[f"{tag} {name[len(prefix) :].removesuffix(suffix)}"] = (x, y)
    return curves


def bond_cutoffs(summary: Path) -> dict[str, float]:
    """The coordination cutoffs an analysis used ({"Si-O": 2.3, ...}), to reuse for others."""
    data = json.loads(summary.read_text())
    return {
        pair: c["cutoff_A"]
        for pair, c in data.get("coordination", {}).items()
        if isinstance(c, dict) and "cutoff_A" in c
    }


def _num(value) -> float:
    return math.nan if value is None else float(value)
