"""The ``xtb`` reference: GFN1-/GFN2-xTB through tblite (PyPI), in process.

A cheap semi-empirical quantum reference for any element tblite parametrises (H–Rn,
Z = 1–86): energy, forces and (periodic cells) stress, one tblite calculation per frame.
Settings (a mapping or TOML, strict)::

    method = "GFN1-xTB"              # or "GFN2-xTB", "IPEA1-xTB"
    accuracy = 1.0                   # tblite's numerical accuracy (smaller is tighter)
    electronic_temperature_K = 300.0
    max_iterations = 250             # SCC iterations; not converging → scf_not_converged

Units: tblite works in Hartree and Bohr; results come back in eV, eV/Å and eV/Å³ (ASE
sign: stress = virial / V, as tblite's own ASE calculator). Measured here: 72 SiO2 atoms
≈ 2 s with stress.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase.data import chemical_symbols

from mlmd import units
from mlmd.config import from_mapping, load_toml, to_mapping
from mlmd.data import Frame
from mlmd.errors import ConfigError
from mlmd.reference.protocol import ReferenceSetupError, Result
from mlmd.reference.registry import register

#: Heaviest element of the GFN1/GFN2 parametrisations (radon).
MAX_Z = 86


@dataclass(frozen=True)
class XTBSettings:
    """What determines an xTB label (see the module docstring)."""

    method: Literal["GFN1-xTB", "GFN2-xTB", "IPEA1-xTB"] = "GFN1-xTB"
    accuracy: float = 1.0
    electronic_temperature_K: float = 300.0
    max_iterations: int = 250


def load_xtb_settings(
    config: Mapping[str, Any] | str | Path | None, source: str = "<xtb config>"
) -> XTBSettings:
    """Parse and check an xTB config (strict). Raises ConfigError naming file and key."""
    if isinstance(config, (str, Path)):
        source, data = str(config), load_toml(config)
    else:
        data = dict(config or {})
    s = from_mapping(XTBSettings, data, source=source)
    for key in ("accuracy", "electronic_temperature_K", "max_iterations"):
        if getattr(s, key) <= 0:
            raise ConfigError("must be > 0", file=source, field=key, fix="change it")
    return s


def _calculator() -> Any:
    try:
        from tblite.interface import Calculator
    except ImportError:
        raise ReferenceSetupError(
            "tblite is missing", fix="pip install tblite (`make setup` installs it)"
        ) from None
    return Calculator


class XTB:
    """GFN-xTB (tblite) as a :class:`~mlmd.reference.protocol.Reference` (in process)."""

    name = "xtb"
    in_process = True

    def __init__(self, settings: XTBSettings | None = None):
        self.settings = settings or XTBSettings()
        self._calculator = _calculator()

    #: Atomic numbers xTB labels (H–Rn).
    species = tuple(range(1, MAX_Z + 1))

    @property
    def reference(self) -> dict[str, Any]:
        return {"name": self.name, **to_mapping(self.settings)}

    def check_elements(self, numbers: Iterable[int]) -> None:
        """Raise :class:`ReferenceSetupError` for an element xTB has no parameters for."""
        bad = sorted({int(z) for z in numbers if not 1 <= int(z) <= MAX_Z})
        if bad:
            names = ", ".join(
                chemical_symbols[z] if z < len(chemical_symbols) else str(z) for z in bad
            )
            raise ReferenceSetupError(
                f"{self.settings.method} has no parameters for {names} (Z = {bad})",
                field="elements",
                fix=f"xTB covers H–Rn (Z 1–{MAX_Z}); choose another reference",
            )

    def label(self, frames: Sequence[Frame], workdir: Path | None = None) -> list[Result]:
        """Label ``frames`` one by one (``workdir`` unused). An SCC that does not converge
        is ``scf_not_converged``; any other tblite error is ``failed``."""
        for frame in frames:
            self.check_elements(frame.numbers)
        return [self._label_one(frame) for frame in frames]

    def _label_one(self, frame: Frame) -> Result:
        start = time.perf_counter()
        try:
            res = self._singlepoint(frame)
        except RuntimeError as exc:
            text = str(exc)
            status = "scf_not_converged" if "converge" in text.lower() else "failed"
            return Result(frame.key, status, message=f"tblite: {text}")
        stress = None
        if frame.pbc.all():
            stress = np.asarray(res.get("virial")) * units.HARTREE / frame.volume
        return Result(
            key=frame.key,
            status="ok",
            energy=float(res.get("energy")) * units.HARTREE,
            forces=-np.asarray(res.get("gradient")) * (units.HARTREE / units.BOHR),
            stress=stress,
            wall_s=time.perf_counter() - start,
        )

    def _singlepoint(self, frame: Frame) -> Any:
        """tblite's result object for ``frame`` (raises RuntimeError on failure)."""
        s = self.settings
        calc = self._calculator(
            s.method,
            frame.numbers,
            frame.positions / units.BOHR,
            lattice=frame.cell / units.BOHR,
            periodic=frame.pbc,
        )
        calc.set("verbosity", 0)
        calc.set("accuracy", s.accuracy)
        calc.set("max-iter", s.max_iterations)
        calc.set("temperature", s.electronic_temperature_K * units.KB_EV_PER_K / units.HARTREE)
        return calc.singlepoint()


@register("xtb")
def make_xtb(
    *,
    config: Mapping[str, Any] | str | Path | None = None,
    preset: str | None = None,
    ranks: int | None = None,
) -> XTB:
    """Registry factory: ``get_reference("xtb", config={"method": "GFN2-xTB"})``."""
    if preset is not None:
        raise ConfigError("xtb has no presets", field="preset", fix="set method instead")
    if ranks not in (None, 1):
        raise ConfigError("xtb runs in process", field="ranks", fix="drop --ranks")
    source = str(config) if isinstance(config, (str, Path)) else "<xtb config>"
    return XTB(load_xtb_settings(config, source))
