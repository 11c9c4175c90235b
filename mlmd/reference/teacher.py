"""The teacher as a reference: label frames with an analytic mlmd potential, in process.

By default the Vashishta SiO2 potential of Nakano, Kalia & Vashishta (1994), loaded through
``mlmd.potential.load_potential("teacher")``. Frames are batched into graphs of up to
``batch_atoms`` atoms; energy (eV), forces (eV/Å) and the ASE-sign stress (eV/Å³, periodic
cells only) come from :func:`mlmd.potential.evaluate`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlmd.config import from_mapping, load_toml
from mlmd.data import Frame
from mlmd.errors import ConfigError, InputError
from mlmd.potential import evaluate, graph_from_frames
from mlmd.reference.protocol import ReferenceSetupError, Result
from mlmd.reference.registry import register


@dataclass(frozen=True)
class TeacherSettings:
    """Teacher config.

    Attributes:
        potential: a spec for ``load_potential`` (default ``"teacher"``: Vashishta NKV 1994).
        device: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:1``, ...
        batch_atoms: atoms per evaluation batch (memory vs. speed).
        threads: torch intra-op threads while labelling on the CPU (0: leave torch's
            setting). One is the default: on a busy 2-core machine two threads labelled
            3000-atom frames ten times slower (2.3 vs 24 frames/s), spinning on each other.
    """

    potential: str = "teacher"
    device: str = "auto"
    batch_atoms: int = 20000
    threads: int = 1


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (n = 0: unchanged), then restore."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n > 0:
            torch.set_num_threads(before)


def _load_potential(spec: str, device: str) -> torch.nn.Module:
    try:
        from mlmd.potential import load_potential
    except ImportError:  # exported from mlmd.potential once the registry lands there
        from mlmd.potential.registry import load_potential
    return load_potential(spec, device=device)


class Teacher:
    """An mlmd potential as a :class:`~mlmd.reference.protocol.Reference` (in process).

    Raises:
        ReferenceSetupError: the potential cannot be loaded.
    """

    name = "teacher"
    in_process = True

    def __init__(self, settings: TeacherSettings | None = None):
        self.settings = settings or TeacherSettings()
        device = self.settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        try:
            self.potential = _load_potential(self.settings.potential, str(self.device))
        except InputError as exc:
            raise ReferenceSetupError(str(exc), field="potential") from None
        self.cutoff_A = float(self.potential.cutoff_A)

    @property
    def reference(self) -> dict[str, Any]:
        ref: dict[str, Any] = {"name": self.name, "potential": self.settings.potential}
        source = getattr(self.potential, "source", None)
        if isinstance(source, str):
            ref["source"] = source
        return ref

    def label(self, frames: Sequence[Frame], workdir: Path | None = None) -> list[Result]:
        """Label ``frames`` in batches of about ``batch_atoms`` atoms (``workdir`` unused).

        A frame holding an element the potential does not know gets status ``failed``.
        """
        threads = self.settings.threads if self.device.type == "cpu" else 0
        with _torch_threads(threads):
            return self._label(frames)

    def _label(self, frames: Sequence[Frame]) -> list[Result]:
        results: list[Result] = []
        batch: list[Frame] = []
        known = set(int(z) for z in self.potential.species)
        for frame in frames:
            if not set(frame.numbers.tolist()) <= known:
                if batch:
                    results += self._evaluate(batch)
                    batch = []
                results.append(
                    Result(frame.key, "failed", message=f"elements outside {sorted(known)}")
                )
                continue
            if batch and sum(f.n_atoms for f in batch) + frame.n_atoms > self.settings.batch_atoms:
                results += self._evaluate(batch)
                batch = []
            batch.append(frame)
        if batch:
            results += self._evaluate(batch)
        return results

    def _evaluate(self, frames: list[Frame]) -> list[Result]:
        start = time.perf_counter()
        graph = graph_from_frames(frames, self.cutoff_A, self.device)
        periodic = all(f.pbc.all() for f in frames)
        ev = evaluate(self.potential, graph, forces=True, virial=periodic)
        energy = ev.energy.detach().cpu().numpy()
        forces = ev.forces.detach().cpu().numpy()
        stress = ev.stress(graph.cell).detach().cpu().numpy() if periodic else None
        wall = (time.perf_counter() - start) / len(frames)
        results, offset = [], 0
        for s, frame in enumerate(frames):
            n = frame.n_atoms
            results.append(
                Result(
                    key=frame.key,
                    status="ok",
                    energy=float(energy[s]),
                    forces=np.array(forces[offset : offset + n]),
                    stress=None if stress is None or not frame.pbc.all() else stress[s],
                    wall_s=wall,
                )
            )
            offset += n
        return results


@register("teacher")
def make_teacher(
    *,
    config: Mapping[str, Any] | str | Path | None = None,
    preset: str | None = None,
    ranks: int | None = None,
) -> Teacher:
    """Registry factory: ``get_reference("teacher", config=...)`` (``preset`` and ``ranks``
    do not apply to an in-process potential and must be left at their defaults)."""
    source = str(config) if isinstance(config, (str, Path)) else "<teacher config>"
    data = load_toml(config) if isinstance(config, (str, Path)) else dict(config or {})
    if preset is not None:
        raise ConfigError(
            "the teacher has no presets", field="preset", fix="drop --preset for the teacher"
        )
    if ranks not in (None, 1):
        raise ConfigError(
            "the teacher runs in process, not on MPI ranks", field="ranks", fix="drop --ranks"
        )
    settings = from_mapping(TeacherSettings, data, source=source)
    for key in ("batch_atoms", "threads"):
        if getattr(settings, key) < (1 if key == "batch_atoms" else 0):
            raise ConfigError("must be positive", file=source, field=key, fix="change it")
    return Teacher(settings)
