"""A campaign's first unlabelled frames from a material's ``[start.NAME]`` recipe.

Frame i of a recipe takes source i mod len(sources) (a seed crystal, or a random cell at a
density drawn uniformly from the source's range), strains its cell by diag(1 + e) with each
e uniform in ±``strain``, and displaces every atom by Gaussian noise of
``rattle_A[i mod len(rattle_A)]`` Å per component. One generator seeded by ``seed`` draws,
per frame and in this order: the density (random sources), the strain, the rattle; the
random cell itself is seeded by ``seed * 1000 + i``. Same seed, same frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlmd.config import to_mapping
from mlmd.data import Frame
from mlmd.errors import ConfigError
from mlmd.materials.load import load_material
from mlmd.materials.schema import Material, StartSource
from mlmd.materials.structures import crystal_structure, random_structure


def start_frames(
    material: Material, recipe: str, n_frames: int | None = None, seed: int = 0
) -> list[Frame]:
    """``n_frames`` (default: the recipe's ``frames``) unlabelled frames of ``recipe``."""
    if recipe not in material.start:
        raise ConfigError(
            f"no start recipe {recipe!r}",
            file=material.path,
            field="start",
            fix=f"use one of {', '.join(sorted(material.start)) or '(add [start.NAME])'}",
        )
    spec = material.start[recipe]
    n = spec.frames if n_frames is None else n_frames
    if n < 1:
        raise ConfigError(f"{n} frames asked", field="n_frames", fix="ask for 1 or more")
    rng = np.random.default_rng(seed)
    crystals: dict[tuple, Frame] = {}
    frames = []
    for i in range(n):
        base = _base(material, spec.sources[i % len(spec.sources)], rng, seed * 1000 + i, crystals)
        strain = np.eye(3) + np.diag(rng.uniform(-spec.strain, spec.strain, 3))
        rattle_A = spec.rattle_A[i % len(spec.rattle_A)]
        positions = base.positions @ strain + rng.normal(0.0, rattle_A, base.positions.shape)
        frames.append(
            Frame(
                base.numbers, positions, base.cell @ strain, base.pbc, source=f"start:{recipe}:{i}"
            )
        )
    return frames


def _base(
    material: Material, src: StartSource, rng: np.random.Generator, seed: int, cache: dict
) -> Frame:
    """The unstrained structure of one source (crystals built once per name and repeat)."""
    if src.random_atoms is not None:
        low, high = src.density_g_cm3 or material.density.random_g_cm3
        return random_structure(material, src.random_atoms, float(rng.uniform(low, high)), seed)
    key = (src.crystal, src.repeat)
    if key not in cache:
        cache[key] = crystal_structure(material, src.crystal, src.repeat)
    return cache[key]


def write_start_frames(
    material: Material | str | Path,
    recipe: str,
    out: str | Path,
    n_frames: int | None = None,
    seed: int = 0,
) -> dict:
    """Write :func:`start_frames` to the dataset ``out`` (replaced when it exists);
    returns {"path", "frames", "atoms"}. The dataset's reference records the material,
    its file, the recipe and the seed."""
    from mlmd.data.ops import write_frames

    mat = material if isinstance(material, Material) else load_material(material)
    frames = start_frames(mat, recipe, n_frames, seed)
    reference = {
        "name": "unlabelled",
        "origin": "start frames",
        "material": mat.name,
        "material_file": mat.path,
        "recipe": {"name": recipe, **to_mapping(mat.start[recipe]), "seed": seed},
    }
    write_frames(out, reference, frames, overwrite=True)
    return {"path": str(out), "frames": len(frames), "atoms": sum(f.n_atoms for f in frames)}
