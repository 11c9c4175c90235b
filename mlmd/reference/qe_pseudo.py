"""Pseudopotentials for ``pw.x``: one UPF file per element, given or chosen from a directory.

The rule for an element without an explicit file (``QESettings.pseudopotentials``): among
``<dir>/<El>.*.UPF`` / ``<El>_*.UPF`` whose name carries the functional (``pbe``, not
``pbesol``) and is not fully relativistic (``rel-``), prefer ultrasoft (``rrkjus``, ``van``,
``US``), then PAW (``kjpaw``, ``paw``), then norm-conserving; ties by name. Debian's
``quantum-espresso-data`` gives e.g. Si → ``Si.pbe-nl-rrkjus_psl.1.0.0.UPF``, O →
``O.pbe-rrkjus.UPF``, Ge → ``Ge.pbe-kjpaw.UPF``, Cu → ``Cu.pbe-kjpaw.UPF``; no Zr.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from mlmd.reference.protocol import ReferenceSetupError

DEFAULT_PSEUDO_DIR = "/usr/share/espresso/pseudo"
_KIND_RANK = (
    (re.compile(r"rrkjus|van|(^|[._-])us([._-]|$)|uspp", re.I), 0),
    (re.compile(r"paw", re.I), 1),
)


def pseudo_dir(setting: str = "") -> Path:
    """``setting``, else ``$ESPRESSO_PSEUDO``, else Debian's directory."""
    return Path(setting or os.environ.get("ESPRESSO_PSEUDO") or DEFAULT_PSEUDO_DIR)


def _rank(name: str) -> int:
    for pattern, rank in _KIND_RANK:
        if pattern.search(name.removesuffix(".UPF").removesuffix(".upf")):
            return rank
    return 2


def candidates(directory: Path, element: str, functional: str) -> list[str]:
    """UPF files of ``element`` for ``functional`` in ``directory``, best first."""
    if not directory.is_dir():
        return []
    func = re.compile(rf"(^|[._-]){re.escape(functional.lower())}([._-]|$)")
    found = []
    for path in directory.iterdir():
        name = path.name
        if not name.lower().endswith(".upf") or not re.match(rf"{element}[._]", name):
            continue
        if func.search(name.lower()) and "rel-" not in name.lower():
            found.append(name)
    return sorted(found, key=lambda n: (_rank(n), n))


def choose(
    elements: list[str], given: dict[str, str], directory: Path, functional: str
) -> dict[str, str]:
    """Element → UPF file name (``given`` wins; the others by the module's rule).

    Raises:
        ReferenceSetupError: an element with no file (naming it and the directory), or a
            given file that does not exist.
    """
    chosen = {}
    for element in elements:
        if element in given:
            if not (directory / given[element]).is_file():
                raise ReferenceSetupError(
                    f"pseudopotential {given[element]} for {element} not found in {directory}",
                    field=f"pseudopotentials.{element}",
                    fix="give a file that exists there, or set run.pseudo_dir",
                )
            chosen[element] = given[element]
            continue
        options = candidates(directory, element, functional)
        if not options:
            raise ReferenceSetupError(
                f"no {functional.upper()} pseudopotential for {element} in {directory}",
                field="pseudopotentials",
                fix=f"add {element}.{functional}-*.UPF there, or set pseudopotentials.{element} "
                "and run.pseudo_dir (e.g. from SSSP or pslibrary)",
            )
        chosen[element] = options[0]
    return chosen


def file_hashes(chosen: dict[str, str], directory: Path) -> dict[str, dict[str, str]]:
    """Element → {"file", "sha256"} of the chosen pseudopotentials."""
    return {
        el: {"file": name, "sha256": hashlib.sha256((directory / name).read_bytes()).hexdigest()}
        for el, name in sorted(chosen.items())
    }
