"""The static (0 K, ASE) properties of ``mlmd properties``: elastic constants of the start
structure and relaxed seed crystals. Serial: they run on rank 0 (callers wrap them in
:func:`mlmd.properties.segments.on_root`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mlmd.data.ase_io import ase_read, ase_write
from mlmd.errors import InputError
from mlmd.properties.config import CrystalsConfig, ElasticConfig, MDSettings
from mlmd.properties.crystals import compare_crystals, relax_crystal
from mlmd.properties.elastic import VOIGT, elastic_constants
from mlmd.properties.relax import calculator_for
from mlmd.properties.report import write_curve


def run_elastic(md: MDSettings, cfg: ElasticConfig, out: Path, start: Atoms) -> dict:
    """C_ij of the start structure (cell relaxed first), its .dat and a heat-map PNG."""
    calc = calculator_for(md.potential, _device(md))
    result = elastic_constants(
        start, calc, strain=cfg.strain, relax_ions=cfg.relax_ions, fmax_eV_A=cfg.fmax_eV_A
    )
    out.mkdir(parents=True, exist_ok=True)
    header = "elastic constants C_ij (GPa), Voigt order " + " ".join(VOIGT)
    np.savetxt(out / "elastic.dat", result.c_GPa, header=header, fmt="%12.4f")
    fig = Figure(figsize=(5.2, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(result.c_GPa, cmap="viridis")
    for (i, j), value in np.ndenumerate(result.c_GPa):
        ax.text(j, i, f"{value:.0f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(range(6), VOIGT)
    ax.set_yticks(range(6), VOIGT)
    ax.set_title("C_ij (GPa), relaxed ions, 0 K")
    fig.colorbar(image, ax=ax)
    fig.savefig(out / "elastic.png", dpi=110)
    files = {"dat": str(out / "elastic.dat"), "png": str(out / "elastic.png")}
    return {**result.summary(), "files": files}


def crystal_structure(name: str) -> Atoms:
    """A seed crystal: a builder name of :func:`mlmd.data.build.sio2_crystal`, or a file ASE
    reads (extxyz, CIF, POSCAR)."""
    from mlmd.data.build import CRYSTALS, sio2_crystal

    if name in CRYSTALS:
        f = sio2_crystal(name)
        return Atoms(numbers=f.numbers, positions=f.positions, cell=f.cell, pbc=True)
    if not Path(name).is_file():
        raise InputError(
            f"'{name}' is neither a built-in crystal nor a file",
            field="crystals.structures",
            fix=f"use one of {sorted(CRYSTALS)} or a structure file path",
        )
    return ase_read(name)


def run_crystals(md: MDSettings, cfg: CrystalsConfig, out: Path) -> dict:
    """Relax every seed crystal with the model (and the reference, when given)."""
    model = calculator_for(md.potential, _device(md))
    reference = calculator_for(cfg.reference, _device(md)) if cfg.reference else None
    results = {}
    for name in cfg.structures:
        atoms = crystal_structure(name)
        label = Path(name).stem
        mine, relaxed = relax_crystal(atoms, model, name=label, fmax_eV_A=cfg.fmax_eV_A)
        entry = mine.summary()
        if reference is not None:
            ref, _ = relax_crystal(atoms, reference, name=label, fmax_eV_A=cfg.fmax_eV_A)
            entry["reference"] = ref.summary()
            entry["vs_reference"] = compare_crystals(mine, ref)
        out.mkdir(parents=True, exist_ok=True)
        ase_write(out / f"{label}_relaxed.extxyz", relaxed)
        results[label] = entry
    names = list(results)
    cols = {
        "index": np.arange(len(names)),
        **{k: [results[n][k] for n in names] for k in ("a_A", "b_A", "c_A")},
        "density_g_cm3": [results[n]["density_g_cm3"] for n in names],
    }
    files = write_curve(
        out / "crystals",
        cols,
        title="relaxed crystals: " + ", ".join(f"{i} = {n}" for i, n in enumerate(names)),
        ylabel="lattice length (Å), density (g/cm³)",
    )
    return {"structures": results, "reference": cfg.reference, "files": files}


def _device(md: MDSettings) -> str:
    import torch

    return (
        "cuda"
        if md.device == "cuda" or (md.device == "auto" and torch.cuda.is_available())
        else "cpu"
    )
