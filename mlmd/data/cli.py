"""``mlmd data import|export|info|merge`` and ``mlmd build`` (``--material FILE`` or ``sio2``).

Bad input raises :class:`mlmd.errors.InputError` (exit code 2 through the dispatcher) before
anything is written; inputs are never modified and outputs appear atomically.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from mlmd.atomic import require_new
from mlmd.data.build import random_sio2, sio2_crystal
from mlmd.data.convert import LabelKeys
from mlmd.data.extxyz import read_extxyz, write_extxyz
from mlmd.data.ops import merge_datasets, summary, write_frames
from mlmd.data.store import Dataset
from mlmd.data.validation import check_frames
from mlmd.errors import InputError

#: Reference written by ``mlmd build``: the structures carry no labels.
BUILD_REFERENCE = {"name": "none"}
#: Reference of ``mlmd data import`` into a new file when ``--reference`` is not given.
IMPORT_REFERENCE = {"name": "unknown"}


def _reference(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    source = text
    if not text.lstrip().startswith("{") and Path(text).is_file():
        source = Path(text).read_text()
    try:
        value = json.loads(source)
    except ValueError as exc:
        raise InputError(
            f"not valid JSON ({exc})",
            field="--reference",
            fix='pass e.g. \'{"name": "cp2k", "cutoff_Ry": 400}\' or a JSON file',
        ) from None
    if not isinstance(value, dict) or not value.get("name"):
        raise InputError(
            "must be a JSON object with a non-empty 'name'",
            field="--reference",
            fix='e.g. \'{"name": "teacher", "potential": "vashishta1994"}\'',
        )
    return value


def _label_keys(args: argparse.Namespace) -> LabelKeys:
    given = {k: getattr(args, f"{k}_key") for k in ("energy", "forces", "stress", "virial")}
    for name, value in given.items():
        if value is not None and not value.strip():
            raise InputError("must not be empty", field=f"--{name}-key", fix="give a key name")
    return LabelKeys(**{k: v for k, v in given.items() if v is not None})


def _import(args: argparse.Namespace) -> int:
    reference = _reference(args.reference)
    keys = _label_keys(args)
    frames = []
    for path in args.files:
        frames += read_extxyz(path, require_forces=not args.allow_missing_forces, keys=keys)
    out = Path(args.output)
    if out.is_dir():
        raise InputError("is a directory", file=str(out), fix="give the dataset file's path")
    check_frames(frames, str(out))
    if out.exists():
        ds = Dataset(out)
        ds.validate()
        n = ds.append(frames, reference=reference)
        total = len(ds)
    else:
        n = total = write_frames(out, reference or IMPORT_REFERENCE, frames)
    counts = Counter(f.status for f in frames)
    status = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(
        f"imported {n} frames ({status}) from {len(args.files)} file(s) into {out} ({total} frames)"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    require_new(args.output, overwrite=args.overwrite)
    ds = Dataset(args.input)
    ds.validate()
    frames = (ds[i] for i in ds.select(status=args.status)) if args.status else iter(ds)
    n = write_extxyz(
        frames, args.output, keys=_label_keys(args), virial=args.virial_key is not None
    )
    print(f"exported {n} frames from {args.input} to {args.output}")
    return 0


def _info(args: argparse.Namespace) -> int:
    info = summary(args.input)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['file']}: {info['frames']} frames, {info['atoms']} atoms")
    print(f"  reference: {json.dumps(info['reference'], sort_keys=True)}")
    print("  species:   " + ", ".join(f"{k} {v}" for k, v in info["species"].items()))
    print("  status:    " + ", ".join(f"{k} {v}" for k, v in info["status"].items()))
    for name, label in (
        ("energy_per_atom_eV", "energy/atom (eV)"),
        ("force_component_eV_A", "force comp. (eV/Å)"),
        ("stress_pressure_GPa", "pressure (GPa)"),
    ):
        stats = info[name]
        if stats:
            print(f"  {label:20s}" + "  ".join(f"{k} {v:.6g}" for k, v in stats.items()))
    return 0


def _merge(args: argparse.Namespace) -> int:
    n = merge_datasets(
        args.inputs, args.output, dedupe=not args.keep_duplicates, overwrite=args.overwrite
    )
    print(f"merged {len(args.inputs)} datasets into {args.output} ({n} frames)")
    return 0


def _output(args: argparse.Namespace) -> Path:
    if args.output is None:
        raise InputError("no output file", field="-o", fix="add -o OUT.h5")
    out = Path(args.output)
    require_new(out, overwrite=args.overwrite)
    return out


def _build_sio2(args: argparse.Namespace) -> int:
    if args.crystal is not None:
        if args.atoms is not None or args.density is not None:
            raise InputError(
                "--crystal takes no --atoms/--density", field="--crystal", fix="drop those"
            )
        frame = sio2_crystal(args.crystal, tuple(args.repeat))
    else:
        if args.atoms is None or args.density is None:
            raise InputError(
                "give --atoms N --density G (random box) or --crystal NAME",
                field="--atoms/--density",
                fix="e.g. mlmd build sio2 --atoms 3000 --density 2.2 -o start.h5",
            )
        frame = random_sio2(args.atoms, args.density, seed=args.seed)
    write_frames(_output(args), BUILD_REFERENCE, [frame], overwrite=args.overwrite)
    print(f"wrote {frame.n_atoms} atoms ({frame.source}) to {args.output}")
    return 0


#: Options each ``mlmd build --material`` mode takes besides its own flag.
_MODE_OPTIONS = {
    "start": ("frames",),
    "crystal": ("repeat", "atoms"),
    "random": ("atoms", "density"),
}


def _build_mode(args: argparse.Namespace) -> str:
    """``start``, ``crystal`` or ``random`` from the flags given (InputError on a mix)."""
    mode = "start" if args.start is not None else "crystal" if args.crystal else "random"
    if mode == "start" and args.crystal is not None:
        raise InputError("--start takes no --crystal", field="--start", fix="drop one of them")
    if mode == "random" and args.atoms is None:
        raise InputError(
            "nothing to build",
            field="--atoms/--crystal/--start",
            fix="e.g. --atoms 192, --crystal quartz [--repeat 2 2 2 | --atoms 1000], --start small",
        )
    for key in ("frames", "repeat", "atoms", "density"):
        if getattr(args, key) is not None and key not in _MODE_OPTIONS[mode]:
            flag = f"--{key}"
            raise InputError(f"{flag} does not go with this build", field=flag, fix="drop it")
    if mode == "crystal" and args.repeat is not None and args.atoms is not None:
        raise InputError("give --repeat or --atoms", field="--repeat/--atoms", fix="drop one")
    return mode


def _build_material(args: argparse.Namespace) -> int:
    """``mlmd build --material FILE``: a random cell, a seed crystal or a start recipe."""
    from mlmd.materials import crystal_structure, load_material, write_start_frames
    from mlmd.materials.structures import repeat_for_atoms

    if args.material is None:
        raise InputError(
            "nothing to build",
            field="--material",
            fix="give --material campaigns/materials/NAME.toml (or use mlmd build sio2)",
        )
    material = load_material(args.material)
    mode = _build_mode(args)
    out = _output(args)
    if mode == "start":
        done = write_start_frames(material, args.start, out, args.frames, args.seed)
        print(f"wrote {done['frames']} start frames ({done['atoms']} atoms) to {out}")
        return 0
    if mode == "crystal":
        repeat = args.repeat
        if args.atoms is not None:
            repeat = repeat_for_atoms(
                crystal_structure(material, args.crystal, (1, 1, 1)), args.atoms
            )
        frame = crystal_structure(material, args.crystal, repeat)
    else:
        frame = _random_frame(material, args)
    write_frames(out, BUILD_REFERENCE, [frame], overwrite=args.overwrite)
    print(f"wrote {frame.n_atoms} atoms ({frame.source}) to {out}")
    return 0


def _random_frame(material, args: argparse.Namespace):
    """The random cell of ``--atoms``/``--density``, errors naming those flags."""
    from mlmd.materials import random_structure
    from mlmd.materials.structures import formula_counts

    formula_counts(material, args.atoms, field="--atoms")
    try:
        return random_structure(material, args.atoms, args.density, seed=args.seed)
    except InputError as exc:
        if exc.field != "density_g_cm3":
            raise
        raise InputError(exc.message, field="--density", fix=exc.fix) from None


def _label_key_options(p: argparse.ArgumentParser, verb: str) -> None:
    """``--energy-key`` and friends (MACE: REF_energy, REF_forces, REF_stress; GAP: virial)."""
    p.add_argument("--energy-key", help=f"info key to {verb} the energy (eV) as (default energy)")
    p.add_argument("--forces-key", help=f"per-atom array to {verb} forces as (default forces)")
    p.add_argument(
        "--stress-key", help=f"info key to {verb} the stress (eV/Å³) as (default stress)"
    )
    p.add_argument(
        "--virial-key",
        help=f"info key to {verb} the virial (eV, stress = −virial/volume) as "
        + (
            "(default virial; used when there is no stress)"
            if verb == "read"
            else "instead of a stress"
        ),
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data`` and ``build`` to the ``mlmd`` command."""
    _register_data(subparsers)
    _register_build(subparsers)


def _register_data(subparsers: argparse._SubParsersAction) -> None:
    """``mlmd data import|export|info|merge``."""
    data = subparsers.add_parser("data", help="datasets: import, export, info, merge")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = sub.add_parser("import", help="extxyz files → dataset (appends to an existing one)")
    p.add_argument("files", nargs="+", help="extxyz files")
    p.add_argument("-o", "--output", required=True, help="dataset .h5 (created or appended)")
    p.add_argument(
        "--reference",
        help="reference method as JSON (or a JSON file); must match OUT when it exists; "
        f"a new file without it gets {json.dumps(IMPORT_REFERENCE)}",
    )
    p.add_argument(
        "--allow-missing-forces",
        action="store_true",
        help="keep structures with an energy but no forces (NaN, status missing_output)",
    )
    _label_key_options(p, "read")
    p.set_defaults(func=_import)

    p = sub.add_parser("export", help="dataset → extxyz (full float64 precision)")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--status", nargs="+", help="export only frames with these statuses")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _label_key_options(p, "write")
    p.set_defaults(func=_export)

    p = sub.add_parser("info", help="counts and label statistics")
    p.add_argument("input")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_info)

    p = sub.add_parser("merge", help="merge datasets of one reference method (dedupe by key)")
    p.add_argument("inputs", nargs="+")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--keep-duplicates", action="store_true", help="keep every frame of a key")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=_merge)


def _register_build(subparsers: argparse._SubParsersAction) -> None:
    """``mlmd build --material FILE ...`` and ``mlmd build sio2 ...``."""
    build = subparsers.add_parser(
        "build",
        help="starting structures of a material file (random cell, crystal, start recipe)",
        description="mlmd build --material FILE (--atoms N [--density G] | --crystal NAME "
        "[--repeat A B C | --atoms N] | --start RECIPE [--frames N]) -o OUT.h5; "
        "or mlmd build sio2 ...",
    )
    build.add_argument("--material", help="material file, e.g. campaigns/materials/si.toml")
    build.add_argument(
        "--atoms",
        type=int,
        help="atoms of a random cell (whole formula units); with --crystal: at least this many",
    )
    build.add_argument("--density", type=float, help="g/cm³ (default: the material's nominal)")
    build.add_argument("--crystal", help="a seed crystal of the material")
    build.add_argument("--repeat", type=int, nargs=3, metavar=("A", "B", "C"))
    build.add_argument("--start", metavar="RECIPE", help="the frames of a [start.RECIPE]")
    build.add_argument("--frames", type=int, help="frames of --start (default: the recipe's)")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("-o", "--output", help="dataset .h5 to write")
    build.add_argument("--overwrite", action="store_true", help="replace an existing output")
    build.set_defaults(func=_build_material)
    bsub = build.add_subparsers(dest="build_command", metavar="SYSTEM")
    p = bsub.add_parser(
        "sio2",
        help="random SiO2 box or a crystal → unlabelled dataset (reference {'name': 'none'})",
    )
    p.add_argument("--atoms", type=int, help="atoms in the random box (multiple of 3)")
    p.add_argument("--density", type=float, help="g/cm³ of the random box")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--crystal", choices=("quartz", "cristobalite"))
    p.add_argument("--repeat", type=int, nargs=3, default=(1, 1, 1), metavar=("A", "B", "C"))
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=_build_sio2)
