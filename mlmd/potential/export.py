"""Model directories and exported model files of :class:`BodyOrderPotential`.

A model directory (written by ``mlmd train``) holds one sub-directory per ensemble member::

    MODEL_DIR/member_0/config.json      architecture (ModelConfig as JSON)
    MODEL_DIR/member_0/weights.pt       final (EMA) state dict, tensors only
    MODEL_DIR/member_0/train_config.json, metrics.json, checkpoint.pt, *.png

(a member directory on its own is a valid single model). An export is ONE file, a dict of
plain strings and tensors, ``{"format": "mlmd.export", "version": 1, "config": JSON,
"state_dict": {...}}``, readable with ``torch.load(weights_only=True)``; it needs only
:mod:`mlmd.potential`, never the training code.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from mlmd.atomic import replace_file, write_text
from mlmd.config import from_mapping
from mlmd.errors import InputError
from mlmd.potential.ensemble import stack_members
from mlmd.potential.model import BodyOrderPotential, ModelConfig

EXPORT_FORMAT = "mlmd.export"
EXPORT_VERSION = 1


def atomic_save(obj: object, path: Path) -> None:
    """``torch.save`` to ``path.tmp``, fsync, rename: a crash leaves the old file intact."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        torch.save(obj, fh)
    replace_file(tmp, path)


def atomic_write_text(text: str, path: Path) -> None:
    """Write ``text`` to ``path`` atomically (see :mod:`mlmd.atomic`)."""
    write_text(path, text)


def save_member(model: BodyOrderPotential, directory: Path) -> None:
    """Write ``config.json`` and ``weights.pt`` of a single model into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_save(state, directory / "weights.pt")
    atomic_write_text(json.dumps(asdict(model.config), indent=2), directory / "config.json")


def _from_state(config: dict, state: dict, source: str) -> BodyOrderPotential:
    cfg = from_mapping(ModelConfig, config, source=source)
    model = BodyOrderPotential(cfg)
    model.load_state_dict(state)
    return model


def load_member(directory: Path) -> BodyOrderPotential:
    """The model saved by :func:`save_member` in ``directory``."""
    cfg_path, weights = directory / "config.json", directory / "weights.pt"
    if not (cfg_path.is_file() and weights.is_file()):
        raise InputError(
            "not a trained model member (config.json and weights.pt missing)",
            file=str(directory),
            fix="train it first with `mlmd train`",
        )
    config = json.loads(cfg_path.read_text())
    state = torch.load(weights, map_location="cpu", weights_only=True)
    return _from_state(config, state, str(cfg_path))


def member_dirs(model_dir: Path) -> list[Path]:
    """Finished member directories of ``model_dir`` (those holding weights), in order."""
    found = [p for p in model_dir.glob("member_*") if (p / "weights.pt").is_file()]
    return sorted(found, key=lambda p: int(p.name.split("_")[1]))


def is_model_dir(path: Path) -> bool:
    """True for a model directory with finished members, or a single member directory."""
    return path.is_dir() and (bool(member_dirs(path)) or (path / "weights.pt").is_file())


def load_model_dir(path: Path, device: str | torch.device = "cpu") -> BodyOrderPotential:
    """All finished members of a model directory stacked into one (ensemble) module."""
    path = Path(path)
    dirs = member_dirs(path) or [path]
    model = stack_members([load_member(d) for d in dirs]) if len(dirs) > 1 else load_member(dirs[0])
    return model.to(device).eval()


def export_model(model: BodyOrderPotential, out: Path) -> None:
    """Write ``model`` (single or stacked ensemble) as one safe-to-load file."""
    payload = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "config": json.dumps(asdict(model.config)),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(payload, out)


def is_export(path: Path) -> bool:
    """True for a file that :func:`load_export` reads."""
    if not path.is_file() or path.suffix not in {".pt", ".pth"}:
        return False
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return False
    return isinstance(payload, dict) and payload.get("format") == EXPORT_FORMAT


def load_export(path: Path, device: str | torch.device = "cpu") -> BodyOrderPotential:
    """The model in an export file (``torch.load(weights_only=True)`` only)."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise InputError("not an mlmd export", file=str(path), fix="use `mlmd export`")
    if payload.get("version") != EXPORT_VERSION:
        raise InputError(
            f"export version {payload.get('version')} is not {EXPORT_VERSION}",
            file=str(path),
            fix="re-export the model with this mlmd",
        )
    model = _from_state(json.loads(payload["config"]), payload["state_dict"], str(path))
    return model.to(device).eval()
