"""``mlmd train``, ``mlmd evaluate`` and ``mlmd export``.

mlmd train DATA.h5 -o MODEL_DIR [--config train.toml] [--ensemble K] [--member i]
           [--epochs N] [--device auto]
mlmd evaluate MODEL_DIR DATA.h5 [--split all|test] [--json]
mlmd export MODEL_DIR -o model.pt
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from mlmd.config import from_mapping, load_toml
from mlmd.errors import InputError
from mlmd.train.config import TrainConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train an ensemble of potentials on a dataset")
    p.add_argument("data", type=Path, help="dataset (HDF5) with status-ok frames")
    p.add_argument("-o", "--output", type=Path, required=True, help="model directory")
    p.add_argument("--config", type=Path, help="TOML file: a [train] table or top-level keys")
    p.add_argument("--ensemble", type=int, default=1, metavar="K", help="members 0..K-1")
    p.add_argument("--member", type=int, help="train only this member (for parallel runs)")
    p.add_argument("--epochs", type=int, help="override the config's epochs")
    p.add_argument("--device", help="auto (default: CUDA when present), cpu, cuda, cuda:1")
    p.set_defaults(func=run_train)

    p = subparsers.add_parser("evaluate", help="errors of a model on a dataset")
    p.add_argument("model", type=Path, help="model directory or exported model file")
    p.add_argument("data", type=Path, help="dataset (HDF5)")
    p.add_argument(
        "--split",
        choices=["all", "test"],
        default="all",
        help="all ok frames, or the held-out test frames of the model's training split",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_evaluate)

    p = subparsers.add_parser("export", help="write a model as one safe-to-load file")
    p.add_argument("model", type=Path, help="model directory")
    p.add_argument("-o", "--output", type=Path, required=True, help="output file (*.pt)")
    p.set_defaults(func=run_export)


def load_train_config(path: Path | None) -> TrainConfig:
    """The training config of a TOML file (a ``[train]`` table or top-level keys)."""
    if path is None:
        return TrainConfig()
    data = load_toml(path)
    if "train" in data:
        return from_mapping(TrainConfig, data["train"], source=str(path), prefix="train")
    return from_mapping(TrainConfig, data, source=str(path))


def run_train(args: argparse.Namespace) -> int:
    from mlmd.train.loop import train_member

    if not args.data.is_file():
        raise InputError("dataset not found", file=str(args.data), fix="check the path")
    cfg = load_train_config(args.config)
    if args.epochs is not None:
        cfg = replace(cfg, epochs=args.epochs)
    if args.device is not None:
        cfg = replace(cfg, device=args.device)
    if args.ensemble < 1:
        raise InputError("must be ≥ 1", field="--ensemble", fix="e.g. --ensemble 4")
    members = [args.member] if args.member is not None else list(range(args.ensemble))
    if any(m < 0 for m in members):
        raise InputError("must be ≥ 0", field="--member")
    for m in members:
        metrics = train_member(args.data, args.output, cfg, m, progress=True)
        test = metrics.get("test", {})
        print(
            f"member {m}: {metrics['epochs']} epochs ({metrics['stopped_by']}), test force "
            f"RMSE {test.get('forces_rmse', float('nan')):.4f} eV/Å, energy RMSE "
            f"{1000 * test.get('energy_per_atom_rmse', float('nan')):.2f} meV/atom"
        )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from mlmd.potential.registry import load_potential
    from mlmd.train.metrics import errors_on, held_out_indices

    if not args.data.is_file():
        raise InputError("dataset not found", file=str(args.data), fix="check the path")
    potential = load_potential(args.model, args.device)
    indices = None
    if args.split == "test":
        cfg_file = next(iter(sorted(args.model.glob("member_*/train_config.json"))), None)
        if cfg_file is None:
            raise InputError(
                "--split test needs a model directory with train_config.json",
                file=str(args.model),
                fix="use --split all",
            )
        cfg = from_mapping(TrainConfig, json.loads(cfg_file.read_text()), source=str(cfg_file))
        indices = held_out_indices(args.data, cfg)
    result, _ = errors_on(potential, args.data, indices, device=args.device, progress=True)
    result["n_members"] = int(getattr(potential, "n_members", 1))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:34s} {value:.6g}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from mlmd.potential.export import export_model, is_model_dir, load_model_dir

    if not is_model_dir(args.model):
        raise InputError(
            "not a model directory with trained members",
            file=str(args.model),
            fix="train first: mlmd train DATA.h5 -o MODEL_DIR",
        )
    model = load_model_dir(args.model)
    export_model(model, args.output)
    print(f"wrote {args.output} ({model.n_members} member(s))")
    return 0
