"""Material-specific rows of the validation's glass comparison (issue 13).

:mod:`mlmd.validate` compares the model's glass with the reference's (same schedule, same
start cell) on density, mean bond angles, FSDP, the fraction of the commonest coordination
of unlike pairs and the g(r) partials. A campaign adds what a material's glass is known by:

- the **mean coordination** of every bonded pair of the first reference run's analysis,
  like pairs included (a-Si: Si–Si, ≈ 4), read from the analyses validate already ran;
- the **fraction of full icosahedra** ⟨0,0,12,0⟩ around each species of
  ``icosahedra_centres`` (Cu–Zr: Cu), from a Voronoi pass
  (:mod:`mlmd.analysis.voronoi`, no small-face threshold) over the anneal window of each
  glass run (every run the same frames).

Each row is :func:`mlmd.validate.verdict.compare_values` (absolute tolerance, or the
reference runs' own noise when that is larger: the row then says "noise-limited"), and the
rows join the validation's verdict, so the report's PASS/FAIL covers them.
"""

from __future__ import annotations

import json
from pathlib import Path


def _runs(glass: dict) -> tuple[dict | None, list[dict]]:
    """The model's and the reference runs' analysis summaries of the glass (model None when
    its run did not finish)."""
    loaded = {
        role: json.loads(Path(r["analysis"]).read_text()) for role, r in glass["runs"].items()
    }
    refs = [s for role, s in sorted(loaded.items()) if role != "model"]
    return loaded.get("model"), refs


def _coordination(summary: dict | None, pair: str) -> tuple[float, float] | None:
    c = (summary or {}).get("coordination", {}).get(pair)
    return (c["mean"], float("nan")) if isinstance(c, dict) else None


def icosahedral_fractions(
    glass: dict, centres: list[str], out_dir: Path, frames: int
) -> dict[str, dict[str, float]]:
    """{role: {centre: fraction of ⟨0,0,12,0⟩}} over each glass run's anneal window."""
    from mlmd.analysis import analyze
    from mlmd.analysis.config import AnalysisConfig

    start, end = glass["window_ps"]
    cfg = AnalysisConfig(
        what=("voronoi",), voronoi_frames=frames, voronoi_centres=tuple(centres), plots=False
    )
    out: dict[str, dict[str, float]] = {}
    for role, run in glass["runs"].items():
        s = analyze(run["trajectory"], out_dir / role, cfg, window=f"time_ps:{start}:{end}")
        out[role] = {c: s["voronoi"]["centres"][c]["icosahedral_fraction"] for c in centres}
    return out


def structure_rows(
    summary: dict, *, icosahedra_centres: list[str], tolerances: dict, out_dir: Path
) -> list[dict]:
    """The extra glass rows of a validation ``summary`` (none without a glass comparison).

    Args:
        tolerances: ``coordination_mean`` (absolute, neighbours), ``icosahedral_fraction``
            (absolute), ``noise_allowance`` (as the validation's), ``voronoi_frames``.
    """
    from mlmd.validate.verdict import compare_values

    glass = summary.get("glass")
    if not glass or not glass.get("runs"):
        return []
    model, refs = _runs(glass)
    allowance = tolerances["noise_allowance"]
    rows = []
    for pair in sorted(refs[0].get("coordination", {})):
        values = [_coordination(r, pair) for r in refs]
        if any(v is None for v in values):
            continue
        title = f"mean {pair} coordination"
        t = tolerances["coordination_mean"]
        rows.append(
            compare_values(
                "glass",
                title,
                "",
                _coordination(model, pair),
                values,
                relative=False,
                tolerance=t,
                allowance=allowance,
            )
        )
    if icosahedra_centres:
        frames = int(tolerances["voronoi_frames"])
        fractions = icosahedral_fractions(glass, icosahedra_centres, Path(out_dir), frames)
        for centre in icosahedra_centres:
            values = [
                (fractions[role][centre], float("nan"))
                for role in sorted(fractions)
                if role != "model"
            ]
            mine = (fractions["model"][centre], float("nan")) if "model" in fractions else None
            title = f"{centre}-centred <0,0,12,0> fraction"
            t = tolerances["icosahedral_fraction"]
            rows.append(
                compare_values(
                    "glass",
                    title,
                    "",
                    mine,
                    values,
                    relative=False,
                    tolerance=t,
                    allowance=allowance,
                )
            )
    return [r.to_dict() for r in rows]


def with_rows(summary: dict, rows: list[dict]) -> dict:
    """``summary`` whose verdict also holds ``rows`` (pass only when every row passes)."""
    if not rows:
        return summary
    v = summary["verdict"]
    merged = [*v["rows"], *rows]
    failed = [*v["failed"], *(f"{r['part']}: {r['quantity']}" for r in rows if not r["pass"])]
    verdict = {"pass": bool(merged) and all(r["pass"] for r in merged), "rows": merged}
    return {**summary, "verdict": {**verdict, "failed": failed, "material_rows": len(rows)}}
