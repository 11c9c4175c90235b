"""Load a potential from a spec: a registered name, or a path that a registered loader accepts.

Names map to factories ``factory(device) -> Module``; paths (model directories, exported
files, parameter files) go to the first registered path loader whose predicate accepts them.
Built in: ``"teacher"`` and ``"vashishta1994"`` (the NKV 1994 SiO2 Vashishta potential) and
LAMMPS ``*.vashishta`` parameter files. Other parts register theirs at import time::

    register_potential("my-model", lambda device: MyModel().to(device))
    register_path_loader(lambda p: (p / "model.json").is_file(), load_model_dir)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from mlmd.errors import InputError

Factory = Callable[[str | torch.device], torch.nn.Module]
PathLoader = Callable[[Path, str | torch.device], torch.nn.Module]

_FACTORIES: dict[str, Factory] = {}
_PATH_LOADERS: list[tuple[str, Callable[[Path], bool], PathLoader]] = []


def register_potential(name: str, factory: Factory, *, overwrite: bool = False) -> None:
    """Register ``factory(device) -> Module`` under ``name`` (an error if taken, unless
    ``overwrite``)."""
    if name in _FACTORIES and not overwrite:
        raise ValueError(f"a potential named {name!r} is already registered")
    _FACTORIES[name] = factory


def register_path_loader(
    predicate: Callable[[Path], bool], loader: PathLoader, *, description: str = ""
) -> None:
    """Register ``loader(path, device) -> Module`` for existing paths where
    ``predicate(path)`` is true. Loaders are tried in registration order.

    Args:
        description: what the loader accepts, shown when no loader accepts a path.
    """
    _PATH_LOADERS.append((description or getattr(loader, "__name__", "loader"), predicate, loader))


def potential_names() -> list[str]:
    """Registered potential names, sorted."""
    return sorted(_FACTORIES)


def load_potential(
    spec: str | Path | torch.nn.Module, device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """The potential named or located by ``spec``, on ``device``, in eval mode.

    Args:
        spec: a registered name (see :func:`potential_names`), an existing path accepted by a
            registered path loader, or an already built Module (moved to ``device``).

    Raises:
        InputError: an unknown name or a path no loader accepts (the message lists the valid
            names and what paths are accepted).
    """
    if isinstance(spec, torch.nn.Module):
        return spec.to(device).eval()
    text = str(spec)
    if text in _FACTORIES:
        return _FACTORIES[text](device).eval()
    path = Path(text).expanduser()
    if path.exists():
        for _, predicate, loader in _PATH_LOADERS:
            if predicate(path):
                return loader(path, device).eval()
        raise InputError(
            "no potential loader accepts this path",
            file=str(path),
            fix="give one of: " + "; ".join(d for d, _, _ in _PATH_LOADERS),
        )
    raise InputError(
        f"unknown potential {text!r}",
        field="potential",
        fix=f"use one of {potential_names()} or the path of a model, export or parameter file",
    )


def _teacher(device: str | torch.device) -> torch.nn.Module:
    from mlmd.potential.vashishta import Vashishta

    return Vashishta().to(device)


def _vashishta_file(path: Path, device: str | torch.device) -> torch.nn.Module:
    from mlmd.potential.vashishta import Vashishta

    return Vashishta.from_lammps_file(path).to(device)


register_potential("teacher", _teacher)
register_potential("vashishta1994", _teacher)
register_path_loader(
    lambda p: p.is_file() and p.name.endswith(".vashishta"),
    _vashishta_file,
    description="a LAMMPS pair_style vashishta parameter file (*.vashishta)",
)


def _model_dir(path: Path, device: str | torch.device) -> torch.nn.Module:
    from mlmd.potential.export import load_model_dir

    return load_model_dir(path, device)


def _is_model_dir(path: Path) -> bool:
    from mlmd.potential.export import is_model_dir

    return is_model_dir(path)


def _export_file(path: Path, device: str | torch.device) -> torch.nn.Module:
    from mlmd.potential.export import load_export

    return load_export(path, device)


def _is_export(path: Path) -> bool:
    from mlmd.potential.export import is_export

    return is_export(path)


register_path_loader(
    _is_model_dir,
    _model_dir,
    description="a model directory written by `mlmd train` (member_*/weights.pt)",
)
register_path_loader(
    _is_export, _export_file, description="a model file written by `mlmd export` (*.pt)"
)
