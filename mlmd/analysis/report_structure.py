"""The structure part of the report: g(r), coordination, bond angles and S(Q)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlmd.analysis import plots
from mlmd.analysis.angles import AngleAccumulator
from mlmd.analysis.config import AnalysisConfig
from mlmd.analysis.coordination import CoordinationAccumulator
from mlmd.analysis.experiment import SILICA
from mlmd.analysis.passes import bond_pass, direct_frame_positions
from mlmd.analysis.rdf import Rdf, RdfAccumulator, first_minimum, first_peak
from mlmd.analysis.rings import RingAccumulator
from mlmd.analysis.structure_factor import DirectSq, first_sharp_peak, sq_from_rdf
from mlmd.analysis.trajectory import TrajectoryReader

R_MAX_RULE = (
    "r_max ≤ half the smallest perpendicular width of the cell (V/|a_j × a_k|) in every "
    "analysed frame, so no atom meets its own periodic image within r_max"
)


def _cutoffs(
    rdf: Rdf, config: AnalysisConfig, notes: list[str]
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], str]]:
    """Coordination cutoff of every ordered species pair: given, else g_ab's first minimum."""
    cutoffs, sources = {}, {}
    for a in rdf.labels:
        for b in rdf.labels:
            given = config.cutoffs_A.get(f"{a}-{b}", config.cutoffs_A.get(f"{b}-{a}"))
            if given is not None:
                cutoffs[(a, b)], sources[(a, b)] = float(given), "given"
                continue
            rc = first_minimum(rdf.r, rdf.partial(a, b))
            if rc is None:
                notes.append(f"no first minimum in g_{a}-{b} below r_max: no {a}-{b} cutoff")
                continue
            cutoffs[(a, b)], sources[(a, b)] = rc, "first minimum of g(r)"
    return cutoffs, sources


def structure_report(
    reader: TrajectoryReader,
    selection: slice,
    config: AnalysisConfig,
    rdf_acc: RdfAccumulator,
    labels: list[str],
    kind: np.ndarray,
    n_frames: int,
    out: Path,
    summary: dict,
    model: dict,
    silica: bool,
    reference: dict[str, tuple[np.ndarray, np.ndarray] | None],
) -> None:
    """Fill ``summary`` (rdf, coordination, angles, structure_factor), ``model`` (values to
    compare with experiment), and write curves and plots."""
    notes, want = summary["notes"], config.wants
    rdf = rdf_acc.result()
    peaks = {}
    for key, g in rdf.partials.items():
        p = first_peak(rdf.r, g)
        peaks[key] = {
            "first_peak_A": None if p is None else p["r_A"],
            "first_peak_height": None if p is None else p["height"],
            "first_minimum_A": first_minimum(rdf.r, g),
        }
    summary["rdf"] = {
        "r_max_A": rdf_acc.r_max,
        "dr_A": rdf_acc.dr,
        "r_max_rule": R_MAX_RULE,
        "normalisation": "g_ab = V n_ab / (N_a N_b ΔV_shell), per frame, averaged over frames",
        "n_frames": rdf.n_frames,
        "number_density_A-3": rdf.density_A3,
        "partials": peaks,
    }
    if silica and peaks.get("Si-O", {}).get("first_peak_A") is not None:
        model["r_SiO_A"] = peaks["Si-O"]["first_peak_A"]
    summary["curves"].append(
        write_curve(
            out / "curves" / "gr.dat",
            "r_A g_total " + " ".join(f"g_{k}" for k in rdf.partials),
            [rdf.r, rdf.total, *rdf.partials.values()],
        )
    )
    if config.plots and want("rdf"):
        marks = [(SILICA["r_SiO_A"]["value"], "exp. Si–O 1.61 Å")] if silica else None
        summary["plots"].append(
            plots.plot_rdf(
                rdf.r, rdf.total, rdf.partials, out / "gr.png", reference["gr"], marks
            ).name
        )

    cutoffs, sources = _cutoffs(rdf, config, notes)
    coord = CoordinationAccumulator(labels, kind, cutoffs) if want("coordination") else None
    angles = None
    if want("angles"):
        unlike = len(labels) > 1
        bond_cutoffs = {p: rc for p, rc in cutoffs.items() if (p[0] != p[1]) == unlike}
        angles = AngleAccumulator(labels, kind, bond_cutoffs, config.angle_bin_deg)
    direct, positions = None, set()
    if want("sq") and config.direct_frames > 0:
        positions = direct_frame_positions(n_frames, config.direct_frames)
        direct = DirectSq(
            labels,
            kind,
            q_max_A=config.direct_q_max_A,
            dq_A=config.direct_dq_A,
            n_frames=len(positions),
            max_work=config.direct_max_work,
            device=config.device,
            threads=config.threads,
        )
    rings, ring_positions = _rings(config, labels, kind, cutoffs, silica, notes)
    if rings is not None:
        ring_positions = direct_frame_positions(n_frames, config.rings_frames)
    if coord is not None or angles is not None or direct is not None or rings is not None:
        summary["timings_s"]["pass2"] = bond_pass(
            reader,
            selection,
            coordination=coord,
            angles=angles,
            direct=direct,
            direct_positions=positions,
            rings=rings,
            ring_positions=ring_positions,
        )
    if rings is not None and rings.n_frames:
        summary["rings"] = rings.result()
        if config.plots and summary["rings"]["fraction_by_size"]:
            summary["plots"].append(plots.plot_rings(summary["rings"], out / "rings.png").name)

    if coord is not None:
        summary["coordination"] = coord.result(sources)
        if silica and "Si-O" in summary["coordination"]:
            model["sio4_fraction"] = summary["coordination"]["Si-O"]["distribution"].get("4", 0.0)
            summary["coordination"]["SiO4_fraction"] = model["sio4_fraction"]
        if config.plots and summary["coordination"]:
            summary["plots"].append(
                plots.plot_coordination(
                    {k: v for k, v in summary["coordination"].items() if isinstance(v, dict)},
                    out / "coordination.png",
                ).name
            )
    if angles is not None:
        result = angles.result()
        summary["angles"] = {
            k: {f: v for f, v in d.items() if f not in ("centres_deg", "density")}
            for k, d in result.items()
        }
        summary["angles_bonds"] = {f"{a}-{b}": rc for (a, b), rc in angles_bonds(angles)}
        if silica:
            for key, name in (("Si-O-Si", "angle_SiOSi_deg"), ("O-Si-O", "angle_OSiO_deg")):
                if key in result:
                    model[name] = result[key]["mean_deg"]
        if result:
            first = next(iter(result.values()))
            summary["curves"].append(
                write_curve(
                    out / "curves" / "angles.dat",
                    "angle_deg " + " ".join(f"p_{k}_per_deg" for k in result),
                    [first["centres_deg"], *(d["density"] for d in result.values())],
                )
            )
            if config.plots:
                marks = None
                if silica:
                    marks = [
                        (SILICA["angle_OSiO_deg"]["value"], "exp. O–Si–O 109.5°"),
                        (tuple(SILICA["angle_SiOSi_deg"]["range"]), "exp. Si–O–Si 144–147°"),
                    ]
                summary["plots"].append(plots.plot_angles(result, out / "angles.png", marks).name)
    if want("sq"):
        _structure_factor(rdf, direct, config, out, summary, model, silica, reference["sq"])


def _rings(config, labels, kind, cutoffs, silica, notes):
    """The ring accumulator, when asked for and affordable (see AnalysisConfig)."""
    explicit = "rings" in config.what
    if not config.wants("rings") or config.rings_frames <= 0 or not (silica or explicit):
        return None, set()
    if len(labels) != 2 or (labels[0], labels[1]) not in cutoffs:
        notes.append("rings skipped: they need a binary network with a bond cutoff")
        return None, set()
    n_formers = int((kind == 0).sum())
    if not explicit and RingAccumulator.work(n_formers) > config.rings_max_work:
        notes.append(
            f"rings skipped: {n_formers} {labels[0]} atoms exceed rings_max_work "
            "(name rings in --what to run them anyway)"
        )
        return None, set()
    rc = cutoffs[(labels[0], labels[1])]
    return RingAccumulator(labels, kind, labels[0], labels[1], rc, config.rings_max_size), set()


def angles_bonds(angles: AngleAccumulator):
    """(species pair, cutoff) of the bonds an angle accumulator uses."""
    labels, table = angles.labels, angles.table
    for a in range(len(labels)):
        for b in range(a, len(labels)):
            if table[a, b] > 0:
                yield (labels[a], labels[b]), float(table[a, b])


def write_curve(path: Path, header: str, columns: list[np.ndarray]) -> str:
    np.savetxt(path, np.column_stack(columns), header=header, fmt="%.8g")
    return f"curves/{path.name}"


def _structure_factor(rdf, direct, config, out, summary, model, silica, reference) -> None:
    q = np.arange(config.dq_A, config.q_max_A + config.dq_A / 2, config.dq_A)
    routes = {"from g(r)": sq_from_rdf(rdf, q)}
    if config.lorch:
        routes["from g(r), Lorch window"] = sq_from_rdf(rdf, q, lorch=True)
    if direct is not None and direct.n_frames:
        routes["direct (reciprocal vectors)"] = direct.result()
    section: dict = {}
    for name, sq in routes.items():
        peak = first_sharp_peak(sq.q, sq.total)
        section[name] = {
            **sq.info,
            "fsdp_Q_A-1": None if peak is None else peak["q_A-1"],
            "fsdp_height": None if peak is None else peak["height"],
        }
        section["weighting"], section["weights"] = sq.weighting, sq.weights
        columns = [sq.q, sq.total] + ([sq.n_vectors] if sq.n_vectors is not None else [])
        header = "Q_A-1 S" + (" n_vectors_per_frame" if sq.n_vectors is not None else "")
        tag = name.split(" ")[0] + ("_lorch" if "Lorch" in name else "")
        summary["curves"].append(write_curve(out / "curves" / f"sq_{tag}.dat", header, columns))
    summary["structure_factor"] = section
    best = section.get("direct (reciprocal vectors)", section["from g(r)"])
    if silica and best.get("fsdp_Q_A-1") is not None:
        model["fsdp_Q_A-1"] = best["fsdp_Q_A-1"]
    if config.plots:
        marks = [(SILICA["fsdp_Q_A-1"]["value"], "exp. FSDP ≈ 1.5 Å⁻¹")] if silica else None
        curves = {name: (sq.q, sq.total) for name, sq in routes.items()}
        summary["plots"].append(
            plots.plot_sq(
                curves, out / "sq.png", routes["from g(r)"].weighting, reference, marks
            ).name
        )
