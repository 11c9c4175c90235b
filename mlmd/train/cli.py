"""``mlmd train``, ``mlmd evaluate`` and ``mlmd export``.

mlmd train DATA.h5 -o MODEL_DIR [--config train.toml] [--ensemble K] [--member i]
           [--epochs N] [--device auto]
mlmd evaluate MODEL_DIR DATA.h5 [--split all|test] [--json]
mlmd export MODEL_DIR -o model.pt

A model directory records its ensemble size (``model.json``), so a member lost later is
noticed on load. ``evaluate`` refuses a model whose predictions are not finite or beyond
physical bounds (damaged weights): it never prints NaN errors with exit code 0.
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
    p.add_argument(
        "--ensemble", type=int, metavar="K", help="members 0..K-1 (default 1, or --member + 1)"
    )
    p.add_argument(
        "--member", type=int, help="train only this member of the --ensemble (parallel runs)"
    )
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
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run_export)


def load_train_config(path: Path | None) -> TrainConfig:
    """The training config of a TOML file (a ``[train]`` table or top-level keys)."""
    if path is None:
        return TrainConfig()
    data = load_toml(path)
    if "train" in data:
        return from_mapping(TrainConfig, data["train"], source=str(path), prefix="train")
    return from_mapping(TrainConfig, data, source=str(path))


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """The config file's training config with the command line's overrides."""
    cfg = load_train_config(args.config)
    for option, value in (("epochs", args.epochs), ("device", args.device)):
        if value is None:
            continue
        try:
            cfg = replace(cfg, **{option: value})
        except ValueError as exc:
            raise InputError(str(exc), field=f"--{option}", fix="e.g. --epochs 50") from None
    return cfg


def _members(args: argparse.Namespace) -> tuple[int, list[int]]:
    """(ensemble size, the members this command trains)."""
    size = args.ensemble if args.ensemble is not None else 1
    if args.ensemble is None and args.member is not None:
        size = 0  # unknown: only this member is trained, no ensemble size recorded
    if args.ensemble is not None and args.ensemble < 1:
        raise InputError(f"{args.ensemble}: must be ≥ 1", field="--ensemble", fix="e.g. 4")
    if args.member is None:
        return size, list(range(size))
    if args.member < 0 or (size and args.member >= size):
        raise InputError(
            f"{args.member}: must be in 0..{size - 1 if size else 'K-1'}",
            field="--member",
            fix="members are numbered from 0 to --ensemble − 1",
        )
    return size, [args.member]


def run_train(args: argparse.Namespace) -> int:
    from mlmd.potential.export import write_manifest
    from mlmd.train.loop import train_member

    if not args.data.is_file():
        raise InputError("dataset not found", file=str(args.data), fix="check the path")
    cfg = _train_config(args)
    size, members = _members(args)
    if args.output.exists() and not args.output.is_dir():
        raise InputError("exists and is not a directory", file=str(args.output))
    for m in members:
        metrics = train_member(args.data, args.output, cfg, m, progress=True)
        if size:
            write_manifest(args.output, size)
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
    if args.json:  # a metric without data (no frame has a stress) is null, never NaN
        print(json.dumps({k: None if v != v else v for k, v in result.items()}, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:34s} " + ("n/a (no data)" if value != value else f"{value:.6g}"))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from mlmd.atomic import require_new
    from mlmd.potential.export import export_model, is_model_dir, load_model_dir

    require_new(args.output, overwrite=args.overwrite)
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
