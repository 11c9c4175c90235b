"""Read the time series a property needs from an H5MD trajectory, strictly.

mlmd's ``md run`` writes ``/observables/<name>/{value, step, time}`` (CONTRACTS §2): scalars
(temperature K, pressure GPa, volume Å³, energies eV, ...) and ``pressure_tensor`` [T, 3, 3]
in GPa (full tensor with the kinetic part, pressure = +trace/3) every
``output.pressure_tensor_every`` steps, and the resolved run config as JSON in
``/parameters`` attrs["config"]. :func:`read_run` loads the observables (any shape) and the
config; :meth:`Run.series` returns one observable in mlmd units (time fs, pressure GPa) or
raises an :class:`InputError` that names the file, the dataset and what to change in the
MD config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlmd.analysis.h5md_units import pressure_factor, time_factor
from mlmd.errors import InputError

#: Observables whose values are pressures.
PRESSURES = ("pressure", "pressure_tensor")

#: The MD config key that switches each observable on, for error messages.
SWITCH = {
    "pressure_tensor": "output.pressure_tensor_every (e.g. 2)",
    "volume": "output.thermo_every",
    "temperature": "output.thermo_every",
}


@dataclass(frozen=True)
class Observable:
    """One time series: ``value`` [T, ...] in mlmd units, ``step`` [T], ``time_fs`` [T]."""

    value: np.ndarray
    step: np.ndarray
    time_fs: np.ndarray

    def between(self, start_ps: float | None, end_ps: float | None) -> Observable:
        """The samples with start ≤ time ≤ end (ps; None = open)."""
        t = self.time_fs / 1e3
        keep = np.ones(len(t), dtype=bool)
        if start_ps is not None:
            keep &= t >= start_ps - 1e-9
        if end_ps is not None:
            keep &= t <= end_ps + 1e-9
        return Observable(self.value[keep], self.step[keep], self.time_fs[keep])

    def interval_fs(self, file: str, name: str) -> float:
        """The (uniform) sampling interval; an InputError when the samples are not evenly
        spaced (a restarted run with another interval)."""
        dt = np.diff(self.time_fs)
        if len(dt) == 0 or dt.min() <= 0 or np.ptp(dt) > 1e-6 * dt.max():
            raise InputError(
                "samples are not evenly spaced in time",
                file=file,
                field=f"/observables/{name}/time",
                fix="use one run with one output interval (or give its segments separately)",
            )
        return float(np.mean(dt))


@dataclass(frozen=True)
class Run:
    """An MD trajectory's observables and config (see module docstring)."""

    path: Path
    config: dict
    observables: dict[str, Observable] = field(repr=False)

    def series(self, name: str, purpose: str) -> Observable:
        """Observable ``name``; an InputError naming the file and the MD option if absent."""
        if name not in self.observables or len(self.observables[name].value) == 0:
            switch = SWITCH.get(name, "the output options")
            raise InputError(
                f"no '{name}' observable, which {purpose} needs",
                file=str(self.path),
                field=f"/observables/{name}",
                fix=f"run the MD with {switch} set in its config",
            )
        return self.observables[name]

    def window_ps(self, window) -> tuple[float | None, float | None]:
        """(start_ps, end_ps) of an analysis window (:class:`mlmd.analysis.window.Window` or
        its string: ``all``, ``time_ps:A:B``, ``steps:A:B``, ``segment:K``; None = all)."""
        from mlmd.analysis.window import Window, segments

        w = Window.parse(window)
        if w.kind == "all":
            return None, None
        if w.kind == "time_ps":
            return w.start, w.end
        if w.kind == "steps":
            dt_ps = float(self.config.get("timestep_fs", 1.0)) / 1e3
            return tuple(None if b is None else b * dt_ps for b in (w.start, w.end))
        segs = segments(self.config)
        if not -len(segs) <= w.segment < len(segs):
            raise InputError(
                f"segment {w.segment} of a run with {len(segs)} schedule segments",
                file=str(self.path),
                field="window",
                fix=f"choose a segment in [{-len(segs)}, {len(segs) - 1}]",
            )
        seg = segs[w.segment]
        return seg.start_ps, seg.end_ps

    @property
    def ensemble(self) -> str | None:
        """``ensemble.kind`` of the run config (None when the file has no config)."""
        return self.config.get("ensemble", {}).get("kind")


def read_run(path: str | Path) -> Run:
    """Load every ``/observables`` series and the config of the H5MD file ``path``."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputError("trajectory not found", file=str(path), fix="check the path")
    if not h5py.is_hdf5(path):
        raise InputError("not an HDF5/H5MD file", file=str(path), fix="give an H5MD trajectory")
    with h5py.File(path, "r") as f:
        config = _config(f, path)
        found: dict[str, Observable] = {}
        obs = f.get("observables")
        if obs is not None:
            for name, node in obs.items():
                if isinstance(node, h5py.Group) and "value" in node:
                    found[name] = _observable(node, str(path), name)
    return Run(path, config, found)


def _config(f, path: Path) -> dict:
    params = f.get("parameters")
    text = None if params is None else params.attrs.get("config")
    if text is None:
        return {}
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise InputError(
            "the run config is not valid JSON", file=str(path), field="/parameters/config"
        ) from None


def _observable(node, file: str, name: str) -> Observable:
    value = np.asarray(node["value"][()], dtype=float)
    n = len(value)
    step = np.asarray(node["step"][()]) if "step" in node else np.arange(n)
    time = np.asarray(node["time"][()], dtype=float) if "time" in node else step.astype(float)
    if step.ndim == 0:  # H5MD fixed interval
        step = step * np.arange(n)
    if time.ndim == 0:
        time = time * np.arange(n)
    if "time" in node:
        time = time * time_factor(node["time"].attrs.get("unit"), file, f"observables/{name}")
    if name in PRESSURES:
        value = value * pressure_factor(node["value"].attrs.get("unit"), file, f"{name}/value")
    return Observable(value, step[:n].astype(np.int64), time[:n])
