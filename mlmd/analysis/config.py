"""The analysis settings: one frozen dataclass, parsed strictly (``mlmd.config.from_mapping``)
from a TOML ``[analysis]`` table or from the ``mlmd analyze`` arguments."""

from __future__ import annotations

import dataclasses
import math

#: Analyses ``--what`` may name; ``all`` means every one the trajectory has data for, except
#: ``quench`` (ρ(T), H(T) of the cooling segment, whatever the window), which runs when named.
ANALYSES = (
    "rdf",
    "coordination",
    "angles",
    "sq",
    "rings",
    "voronoi",
    "msd",
    "vacf",
    "thermo",
    "quench",
)


@dataclasses.dataclass(frozen=True)
class AnalysisConfig:
    """What to compute and how. Lengths in Å, wave vectors in Å⁻¹, times in ps.

    Attributes:
        what: analyses to run (``ANALYSES``) or ``("all",)``.
        frames: frame selection, Python slice syntax ``start:stop:step``.
        r_max_A: g(r) range; None = half the smallest perpendicular cell width, at most 10 Å.
        dr_A: g(r) bin width.
        cutoffs_A: coordination/bond cutoffs per species pair {"Si-O": 2.3}; pairs not given
            use the first minimum of their g(r). Keys are exactly "A-B" with species of the
            trajectory (checked when it is opened; anything else is an error, never ignored).
        angle_bonds: the pairs whose bonds make bond angles ("Si-O"); empty = every pair
            with a cutoff, so every triplet type X–C–Y appears.
        angle_bin_deg: bond-angle histogram bin width.
        q_max_A, dq_A: Q grid of S(Q) from g(r).
        lorch: also give S(Q) from g(r) with a Lorch window.
        sq_weightings: weighted totals of S(Q): "neutron", "xray" (see
            :mod:`mlmd.analysis.scattering`); kinds without an element get "number" only.
        scattering_lengths_fm: neutron lengths that replace the table's {"Si": 4.1491}.
        direct_q_max_A, direct_dq_A: largest |Q| and shell width of the direct S(Q).
        direct_frames: at most this many frames (evenly spaced) for the direct S(Q).
        direct_max_work: cap on atoms × vectors × frames of the direct S(Q).
        ring_bond: the network link of ring statistics, "former-bridge" ("Si-O": Si linked
            through a shared O) or "former-former" ("Si-Si": direct bonds); None = no rings
            (they make sense for network formers only: the caller says which).
        rings_frames, rings_max_size: rings on at most this many frames, up to this many
            formers.
        rings_max_work: skip rings (with a note) when links × formers per frame exceeds this
            under ``all`` (≈ 100k-atom cells); naming ``rings`` in ``what`` always runs them.
        voronoi_frames: frames (evenly spaced) for Voronoi indices; 0 = skip.
        voronoi_centres: species whose Voronoi indices are reported; empty = all.
        quench_bin_K: temperature bins of the quench curves; None = 1/40 of the range.
        n_blocks: blocks for the diffusion error bars.
        fit_window_ps: MSD fit window; None = 20 %–60 % of a block's duration.
        vdos_max_lag_ps: VACF lags used for the VDOS; None = half the run.
        reference_sq, reference_gr: two-column text files (Q/Å⁻¹ S, r/Å g) to overlay.
        species_map: stored species value → element, for type-indexed files {"1": "Si"}.
        group, format, timestep_fs: see :func:`mlmd.analysis.reader.open_trajectory`.
        device: torch device of the direct S(Q) sums.
        threads: torch CPU threads for those sums (None: torch's default). Default 1: on a
            shared machine two threads were 2–40× slower than one here (oversubscription);
            give more on a dedicated node.
        plots: write PNG plots.
        tmp_dir: where the temporary unwrapped-position store goes (None = system default).
    """

    what: tuple[str, ...] = ("all",)
    frames: str = ":"
    r_max_A: float | None = None
    dr_A: float = 0.02
    cutoffs_A: dict[str, float] = dataclasses.field(default_factory=dict)
    angle_bonds: tuple[str, ...] = ()
    angle_bin_deg: float = 1.0
    q_max_A: float = 20.0
    dq_A: float = 0.02
    lorch: bool = False
    sq_weightings: tuple[str, ...] = ("neutron", "xray")
    scattering_lengths_fm: dict[str, float] = dataclasses.field(default_factory=dict)
    direct_q_max_A: float = 10.0
    direct_dq_A: float = 0.05
    direct_frames: int = 10
    direct_max_work: float = 1.0e10
    ring_bond: str | None = None
    rings_frames: int = 3
    rings_max_size: int = 12
    rings_max_work: float = 1.0e9
    voronoi_frames: int = 3
    voronoi_centres: tuple[str, ...] = ()
    quench_bin_K: float | None = None
    n_blocks: int = 5
    fit_window_ps: tuple[float, float] | None = None
    vdos_max_lag_ps: float | None = None
    reference_sq: str | None = None
    reference_gr: str | None = None
    species_map: dict[str, str] = dataclasses.field(default_factory=dict)
    group: str | None = None
    format: str | None = None
    timestep_fs: float | None = None
    device: str = "cpu"
    threads: int | None = 1
    plots: bool = True
    tmp_dir: str | None = None

    def __post_init__(self):
        unknown = [w for w in self.what if w not in ANALYSES + ("all",)]
        if unknown:
            raise ValueError(f"unknown analysis {unknown[0]!r}; valid: all, {', '.join(ANALYSES)}")
        unknown = [w for w in self.sq_weightings if w not in ("neutron", "xray")]
        if unknown:
            raise ValueError(f"unknown sq_weightings {unknown[0]!r}; valid: neutron, xray")
        self._check_ranges()

    def _check_ranges(self) -> None:
        """Lengths, bins and counts in their ranges (ValueError naming the field)."""
        for name in ("dr_A", "angle_bin_deg", "q_max_A", "dq_A", "direct_q_max_A", "direct_dq_A"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.r_max_A is not None and self.r_max_A <= 0:
            raise ValueError("r_max_A must be positive")
        if self.quench_bin_K is not None and not self.quench_bin_K > 0:
            raise ValueError("quench_bin_K must be positive")
        if self.n_blocks < 1 or min(self.direct_frames, self.voronoi_frames) < 0:
            raise ValueError("n_blocks must be ≥ 1, direct_frames and voronoi_frames ≥ 0")
        for key, value in self.cutoffs_A.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"cutoffs_A {key} = {value} must be a positive length (Å)")
        if (
            self.fit_window_ps is not None
            and not 0 <= self.fit_window_ps[0] < self.fit_window_ps[1]
        ):
            raise ValueError("fit_window_ps must be (start, end) with 0 ≤ start < end")

    def wants(self, name: str) -> bool:
        if name == "quench":
            return name in self.what
        return "all" in self.what or name in self.what
