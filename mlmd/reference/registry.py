"""Reference backends by name: ``get_reference("cp2k", preset="fast")``.

Backends register a factory with :func:`register`; the factory takes keyword arguments
``config`` (a mapping or a TOML path, or None), ``preset`` (a preset name or None) and
``ranks`` (MPI ranks per calculation; None: the config's) and returns a
:class:`~mlmd.reference.protocol.Reference`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlmd.reference.protocol import Reference, ReferenceSetupError

Factory = Callable[..., Reference]
_FACTORIES: dict[str, Factory] = {}
#: Built-in backends, imported on first use so that listing them costs nothing.
_BUILTIN = {
    "cp2k": "mlmd.reference.cp2k",
    "lammps": "mlmd.reference.lammps",
    "qe": "mlmd.reference.qe",
    "teacher": "mlmd.reference.teacher",
    "xtb": "mlmd.reference.xtb",
}


def register(name: str) -> Callable[[Factory], Factory]:
    """Decorator registering a reference factory under ``name``."""

    def deco(factory: Factory) -> Factory:
        _FACTORIES[name] = factory
        return factory

    return deco


def available() -> list[str]:
    """Names of every known reference backend."""
    return sorted(set(_FACTORIES) | set(_BUILTIN))


def get_reference(
    name: str,
    *,
    config: Mapping[str, Any] | str | Path | None = None,
    preset: str | None = None,
    ranks: int | None = None,
) -> Reference:
    """Build the reference backend ``name``.

    Raises:
        ReferenceSetupError: unknown name (the message lists the valid ones), or a setup
            problem of the backend itself (bad config, missing binary).
    """
    if name not in _FACTORIES and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    if name not in _FACTORIES:
        raise ReferenceSetupError(
            f"unknown reference {name!r}",
            field="reference",
            fix=f"choose one of {', '.join(available())}",
        )
    if ranks is not None and ranks < 1:
        raise ReferenceSetupError("ranks must be >= 1", field="ranks", fix="pass --ranks 1 or more")
    return _FACTORIES[name](config=config, preset=preset, ranks=ranks)
