"""Model directories and exported model files of :class:`BodyOrderPotential`.

A model directory (written by ``mlmd train``) holds one sub-directory per ensemble member::

    MODEL_DIR/model.json                {"format": "mlmd.model", "members": K} (mlmd train)
    MODEL_DIR/member_0/config.json      architecture (ModelConfig as JSON)
    MODEL_DIR/member_0/weights.pt       final (EMA) state dict, tensors only
    MODEL_DIR/member_0/train_config.json, metrics.json, checkpoint.pt, *.png

(a member directory on its own is a valid single model). An export is ONE file, a dict of
plain strings and tensors, ``{"format": "mlmd.export", "version": 1, "config": JSON,
"state_dict": {...}}``, readable with ``torch.load(weights_only=True)``; it needs only
:mod:`mlmd.potential`, never the training code.

Loading is strict: members 0..K−1 all present with config and weights (K from
``model.json`` when there is one), configs valid JSON of the same architecture, every
weight tensor of the right shape and finite. Anything else is an
:class:`~mlmd.errors.InputError` naming the file, so a damaged model never runs with fewer
members or NaN weights, and is never exported.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from mlmd.atomic import atomic_output, write_text
from mlmd.config import from_mapping
from mlmd.errors import InputError
from mlmd.potential.ensemble import stack_members
from mlmd.potential.model import BodyOrderPotential, ModelConfig

EXPORT_FORMAT = "mlmd.export"
EXPORT_VERSION = 1
MODEL_FORMAT = "mlmd.model"
_MEMBER = re.compile(r"member_(\d+)")
_RETRAIN = "retrain it (mlmd train) or restore the model directory from a copy"


def torch_save(path: Path, obj: object) -> None:
    """``torch.save`` to ``path`` atomically (:func:`mlmd.atomic.atomic_output`)."""
    with atomic_output(path) as tmp, tmp.open("wb") as fh:
        torch.save(obj, fh)


def torch_load(path: Path, what: str) -> Any:
    """``torch.load(weights_only=True)`` of ``path``; a damaged file is an InputError."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{what} missing", file=str(path), fix=_RETRAIN) from None
    except Exception as exc:  # zip, pickle and EOF errors of a damaged or foreign file
        raise InputError(
            f"not a readable {what} ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
            file=str(path),
            fix=_RETRAIN,
        ) from None


def save_member(model: BodyOrderPotential, directory: Path) -> None:
    """Write ``config.json`` and ``weights.pt`` of a single model into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch_save(directory / "weights.pt", state)
    write_text(directory / "config.json", json.dumps(asdict(model.config), indent=2))


def write_manifest(model_dir: Path, members: int) -> None:
    """Record that ``model_dir`` is an ensemble of ``members`` members."""
    path = model_dir / "model.json"
    if path.is_file():
        known = _manifest_members(model_dir)
        if known != members:
            raise InputError(
                f"this model directory is an ensemble of {known} members, not {members}",
                file=str(path),
                fix=f"use --ensemble {known}, or a new output directory",
            )
        return
    model_dir.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps({"format": MODEL_FORMAT, "members": members}, indent=2))


def _manifest_members(model_dir: Path) -> int | None:
    path = model_dir / "model.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        assert data["format"] == MODEL_FORMAT and int(data["members"]) >= 1
        return int(data["members"])
    except (ValueError, KeyError, TypeError, AssertionError):
        raise InputError("not a valid model manifest", file=str(path), fix=_RETRAIN) from None


def check_weights(state: Any, source: str) -> dict[str, torch.Tensor]:
    """``state`` as a state dict of finite tensors (else InputError naming the tensor)."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError("not a state dict of tensors", file=source, fix=_RETRAIN)
    for name, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise InputError(
                f"{bad} non-finite (NaN/inf) values in weight tensor {name!r}",
                file=source,
                fix=_RETRAIN,
            )
    return state


def _from_state(config: Any, state: Any, source: str) -> BodyOrderPotential:
    cfg = from_mapping(ModelConfig, config, source=source)
    model = BodyOrderPotential(cfg)
    try:
        model.load_state_dict(check_weights(state, source))
    except RuntimeError as exc:  # missing, unexpected or mis-shaped tensors
        first = [line.strip() for line in str(exc).splitlines() if line.strip()][1:2]
        raise InputError(
            "weights do not match the model config" + (f" ({first[0][:160]})" if first else ""),
            file=source,
            fix="keep config.json and weights.pt of the same training run together",
        ) from None
    return model


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", file=str(path), fix=_RETRAIN) from None


def load_member(directory: Path) -> BodyOrderPotential:
    """The model saved by :func:`save_member` in ``directory`` (checked, see module doc)."""
    cfg_path, weights = directory / "config.json", directory / "weights.pt"
    if not (cfg_path.is_file() and weights.is_file()):
        missing = [p.name for p in (cfg_path, weights) if not p.is_file()]
        raise InputError(
            f"not a trained model member ({' and '.join(missing)} missing)",
            file=str(directory),
            fix="train it first with `mlmd train` (or finish that member's training)",
        )
    config = _read_json(cfg_path)
    state = torch_load(weights, "weights file")
    return _from_state(config, state, str(weights))


def member_dirs(model_dir: Path) -> list[Path]:
    """Member directories ``member_<i>`` of ``model_dir`` (finished or not), by index."""
    found = [p for p in model_dir.glob("member_*") if p.is_dir() and _MEMBER.fullmatch(p.name)]
    return sorted(found, key=lambda p: int(p.name.split("_")[1]))


def is_model_dir(path: Path) -> bool:
    """True for a model directory (member directories or a manifest) or a member directory."""
    if not path.is_dir():
        return False
    return (
        bool(member_dirs(path))
        or (path / "model.json").is_file()
        or (path / "weights.pt").is_file()
    )


def _check_members(path: Path, dirs: list[Path]) -> None:
    """Members 0..K−1 all there, K as the manifest says."""
    indices = [int(d.name.split("_")[1]) for d in dirs]
    expected = _manifest_members(path) or len(dirs)
    missing = sorted(set(range(expected)) - set(indices))
    if missing or len(dirs) != expected:
        raise InputError(
            f"ensemble of {expected} members, but member(s) {missing or indices[expected:]} "
            "missing or unexpected",
            file=str(path),
            fix=_RETRAIN,
        )


def load_model_dir(path: Path, device: str | torch.device = "cpu") -> BodyOrderPotential:
    """All members of a model directory stacked into one (ensemble) module."""
    path = Path(path)
    dirs = member_dirs(path)
    if dirs or (path / "model.json").is_file():
        _check_members(path, dirs)
    members = [load_member(d) for d in dirs or [path]]
    try:
        model = stack_members(members) if len(members) > 1 else members[0]
    except ValueError as exc:
        raise InputError(str(exc), file=str(path), fix=_RETRAIN) from None
    return model.to(device).eval()


def export_model(model: BodyOrderPotential, out: Path) -> None:
    """Write ``model`` (single or stacked ensemble) as one safe-to-load file."""
    state = check_weights(
        {k: v.detach().cpu() for k, v in model.state_dict().items()}, "the model to export"
    )
    payload = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "config": json.dumps(asdict(model.config)),
        "state_dict": state,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    torch_save(out, payload)


def is_export(path: Path) -> bool:
    """True for a file that :func:`load_export` reads (or refuses clearly)."""
    return path.is_file() and path.suffix in {".pt", ".pth"}


def load_export(path: Path, device: str | torch.device = "cpu") -> BodyOrderPotential:
    """The model in an export file (``torch.load(weights_only=True)`` only, checked)."""
    payload = torch_load(Path(path), "model export")
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise InputError("not an mlmd export", file=str(path), fix="use `mlmd export`")
    if payload.get("version") != EXPORT_VERSION:
        raise InputError(
            f"export version {payload.get('version')} is not {EXPORT_VERSION}",
            file=str(path),
            fix="re-export the model with this mlmd",
        )
    try:
        config = json.loads(payload["config"])
    except (KeyError, TypeError, ValueError):
        raise InputError("the export's config is not JSON", file=str(path), fix=_RETRAIN) from None
    model = _from_state(config, payload.get("state_dict"), str(path))
    return model.to(device).eval()
