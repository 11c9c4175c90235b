"""The structure sections of the report: g(r), coordination, bond angles, rings, Voronoi
indices (and, through :mod:`mlmd.analysis.report_sq`, S(Q)).

Nothing here knows a material: every species pair gets a partial g(r) and a cutoff (given,
else the first minimum of g_ab), every triplet type X–C–Y with bonds X–C and C–Y an angle
distribution, rings run on the link the caller names, Voronoi indices on the centres asked.
"""

from __future__ import annotations

import dataclasses

from mlmd.analysis import plots
from mlmd.analysis.angles import AngleAccumulator
from mlmd.analysis.context import Context, Section
from mlmd.analysis.coordination import CoordinationAccumulator
from mlmd.analysis.passes import BondWork, bond_pass, direct_frame_positions
from mlmd.analysis.rdf import Rdf, RdfAccumulator, first_minimum, first_peak
from mlmd.analysis.report_sq import direct_accumulator, sq_section
from mlmd.analysis.rings import RingAccumulator
from mlmd.analysis.voronoi import VoronoiAccumulator

R_MAX_RULE = (
    "r_max ≤ half the smallest perpendicular width of the cell (V/|a_j × a_k|) in every "
    "analysed frame, so no atom meets its own periodic image within r_max"
)
NORMALISATION = (
    "g_ab = V n_ab / (N_a (N_b − δ_ab) ΔV_shell) per frame (as LAMMPS compute rdf and "
    "MDAnalysis InterRDF), averaged over frames"
)


@dataclasses.dataclass(frozen=True)
class Cutoffs:
    """Bond cutoff (Å) of every ordered species pair that has one, and where it came from."""

    value: dict[tuple[str, str], float]
    source: dict[tuple[str, str], str]


def structure_sections(ctx: Context, rdf_acc: RdfAccumulator) -> list[Section]:
    """Every structure section, from the g(r) of pass 1 and one bond pass."""
    rdf = rdf_acc.result()
    sections = [rdf_section(ctx, rdf, rdf_acc)]
    cutoffs, notes = choose_cutoffs(ctx, rdf)
    work, more = bond_work(ctx, cutoffs)
    sections.append(Section(notes=notes + more))
    if not work.empty:
        seconds = bond_pass(ctx.reader, ctx.selection, work, ctx.n_frames)
        sections.append(Section(timings_s={"pass2": seconds}))
    if work.coordination is not None:
        sections.append(coordination_section(ctx, work.coordination, cutoffs))
    if work.angles is not None:
        sections.append(angles_section(ctx, work.angles))
    if work.rings is not None and work.rings.n_frames:
        sections.append(rings_section(ctx, work.rings))
    if work.voronoi is not None and work.voronoi.n_frames:
        sections.append(voronoi_section(ctx, work.voronoi))
    if ctx.wants("sq"):
        sections.append(sq_section(ctx, rdf, work.direct))
    return sections


def rdf_section(ctx: Context, rdf: Rdf, acc: RdfAccumulator) -> Section:
    """g(r) total and partials (``gr.dat``: r in Å), first peaks and minima per pair
    (``summary["rdf"]``), and ``gr.png`` when rdf was asked for."""
    peaks = {}
    for key, g in rdf.partials.items():
        p = first_peak(rdf.r, g)
        peaks[key] = {
            "first_peak_A": None if p is None else p["r_A"],
            "first_peak_height": None if p is None else p["height"],
            "first_minimum_A": first_minimum(rdf.r, g),
        }
    values = {
        "r_max_A": acc.r_max,
        "dr_A": acc.dr,
        "r_max_rule": R_MAX_RULE,
        "normalisation": NORMALISATION,
        "n_frames": rdf.n_frames,
        "number_density_A-3": rdf.density_A3,
        "partials": peaks,
    }
    curve = ctx.curve(
        "gr.dat",
        "r_A g_total " + " ".join(f"g_{k}" for k in rdf.partials),
        [rdf.r, rdf.total, *rdf.partials.values()],
    )
    section = Section(values={"rdf": values}, curves=[curve])
    if ctx.wants("rdf"):
        section.plots += ctx.plot(
            plots.plot_rdf,
            rdf.r,
            rdf.total,
            rdf.partials,
            ctx.out / "gr.png",
            reference=ctx.reference_gr,
            marks=ctx.marks.get("rdf"),
        )
    return section


def choose_cutoffs(ctx: Context, rdf: Rdf) -> tuple[Cutoffs, list[str]]:
    """Coordination cutoff of every ordered species pair: given, else g_ab's first minimum."""
    value, source, notes = {}, {}, []
    for a in rdf.labels:
        for b in rdf.labels:
            given = ctx.choices.cutoffs_A.get((a, b))
            if given is not None:
                value[(a, b)], source[(a, b)] = given, "given"
                continue
            rc = first_minimum(rdf.r, rdf.partial(a, b))
            if rc is None:
                if a <= b:
                    notes.append(f"no first minimum in g_{a}-{b} below r_max: no {a}-{b} cutoff")
                continue
            value[(a, b)], source[(a, b)] = rc, "first minimum of g(r)"
    return Cutoffs(value, source), notes


def _angle_bonds(ctx: Context, cutoffs: Cutoffs) -> dict[tuple[str, str], float]:
    pairs = ctx.choices.angle_pairs
    return {
        p: rc
        for p, rc in cutoffs.value.items()
        if pairs is None or tuple(sorted(p, key=ctx.species.labels.index)) in pairs
    }


def bond_work(ctx: Context, cutoffs: Cutoffs) -> tuple[BondWork, list[str]]:
    """The accumulators of pass 2 that the settings ask for (with notes on what is skipped)."""
    sp, config, notes = ctx.species, ctx.config, []
    work = BondWork()
    if ctx.wants("coordination"):
        work.coordination = CoordinationAccumulator(sp.labels, sp.kind, cutoffs.value)
    if ctx.wants("angles"):
        bonds = _angle_bonds(ctx, cutoffs)
        work.angles = AngleAccumulator(sp.labels, sp.kind, bonds, config.angle_bin_deg)
    if ctx.wants("sq") and config.direct_frames > 0:
        work.direct_frames = direct_frame_positions(ctx.n_frames, config.direct_frames)
        work.direct = direct_accumulator(ctx, len(work.direct_frames))
    work.rings, note = _rings(ctx, cutoffs)
    if note:
        notes.append(note)
    if work.rings is not None:
        work.ring_frames = direct_frame_positions(ctx.n_frames, config.rings_frames)
    if ctx.wants("voronoi") and config.voronoi_frames > 0:
        work.voronoi = VoronoiAccumulator(sp.labels, sp.kind, ctx.choices.voronoi_centres)
        work.voronoi_frames = direct_frame_positions(ctx.n_frames, config.voronoi_frames)
    return work, notes


def _rings(ctx: Context, cutoffs: Cutoffs) -> tuple[RingAccumulator | None, str]:
    """The ring accumulator, when the caller named the link and it is affordable."""
    config, ring = ctx.config, ctx.choices.ring
    explicit = "rings" in config.what
    if ring is None or not config.wants("rings") or config.rings_frames <= 0:
        return None, ""
    former, bridge = ring
    rc = cutoffs.value.get((former, bridge))
    if rc is None:
        return None, f"rings skipped: no {former}-{bridge} cutoff (give --cutoff)"
    n_formers = ctx.species.counts[former]
    if not explicit and RingAccumulator.work(n_formers) > config.rings_max_work:
        note = (
            f"rings skipped: {n_formers} {former} atoms exceed rings_max_work "
            "(name rings in --what to run them anyway)"
        )
        return None, note
    sp = ctx.species
    return RingAccumulator(
        sp.labels, sp.kind, former, bridge, rc, max_size=config.rings_max_size
    ), ""


def coordination_section(ctx: Context, coord: CoordinationAccumulator, cutoffs: Cutoffs) -> Section:
    """Coordination distributions per ordered pair at ``cutoffs`` (Å; where each came from)."""
    result = coord.result(cutoffs.source)
    section = Section(values={"coordination": result})
    if result:
        section.plots += ctx.plot(plots.plot_coordination, result, ctx.out / "coordination.png")
    return section


def angles_section(ctx: Context, angles: AngleAccumulator) -> Section:
    """Bond-angle statistics per triplet type X–C–Y (degrees) and ``angles.dat`` / ``.png``."""
    result = angles.result()
    values = {
        "angles": {
            k: {f: v for f, v in d.items() if f not in ("centres_deg", "density")}
            for k, d in result.items()
        },
        "angles_bonds": {f"{a}-{b}": rc for (a, b), rc in angles_bonds(angles)},
    }
    section = Section(values=values)
    if result:
        first = next(iter(result.values()))
        section.curves.append(
            ctx.curve(
                "angles.dat",
                "angle_deg " + " ".join(f"p_{k}_per_deg" for k in result),
                [first["centres_deg"], *(d["density"] for d in result.values())],
            )
        )
        marks = ctx.marks.get("angles")
        section.plots += ctx.plot(plots.plot_angles, result, ctx.out / "angles.png", marks)
    return section


def angles_bonds(angles: AngleAccumulator):
    """(species pair, cutoff) of the bonds an angle accumulator uses."""
    labels, table = angles.labels, angles.table
    for a in range(len(labels)):
        for b in range(a, len(labels)):
            if table[a, b] > 0:
                yield (labels[a], labels[b]), float(table[a, b])


def rings_section(ctx: Context, rings: RingAccumulator) -> Section:
    result = rings.result()
    section = Section(values={"rings": result})
    if result["fraction_by_size"]:
        section.plots += ctx.plot(plots.plot_rings, result, ctx.out / "rings.png")
    return section


def voronoi_section(ctx: Context, voronoi: VoronoiAccumulator) -> Section:
    result = voronoi.result()
    section = Section(values={"voronoi": result})
    if result["centres"]:
        section.plots += ctx.plot(plots.plot_voronoi, result, ctx.out / "voronoi.png")
    return section
