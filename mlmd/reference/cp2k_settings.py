"""CP2K settings: what changes the labels (:class:`CP2KSettings`, stored as the dataset's
reference) and how the program is launched (:class:`CP2KRunSettings`, not stored).

A config file (TOML) or mapping holds the settings' keys at the top level, an optional
``preset = "fast" | "production"`` that they override, and an optional ``[run]`` table::

    preset = "fast"
    cutoff_Ry = 300.0
    [ladder]
    enabled = false
    [run]
    launcher = "openmpi"   # none | openmpi | parsl | auto | "<prefix with {ranks}>"
    ranks = 2

Presets are TOML files in ``mlmd/reference/presets/cp2k_<name>.toml``. Unknown keys are
errors naming the key and the valid ones.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlmd.config import from_mapping, load_toml
from mlmd.errors import ConfigError

PRESET_DIR = Path(__file__).parent / "presets"
#: Sections ``extra_sections`` may append raw CP2K input to.
EXTRA_SECTIONS = ("GLOBAL", "FORCE_EVAL", "DFT", "QS", "MGRID", "SCF", "XC", "SUBSYS")


@dataclass(frozen=True)
class LadderSettings:
    """The SCF retry ladder, climbed rung by rung while the SCF does not converge.

    (a) ``restart``: the same solver with ``restart_max_scf`` steps, restarting from the last
    wavefunction; (b) ``diagonalization``: diagonalisation, Broyden mixing (``broyden_alpha``)
    and Fermi–Dirac smearing at ``smearing_K`` with ``added_mos`` extra orbitals, from the last
    wavefunction; (c) ``outer_loop``: OT with a conjugate-gradient minimiser, short inner
    loops (``inner_max_scf``) and a long outer loop (``outer_max_scf``).
    """

    enabled: bool = True
    restart_max_scf: int = 200
    diag_max_scf: int = 300
    broyden_alpha: float = 0.2
    smearing_K: float = 300.0
    added_mos: int = 20
    inner_max_scf: int = 20
    outer_max_scf: int = 50


@dataclass(frozen=True)
class CP2KSettings:
    """Everything that determines a CP2K label. Units in names: Ry (plane-wave cutoffs),
    K (electronic temperature); ``eps_scf`` in Hartree (CP2K's convention).

    ``xc_smoothing`` smooths the density and XC derivatives on the real-space grid
    (``&XC_GRID XC_SMOOTH_RHO NN10``, ``XC_DERIV NN10_SMOOTH`` or ``SPLINE2_SMOOTH``). Without
    it the GGA "egg-box" error of O at 250 Ry gives 9-atom quartz a net force of 0.28 eV/Å and
    forces 8 % off the energy's derivative; with it 0.05 eV/Å and 0.4 % (measured here).

    ``basis_set`` and ``pseudopotential`` name the family; each element gets its own entry
    from CP2K's data files (:mod:`mlmd.reference.cp2k_kinds`, e.g. Zr: ``GTH-PBE-q12``).
    ``basis_sets`` / ``potentials`` override the choice per element (``{Zr = "..."}``).
    """

    functional: str = "PBE"
    basis_set: str = "DZVP-MOLOPT-SR-GTH"
    pseudopotential: str = "GTH-PBE"
    basis_set_file: str = "BASIS_MOLOPT"
    potential_file: str = "GTH_POTENTIALS"
    cutoff_Ry: float = 400.0
    rel_cutoff_Ry: float = 60.0
    eps_scf: float = 1e-6
    eps_default: float = 1e-12
    max_scf: int = 50
    outer_max_scf: int = 10
    solver: Literal["ot", "diagonalization"] = "ot"
    smearing_K: float = 0.0
    added_mos: int = 0
    mixing_alpha: float = 0.4
    xc_smoothing: Literal["none", "nn10", "spline2"] = "nn10"
    ladder: LadderSettings = field(default_factory=LadderSettings)
    extra_sections: dict[str, str] = field(default_factory=dict)
    basis_sets: dict[str, str] = field(default_factory=dict)
    potentials: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CP2KRunSettings:
    """How to launch CP2K (does not change the labels).

    Attributes:
        executable: path or name; "" → ``$MLMD_CP2K``, else ``cp2k.psmp`` / ``cp2k`` on PATH.
        data_dir: basis/pseudopotential directory; "" → ``$MLMD_CP2K_DATA``, else
            ``/usr/share/cp2k``.
        launcher: ``none``; ``openmpi`` (``mpiexec.openmpi --allow-run-as-root --bind-to none
            -np {ranks}``: Debian's CP2K is linked to Open MPI); ``parsl`` (the prefix in
            ``$PARSL_MPI_PREFIX``: only right when the site's MPI is the one CP2K is linked
            to; Parsl's local prefix is MPICH-style, which Debian's Open MPI CP2K cannot use);
            ``auto`` (none for 1 rank, else openmpi); or any prefix template, where
            ``{ranks}`` is replaced.
        ranks: MPI ranks per calculation.
        omp_threads: ``OMP_NUM_THREADS`` of each rank.
        timeout_s: wall-time limit of one CP2K run, s.
        keep_wavefunction: keep ``*.wfn`` files of converged runs (they are deleted otherwise).
    """

    executable: str = ""
    data_dir: str = ""
    launcher: str = "auto"
    ranks: int = 1
    omp_threads: int = 1
    timeout_s: float = 3600.0
    keep_wavefunction: bool = False


def available_presets() -> list[str]:
    """Names of the shipped CP2K presets."""
    return sorted(p.stem.removeprefix("cp2k_") for p in PRESET_DIR.glob("cp2k_*.toml"))


def preset_mapping(name: str) -> dict[str, Any]:
    """The settings mapping of preset ``name`` (raises ConfigError naming the valid ones)."""
    path = PRESET_DIR / f"cp2k_{name}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown preset {name!r}",
            field="preset",
            fix=f"choose one of {', '.join(available_presets())}",
        )
    return load_toml(path)


def load_cp2k_config(
    config: Mapping[str, Any] | str | Path | None = None,
    *,
    preset: str | None = None,
    ranks: int | None = None,
) -> tuple[CP2KSettings, CP2KRunSettings]:
    """Parse and validate a CP2K config (see module docstring).

    Args:
        config: a mapping, a TOML path, or None (the preset alone).
        preset: overrides the config's ``preset`` key; default ``production``.
        ranks: overrides ``run.ranks``.

    Raises:
        ConfigError: an unknown key, a wrong type or an invalid value, naming file and key.
    """
    if config is None:
        data, source = {}, "<cp2k config>"
    elif isinstance(config, (str, Path)):
        data, source = load_toml(config), str(config)
    else:
        data, source = copy.deepcopy(dict(config)), "<cp2k config>"
    file_preset = data.pop("preset", None)
    if file_preset is not None and not isinstance(file_preset, str):
        raise ConfigError("expected a string", file=source, field="preset")
    run_data = data.pop("run", {})
    merged = _deep_merge(preset_mapping(preset or file_preset or "production"), data)
    settings = from_mapping(CP2KSettings, merged, source=source)
    run = from_mapping(CP2KRunSettings, run_data, source=source, prefix="run")
    if ranks is not None:
        run = CP2KRunSettings(**{**run.__dict__, "ranks": ranks})
    _validate(settings, run, source)
    return settings, run


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _validate(s: CP2KSettings, run: CP2KRunSettings, source: str) -> None:
    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ConfigError(what, file=source, field=key, fix="change the value")

    for key in ("cutoff_Ry", "rel_cutoff_Ry", "eps_scf", "eps_default", "mixing_alpha"):
        need(getattr(s, key) > 0, key, "must be > 0")
    for key in ("max_scf", "outer_max_scf"):
        need(getattr(s, key) >= 1, key, "must be >= 1")
    need(s.smearing_K >= 0 and s.added_mos >= 0, "smearing_K", "must be >= 0")
    need(
        s.smearing_K == 0 or s.solver == "diagonalization",
        "smearing_K",
        'smearing needs solver = "diagonalization"',
    )
    lad = s.ladder
    for key in ("restart_max_scf", "diag_max_scf", "inner_max_scf", "outer_max_scf"):
        need(getattr(lad, key) >= 1, f"ladder.{key}", "must be >= 1")
    need(0 < lad.broyden_alpha <= 1, "ladder.broyden_alpha", "must be in (0, 1]")
    need(lad.smearing_K > 0, "ladder.smearing_K", "must be > 0")
    for section in s.extra_sections:
        need(
            section in EXTRA_SECTIONS,
            f"extra_sections.{section}",
            f"unknown section; valid: {', '.join(EXTRA_SECTIONS)}",
        )
    need(run.ranks >= 1, "run.ranks", "must be >= 1")
    need(run.omp_threads >= 1, "run.omp_threads", "must be >= 1")
    need(run.timeout_s > 0, "run.timeout_s", "must be > 0")
