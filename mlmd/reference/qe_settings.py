"""Quantum ESPRESSO settings: what changes the labels (:class:`QESettings`, stored as the
dataset's reference together with the pseudopotential files' hashes) and how ``pw.x`` is
launched (:class:`QERunSettings`, not stored).

A config (TOML or mapping) holds the settings' keys at the top level and an optional
``[run]`` table; unknown keys are errors naming the key and the valid ones::

    ecutwfc_Ry = 40.0
    kspacing_A_inv = 0.25          # k-point spacing; 0 = Γ point only
    pseudopotentials = { O = "O.pbe-rrkjus.UPF" }   # per element; others chosen by rule
    [ladder]
    enabled = true
    [run]
    launcher = "openmpi"           # none | openmpi | parsl | auto | "<prefix with {ranks}>"
    ranks = 2
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from mlmd.config import from_mapping, load_toml
from mlmd.errors import ConfigError


@dataclass(frozen=True)
class QELadder:
    """SCF retry ladder, climbed while the SCF does not converge: (a) ``mixing``: Broyden
    mixing with ``mixing_beta`` and ``local-TF`` mode, ``max_steps`` iterations;
    (b) ``cg``: conjugate-gradient diagonalisation, ``cg_mixing_beta``, ``max_steps``."""

    enabled: bool = True
    mixing_beta: float = 0.2
    cg_mixing_beta: float = 0.1
    max_steps: int = 300


@dataclass(frozen=True)
class QESettings:
    """Everything that determines a ``pw.x`` label. Units in names: Ry (cutoffs, smearing
    width, SCF threshold), Å⁻¹ (k-point spacing, 2π included: n_i = ⌈|b_i| / spacing⌉).

    ``functional`` picks pseudopotentials (``pw.x`` takes the functional from them);
    ``ecutrho_Ry = 0`` means 8 × ``ecutwfc_Ry`` (ultrasoft/PAW density cutoff).
    """

    functional: str = "pbe"
    pseudopotentials: dict[str, str] = field(default_factory=dict)
    ecutwfc_Ry: float = 40.0
    ecutrho_Ry: float = 0.0
    kspacing_A_inv: float = 0.25
    occupations: Literal["smearing", "fixed"] = "smearing"
    smearing: Literal["mv", "gaussian", "mp", "fd"] = "mv"
    degauss_Ry: float = 0.01
    conv_thr_Ry: float = 1e-8
    mixing_beta: float = 0.4
    electron_maxstep: int = 100
    ladder: QELadder = field(default_factory=QELadder)

    @property
    def density_cutoff_Ry(self) -> float:
        return self.ecutrho_Ry or 8.0 * self.ecutwfc_Ry


@dataclass(frozen=True)
class QERunSettings:
    """How to launch ``pw.x`` (does not change the labels).

    Attributes:
        executable: path or name; "" → ``$MLMD_PW``, else ``pw.x`` on PATH.
        pseudo_dir: "" → ``$ESPRESSO_PSEUDO``, else ``/usr/share/espresso/pseudo`` (Debian's
            ``quantum-espresso-data``).
        launcher: as CP2K's (:func:`mlmd.reference.process.launcher_prefix`); Debian's QE is
            linked to Open MPI.
        ranks: MPI ranks per calculation. omp_threads: ``OMP_NUM_THREADS`` of each rank.
        timeout_s: wall-time limit of one ``pw.x`` run, s.
    """

    executable: str = ""
    pseudo_dir: str = ""
    launcher: str = "auto"
    ranks: int = 1
    omp_threads: int = 1
    timeout_s: float = 3600.0


def load_qe_config(
    config: Mapping[str, Any] | str | Path | None = None, *, ranks: int | None = None
) -> tuple[QESettings, QERunSettings, str]:
    """Parse and check a QE config: (settings, run settings, source name).

    Raises:
        ConfigError: an unknown key, a wrong type or an invalid value, naming file and key.
    """
    if isinstance(config, (str, Path)):
        data, source = load_toml(config), str(config)
    else:
        data, source = copy.deepcopy(dict(config or {})), "<qe config>"
    run_data = data.pop("run", {})
    settings = from_mapping(QESettings, data, source=source)
    run = from_mapping(QERunSettings, run_data, source=source, prefix="run")
    if ranks is not None:
        run = replace(run, ranks=ranks)
    _validate(settings, run, source)
    return settings, run, source


def _validate(s: QESettings, run: QERunSettings, source: str) -> None:
    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ConfigError(what, file=source, field=key, fix="change the value")

    for key in ("ecutwfc_Ry", "conv_thr_Ry", "degauss_Ry", "mixing_beta"):
        need(getattr(s, key) > 0, key, "must be > 0")
    need(s.ecutrho_Ry == 0 or s.ecutrho_Ry >= 4 * s.ecutwfc_Ry, "ecutrho_Ry", ">= 4 × ecutwfc")
    need(s.kspacing_A_inv >= 0, "kspacing_A_inv", "must be >= 0 (0: Γ only)")
    need(s.electron_maxstep >= 1, "electron_maxstep", "must be >= 1")
    need(0 < s.mixing_beta <= 1, "mixing_beta", "must be in (0, 1]")
    lad = s.ladder
    for key in ("mixing_beta", "cg_mixing_beta"):
        need(0 < getattr(lad, key) <= 1, f"ladder.{key}", "must be in (0, 1]")
    need(lad.max_steps >= 1, "ladder.max_steps", "must be >= 1")
    need(run.ranks >= 1, "run.ranks", "must be >= 1")
    need(run.omp_threads >= 1, "run.omp_threads", "must be >= 1")
    need(run.timeout_s > 0, "run.timeout_s", "must be > 0")
