"""``mlmd material FILE``: check a material file and print what it describes.

Loads the file strictly, builds each seed crystal, and with ``--reference LABEL`` (or
``--all-references``) also builds those references through their backends, so a setting
the backend rejects is reported now rather than on a worker. Bad input exits 2.
"""

from __future__ import annotations

import argparse
import json

from mlmd.materials import (
    bond_cutoffs_A,
    crystal_structure,
    experiment_table,
    load_material,
    make_reference,
    min_distances_A,
)
from mlmd.materials.schema import Material
from mlmd.units import density_g_cm3


def summary(material: Material, labels: list[str]) -> dict:
    """A JSON-able description of ``material``; ``labels``: references built and reported."""
    from ase.data import atomic_masses

    crystals = {}
    for name in material.crystals:
        frame = crystal_structure(material, name)
        mass = float(atomic_masses[frame.numbers].sum())
        crystals[name] = {
            "atoms": frame.n_atoms,
            "density_g_cm3": round(density_g_cm3(mass, frame.volume), 4),
        }
    return {
        "name": material.name,
        "file": material.path,
        "formula": material.formula,
        "species": list(material.species),
        "density": {
            "nominal_g_cm3": material.density.nominal_g_cm3,
            "random_g_cm3": list(material.density.random_g_cm3),
        },
        "min_distances_A": min_distances_A(material),
        "crystals": crystals,
        "start_recipes": sorted(material.start),
        "reference": material.reference,
        "references": {label: make_reference(material, label).reference for label in labels},
        "experiment": experiment_table(material),
        "bond_cutoffs_A": bond_cutoffs_A(material),
    }


def _check(args: argparse.Namespace) -> int:
    material = load_material(args.file)
    labels = sorted(material.references) if args.all_references else list(args.reference or [])
    info = summary(material, labels)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    formula = "".join(f"{s}{n if n > 1 else ''}" for s, n in info["formula"].items())
    print(f"{info['file']}: {info['name']} ({formula}, species {info['species']}) is valid")
    print(f"  density:    nominal {material.density.nominal_g_cm3} g/cm³, random cells "
          f"{material.density.random_g_cm3[0]}–{material.density.random_g_cm3[1]}")  # fmt: skip
    print(
        "  min dist:   " + ", ".join(f"{k} {v:.2f} Å" for k, v in info["min_distances_A"].items())
    )
    for name, c in info["crystals"].items():
        print(f"  crystal:    {name}: {c['atoms']} atoms, {c['density_g_cm3']} g/cm³")
    print(f"  start:      {', '.join(info['start_recipes']) or '(none)'}")
    others = ", ".join(f"{k} ({v.name})" for k, v in material.references.items())
    print(f"  reference:  {material.reference}; all: {others}")
    for label, ref in info["references"].items():
        print(f"  built:      {label}: {json.dumps(ref, sort_keys=True)}")
    print(f"  experiment: {', '.join(info['experiment']) or '(none)'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``material`` to the ``mlmd`` command."""
    p = subparsers.add_parser(
        "material", help="check a material file (campaigns/materials/NAME.toml)"
    )
    p.add_argument("file", help="the material file")
    p.add_argument(
        "--reference",
        action="append",
        metavar="LABEL",
        help="also build this reference (its backend checks its settings); repeatable",
    )
    p.add_argument("--all-references", action="store_true", help="build every reference")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_check)
