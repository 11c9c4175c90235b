"""Shared pieces of the material-file tests: the shipped files, a small valid material file
with tables replaced, and the table of bad files (field and message each must produce)."""

from __future__ import annotations

from pathlib import Path

MATERIALS = Path(__file__).resolve().parents[2] / "campaigns" / "materials"
SHIPPED = sorted(p.stem for p in MATERIALS.glob("*.toml"))


def material_text(**tables: str) -> str:
    """A small valid material file (SiO2 with the teacher), tables replaced by ``tables``."""
    parts = {
        "top": 'name = "SiO2"\ncomposition = { Si = 1, O = 2 }\nreference = "teacher"\n',
        "density": "[density]\nnominal_g_cm3 = 2.2\nrandom_g_cm3 = [2.0, 2.6]\n",
        "min_distance": '[min_distance]\npairs_A = { "Si-O" = 1.4, "O-O" = 2.2, "Si-Si" = 2.8 }\n',
        "crystals": "",
        "melt_quench": "[melt_quench]\nmelt_K = 3000.0\nmelt_hold_ps = 1.0\n"
        "quench_rates_K_ps = [100.0]\nanneal_ps = 1.0\n",
        "references": '[references.teacher]\nname = "teacher"\n',
        "start": "",
    }
    parts.update(tables)
    return "\n".join(parts.values())


def write_material(tmp_path: Path, **tables: str) -> Path:
    """``tmp_path/mat.toml``: :func:`material_text` with ``tables`` replaced."""
    path = tmp_path / "mat.toml"
    path.write_text(material_text(**tables))
    return path


def _top(composition: str) -> str:
    return f'name = "x"\ncomposition = {{ {composition} }}\nreference = "teacher"\n'


WRONG_QUARTZ = (  # the widely copied variant of shared/notes/sio2.md: Si–O 1.295 Å
    '[crystals.q]\nspacegroup = 152\nsymbols = ["Si", "O"]\n'
    "basis = [[0.4697, 0.0, 0.0], [0.4135, 0.2669, 0.1191]]\n"
    "cellpar = [4.916, 4.916, 5.4054, 90, 90, 120]\n"
)

BAD_FILES = {
    "unknown element": ({"top": _top("Si = 1, Oo = 2")}, "composition.Oo", "unknown element"),
    "fractions not summing": ({"top": _top("Si = 0.3, O = 0.6")}, "composition", "sum to 0.9"),
    "non-integer formula": ({"top": _top("Si = 1, O = 2.5")}, "composition",
                            "not whole atom counts"),
    "unknown key": ({"density": "[density]\nnominal_g_cm3 = 2.2\nrandom_g_cm = [2.0, 2.6]\n"},
                    "density.random_g_cm", "did you mean 'random_g_cm3'"),
    "density range inverted": (
        {"density": "[density]\nnominal_g_cm3 = 2.2\nrandom_g_cm3 = [2.6, 2.0]\n"},
        "density", "random_g_cm3: [2.6, 2.0] must be 0 < low ≤ high",
    ),
    "missing seed file": ({"crystals": '[crystals.q]\nfile = "nope.cif"\n'}, "crystals.q.file",
                          "not found"),
    "wrong crystal recipe": ({"crystals": WRONG_QUARTZ}, "crystals.q", "closer than the minimum"),
    "pair outside composition": ({"min_distance": '[min_distance]\npairs_A = { "Si-C" = 1.4 }\n'},
                                 "min_distance.pairs_A.Si-C", "not in the composition"),
    "unknown backend": ({"references": '[references.teacher]\nname = "vasp"\n'},
                        "references.teacher.name", "unknown reference backend"),
    "default reference missing": ({"references": '[references.t]\nname = "teacher"\n'},
                                  "reference", "not a table"),
    "recipe names no crystal": ({"start": '[start.s]\nsources = [{ crystal = "tridymite" }]\n'},
                                "start.s.sources[0].crystal", "unknown crystal"),
    "recipe breaks formula units": ({"start": "[start.s]\nsources = [{ random_atoms = 10 }]\n"},
                                    "start.s.sources[0].random_atoms", "formula units"),
}  # fmt: skip
