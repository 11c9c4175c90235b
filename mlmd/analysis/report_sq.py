"""The S(Q) section of the report: partial S_ab(Q) by both routes (from g(r), with and without
the Lorch window; direct over reciprocal vectors) and their neutron and X-ray weighted totals
with the first sharp diffraction peak of each (:mod:`mlmd.analysis.structure_factor`,
:mod:`mlmd.analysis.scattering`)."""

from __future__ import annotations

import numpy as np

from mlmd.analysis import plots
from mlmd.analysis.context import Context, Section
from mlmd.analysis.rdf import Rdf
from mlmd.analysis.scattering import SOURCES
from mlmd.analysis.structure_factor import DirectSq, StructureFactor, first_sharp_peak, sq_from_rdf


def direct_accumulator(ctx: Context, n_frames: int) -> DirectSq:
    config, sp = ctx.config, ctx.species
    return DirectSq(
        sp.labels,
        sp.kind,
        q_max_A=config.direct_q_max_A,
        dq_A=config.direct_dq_A,
        n_frames=n_frames,
        max_work=config.direct_max_work,
        device=config.device,
        threads=config.threads,
    )


def _routes(ctx: Context, rdf: Rdf, direct: DirectSq | None) -> dict[str, StructureFactor]:
    config = ctx.config
    q = np.arange(config.dq_A, config.q_max_A + config.dq_A / 2, config.dq_A)
    routes = {"from g(r)": sq_from_rdf(rdf, q)}
    if config.lorch:
        routes["from g(r), Lorch window"] = sq_from_rdf(rdf, q, lorch=True)
    if direct is not None and direct.n_frames:
        routes["direct"] = direct.result()
    return routes


def _tag(route: str) -> str:
    return {"from g(r)": "gr", "from g(r), Lorch window": "gr_lorch", "direct": "direct"}[route]


def sq_section(ctx: Context, rdf: Rdf, direct: DirectSq | None) -> Section:
    """Every route × weighting, its FSDP, a curve file per route and one plot per weighting."""
    weightings = ctx.choices.weightings
    lengths = ctx.config.scattering_lengths_fm or None
    routes, section = _routes(ctx, rdf, direct), Section()
    summary: dict = {"weightings": {}, "routes": {}}
    totals: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {w: {} for w in weightings}
    for name, sq in routes.items():
        entry = {"info": sq.info}
        columns, header = [sq.q], ["Q_A-1"]
        for w in weightings:
            total, info = sq.total(w, lengths)
            summary["weightings"][w] = {"source": SOURCES[w], **info}
            peak = first_sharp_peak(sq.q, total, weights=sq.n_vectors)
            entry[w] = {
                "fsdp_Q_A-1": None if peak is None else peak["q_A-1"],
                "fsdp_height": None if peak is None else peak["height"],
            }
            if peak is not None and "q_err_A-1" in peak:
                entry[w]["fsdp_Q_err_A-1"] = peak["q_err_A-1"]
            totals[w][name] = (sq.q, total)
            columns.append(total)
            header.append(f"S_{w}")
        columns += list(sq.partials.values())
        header += [f"S_{k}" for k in sq.partials]
        if sq.n_vectors is not None:
            columns.append(sq.n_vectors)
            header.append("n_vectors_per_frame")
        section.curves.append(ctx.curve(f"sq_{_tag(name)}.dat", " ".join(header), columns))
        summary["routes"][name] = entry
    section.values["structure_factor"] = summary
    for w, curves in totals.items():
        path = ctx.out / ("sq.png" if w == weightings[0] else f"sq_{w}.png")
        marks = ctx.marks.get("sq") if w == "neutron" else None
        section.plots += ctx.plot(
            plots.plot_sq, curves, path, w, reference=ctx.reference_sq, marks=marks
        )
    return section
