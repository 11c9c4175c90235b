"""What every section of an analysis report reads (:class:`Context`) and returns
(:class:`Section`).

A section is a function ``section(ctx, ...) -> Section``: it reads the frozen context (the
reader, the frames, the settings, the species, the output directory, the experiment marks,
the window label), writes its curve files and plots, and returns its summary entries, the
files it wrote and its notes. No section changes another's values; :func:`merge` puts the
sections of a run together into the summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlmd.analysis.config import AnalysisConfig
from mlmd.analysis.scattering import is_element
from mlmd.analysis.species import Species, pair_values, parse_pair
from mlmd.analysis.trajectory import TrajectoryReader
from mlmd.errors import InputError

Curve = tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass(frozen=True)
class Choices:
    """The settings that name species, checked against the trajectory's species before any
    frame is read: ``cutoffs_A`` {(A, B): Å} given (both orders), ``angle_pairs`` (unordered
    pairs whose bonds make angles; None = every pair with a cutoff), ``ring`` (former,
    bridge) or None, ``voronoi_centres``, S(Q) ``weightings`` and ``notes`` on what was
    dropped."""

    cutoffs_A: dict[tuple[str, str], float]
    angle_pairs: frozenset[tuple[str, str]] | None
    ring: tuple[str, str] | None
    voronoi_centres: tuple[str, ...]
    weightings: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @classmethod
    def check(cls, config: AnalysisConfig, species: Species) -> Choices:
        """The choices of ``config`` read against the trajectory's ``species``: cutoff pairs,
        angle bonds, the ring link and Voronoi centres must name its species (InputError,
        exit 2, otherwise); S(Q) falls back to number weighting for anonymous kinds."""
        labels = species.labels
        cutoffs = pair_values(config.cutoffs_A, labels, "cutoffs_A (--cutoff)")
        angle_pairs = None
        if config.angle_bonds:
            parsed = [
                parse_pair(k, labels, "angle_bonds (--angle-bonds)") for k in config.angle_bonds
            ]
            angle_pairs = frozenset(tuple(sorted(p, key=labels.index)) for p in parsed)
        ring = None
        if config.ring_bond is not None:
            ring = parse_pair(config.ring_bond, labels, "ring_bond (--ring-bond)")
        elif "rings" in config.what:
            raise InputError(
                "rings need the network link",
                field="ring_bond (--ring-bond)",
                fix=f"name the bond, e.g. --ring-bond {labels[0]}-{labels[-1]} (former-bridge) "
                f"or {labels[0]}-{labels[0]} (direct bonds)",
            )
        for centre in config.voronoi_centres:
            if centre not in labels:
                raise InputError(
                    f"'{centre}' is not a species of the trajectory",
                    field="voronoi_centres",
                    fix=f"use its species: {', '.join(labels)}",
                )
        weightings, notes = tuple(config.sq_weightings), []
        if not all(is_element(label) for label in labels):
            weightings = ("number",)
            notes.append("S(Q): anonymous species kinds have no element: number weighting only")
        return cls(
            cutoffs, angle_pairs, ring, tuple(config.voronoi_centres), weightings, tuple(notes)
        )


@dataclasses.dataclass(frozen=True)
class Context:
    """One analysis run: ``reader`` and ``selection`` (the frames of the window), ``n_frames``
    analysed, ``config``, ``species``, the checked ``choices``, ``out`` directory, reference
    curves (``reference_gr``, ``reference_sq``: (x, y) or None), experimental ``marks`` per
    plot and the window ``label`` written on every plot."""

    reader: TrajectoryReader
    selection: slice
    n_frames: int
    config: AnalysisConfig
    species: Species
    choices: Choices
    out: Path
    reference_gr: Curve | None = None
    reference_sq: Curve | None = None
    marks: dict[str, list] = dataclasses.field(default_factory=dict)
    label: str = ""

    def wants(self, name: str) -> bool:
        return self.config.wants(name)

    def curve(self, name: str, header: str, columns: list[np.ndarray]) -> str:
        """Write ``curves/<name>`` (text columns under a header naming them and their units);
        returns its path relative to ``out``."""
        path = self.out / "curves" / name
        np.savetxt(path, np.column_stack(columns), header=header, fmt="%.8g")
        return f"curves/{name}"

    def plot(
        self, draw: Callable[..., Path], *args, title: str | None = None, **kwargs
    ) -> list[str]:
        """``draw(*args, title=..., **kwargs)`` when plots are on (title: the window label
        unless given); [its file name] or []."""
        if not self.config.plots:
            return []
        return [draw(*args, title=self.label if title is None else title, **kwargs).name]


@dataclasses.dataclass
class Section:
    """A section's result: summary ``values`` (top-level key → entry), ``curves`` and
    ``plots`` written, ``notes`` for the user, ``timings_s``."""

    values: dict = dataclasses.field(default_factory=dict)
    curves: list[str] = dataclasses.field(default_factory=list)
    plots: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    timings_s: dict[str, float] = dataclasses.field(default_factory=dict)


def merge(sections: list[Section]) -> Section:
    """One section holding all of ``sections`` (a key given twice is a bug: it raises)."""
    out = Section()
    for s in sections:
        clash = set(out.values) & set(s.values)
        if clash:
            raise RuntimeError(f"two analysis sections wrote {sorted(clash)}")
        out.values.update(s.values)
        out.curves += s.curves
        out.plots += s.plots
        out.notes += s.notes
        out.timings_s.update(s.timings_s)
    return out
