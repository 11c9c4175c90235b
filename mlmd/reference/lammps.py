"""The ``lammps`` reference: any LAMMPS pair style as a labelling method, in process.

One live LAMMPS instance per :class:`Lammps` object (i.e. per labelling worker) labels every
frame: atoms are replaced, ``run 0`` evaluates energy, forces and virial
(:mod:`mlmd.reference.lammps_lib`). Settings (a mapping or TOML, strict)::

    pair_style = "sw"
    pair_coeff = ["* * Si.sw Si"]        # one string per pair_coeff line
    elements = ["Si"]                    # element of each LAMMPS atom type, in order;
                                         # default: the element words ending "* * FILE A B"
    potential_dir = ""                   # "" → $LAMMPS_POTENTIALS, else Debian's directory

File names in ``pair_coeff`` are looked up in ``potential_dir`` and written as absolute
paths; the dataset's reference records each file's sha256, so labels from a changed file
never mix with the old ones. LAMMPS's own message for a style or coefficient it rejects is
passed on as a :class:`~mlmd.reference.protocol.ReferenceSetupError` naming the file and
field (exit code 2), before anything is labelled.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers, chemical_symbols

from mlmd.config import from_mapping, load_toml, to_mapping
from mlmd.data import Frame
from mlmd.errors import ConfigError
from mlmd.reference import lammps_lib
from mlmd.reference.protocol import ReferenceSetupError, Result
from mlmd.reference.registry import register

DEBIAN_POTENTIALS = "/usr/share/lammps/potentials"


@dataclass(frozen=True)
class LammpsSettings:
    """What determines a LAMMPS label (see the module docstring)."""

    pair_style: str
    pair_coeff: list[str]
    elements: list[str] = field(default_factory=list)
    potential_dir: str = ""


def elements_from_coeff(line: str) -> list[str]:
    """The type → element words ending a many-body line ``* * FILE A B ...`` ([] if none)."""
    words = line.split()
    if words[:2] != ["*", "*"] or len(words) < 4:
        return []
    tail = words[3:]
    return tail if all(w in atomic_numbers for w in tail) else []


def potential_dir(setting: str = "") -> Path:
    """``setting``, else ``$LAMMPS_POTENTIALS``, else Debian's potentials directory."""
    return Path(setting or os.environ.get("LAMMPS_POTENTIALS") or DEBIAN_POTENTIALS)


def resolve_coeffs(coeffs: list[str], directory: Path) -> tuple[list[str], dict[str, str]]:
    """``coeffs`` with every word naming a file in ``directory`` made absolute, and
    {file name: sha256} of those files."""
    out, files = [], {}
    for line in coeffs:
        words = []
        for word in line.split():
            path = Path(word) if Path(word).is_absolute() else directory / word
            if "." in word and path.is_file():
                files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
                word = str(path)
            words.append(word)
        out.append(" ".join(words))
    return out, files


def load_lammps_settings(
    config: Mapping[str, Any] | str | Path | None, source: str = "<lammps config>"
) -> LammpsSettings:
    """Parse and check a LAMMPS reference config (strict: unknown keys are errors).

    Raises:
        ConfigError: unknown or missing keys, wrong types, unknown elements, no coefficients.
    """
    if isinstance(config, (str, Path)):
        source, data = str(config), load_toml(config)
    else:
        data = dict(config or {})
    s = from_mapping(LammpsSettings, data, source=source)
    if not s.pair_style.strip():
        raise ConfigError("must not be empty", file=source, field="pair_style", fix='e.g. "sw"')
    if not s.pair_coeff:
        raise ConfigError("at least one line", file=source, field="pair_coeff", fix="add one")
    if not s.elements:
        s = replace(s, elements=elements_from_coeff(s.pair_coeff[0]))
    if not s.elements or len(set(s.elements)) != len(s.elements):
        raise ConfigError(
            "one distinct element per atom type",
            file=source,
            field="elements",
            fix='give elements = ["A", "B"] in LAMMPS type order',
        )
    for e in s.elements:
        if e not in atomic_numbers:
            raise ConfigError(f"unknown element {e!r}", file=source, field="elements")
    return s


class Lammps:
    """A LAMMPS pair style as a :class:`~mlmd.reference.protocol.Reference` (in process).

    Raises:
        ReferenceSetupError: the library is missing, or LAMMPS rejects the pair style or a
            coefficient line (its message, the file and the field).
    """

    name = "lammps"
    in_process = True

    def __init__(self, settings: LammpsSettings, source: str = "<lammps config>"):
        self.settings = settings
        directory = potential_dir(settings.potential_dir)
        self.coeffs, self.files = resolve_coeffs(settings.pair_coeff, directory)
        self.types = {atomic_numbers[e]: t + 1 for t, e in enumerate(settings.elements)}
        self.lmp = lammps_lib.open_lammps()
        masses = [float(atomic_masses[atomic_numbers[e]]) for e in settings.elements]
        try:
            lammps_lib.define_system(self.lmp, masses, settings.pair_style, self.coeffs)
        except lammps_lib.LammpsCommandError as exc:
            self.close()
            raise ReferenceSetupError(
                f"LAMMPS rejected it: {exc.message}",
                file=source,
                field="pair_coeff" if exc.command.startswith("pair_coeff") else "pair_style",
                fix=f"check the pair style and coefficients (files looked up in {directory})",
            ) from None

    @property
    def species(self) -> list[int]:
        """Atomic numbers this potential labels (its ``elements``)."""
        return sorted(self.types)

    @property
    def reference(self) -> dict[str, Any]:
        ref = {"name": self.name, **to_mapping(self.settings), "potential_files": self.files}
        ref.pop("potential_dir")
        return ref

    def check_elements(self, numbers: Iterable[int]) -> None:
        """Raise :class:`ReferenceSetupError` for elements outside ``elements``."""
        unknown = sorted({int(z) for z in numbers} - set(self.types))
        if unknown:
            raise ReferenceSetupError(
                f"elements {[chemical_symbols[z] for z in unknown]} are not among the "
                f"potential's {self.settings.elements}",
                field="elements",
                fix="use a potential (pair_coeff, elements) that covers every element",
            )

    def label(self, frames: Sequence[Frame], workdir: Path | None = None) -> list[Result]:
        """Label ``frames`` one after another in the live instance (``workdir`` unused).
        A frame with an element outside ``elements`` or open boundaries is ``failed``."""
        return [self._label_one(frame) for frame in frames]

    def _label_one(self, frame: Frame) -> Result:
        start = time.perf_counter()
        unknown = sorted(set(frame.numbers.tolist()) - set(self.types))
        if unknown:
            msg = f"elements {unknown} not among {self.settings.elements}"
            return Result(frame.key, "failed", message=msg)
        if not frame.pbc.all():
            return Result(frame.key, "failed", message="LAMMPS labels periodic cells only")
        atoms = Atoms(numbers=frame.numbers, positions=frame.positions, cell=frame.cell, pbc=True)
        types = np.array([self.types[int(z)] for z in frame.numbers])
        try:
            rot = lammps_lib.load_atoms(self.lmp, atoms, types)
            energy, forces, virial = lammps_lib.energy_forces_virial(self.lmp, rot, frame.volume)
        except (lammps_lib.LammpsCommandError, RuntimeError) as exc:
            return Result(frame.key, "failed", message=f"LAMMPS: {exc}")
        return Result(
            key=frame.key,
            status="ok",
            energy=energy,
            forces=forces,
            stress=-virial / frame.volume,
            wall_s=time.perf_counter() - start,
        )

    def close(self) -> None:
        """Free the LAMMPS instance."""
        if getattr(self, "lmp", None) is not None:
            self.lmp.close()
            self.lmp = None


@register("lammps")
def make_lammps(
    *,
    config: Mapping[str, Any] | str | Path | None = None,
    preset: str | None = None,
    ranks: int | None = None,
) -> Lammps:
    """Registry factory: ``get_reference("lammps", config={...})`` (no presets; one rank)."""
    if preset is not None:
        raise ConfigError("the lammps reference has no presets", field="preset", fix="drop it")
    if ranks not in (None, 1):
        raise ConfigError("the lammps reference runs in process", field="ranks", fix="drop it")
    source = str(config) if isinstance(config, (str, Path)) else "<lammps config>"
    return Lammps(load_lammps_settings(config, source), source)
