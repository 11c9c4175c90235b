"""The functions Parsl runs: thin glue from file paths and parameters to ``mlmd`` calls.

No science lives here: each function opens what it is given, calls one mlmd function and
returns a small JSON-able summary (paths and counts). They import mlmd inside the body so a
worker on another node imports it there. ``apps/__init__.py`` binds them to executors.
"""

from __future__ import annotations

import shlex


def build_start_frames(out: str, kind: str, n_frames: int, seed: int) -> dict:
    """Write ``n_frames`` unlabelled SiO2 starting frames to the dataset ``out``.

    ``kind`` is ``small`` (24-atom beta-cristobalite cells, for quick DFT: random insertion
    at that size leaves dangling bonds whose SCF can take CP2K many minutes) or ``medium``
    (48–72 atoms: quartz and cristobalite supercells, every other frame a random insertion
    over 2.0–2.6 g/cm³). Frames are strained by up to ±5 % and rattled by 0.02, 0.05 or
    0.08 Å per component (thermal displacements of roughly 600, 4000 and 10000 K; larger
    rattles gave the teacher forces of 470 eV/Å, frames that swamp a force loss). Every
    cell is at least 6.4 Å wide, so exploration MD on one rank needs ghosts one image deep.
    """
    import numpy as np

    from mlmd.data import Frame
    from mlmd.data.build import random_sio2, sio2_crystal
    from mlmd.data.ops import write_frames

    rng = np.random.default_rng(seed)
    crystals = (
        [sio2_crystal("cristobalite")]
        if kind == "small"
        else [sio2_crystal("quartz", (2, 2, 2)), sio2_crystal("cristobalite", (2, 1, 1))]
    )
    frames = []
    for i in range(n_frames):
        if kind == "small" or i % 2 == 0:
            base = crystals[(i // 2) % len(crystals)]
        else:
            base = random_sio2(72, float(rng.uniform(2.0, 2.6)), seed=seed * 1000 + i)
        strain = np.eye(3) + np.diag(rng.uniform(-0.05, 0.05, 3))
        cell = base.cell @ strain
        rattle_A = (0.02, 0.05, 0.08)[i % 3]
        positions = base.positions @ strain + rng.normal(0.0, rattle_A, base.positions.shape)
        frames.append(Frame(base.numbers, positions, cell, base.pbc, source=f"start:{kind}:{i}"))
    write_frames(
        out, {"name": "unlabelled", "origin": "campaign start frames"}, frames, overwrite=True
    )
    return {"path": out, "frames": len(frames)}


def label(
    in_path: str,
    out_path: str,
    reference: str,
    preset: str,
    launcher: str,
    ranks: int,
    workers: int,
    parsl_resource_specification: dict | None = None,
) -> dict:
    """Label the unlabelled frames of ``in_path`` into ``out_path`` (resumable per frame)."""
    from mlmd.reference.label import label_dataset

    config = {"run": {"launcher": launcher}} if reference == "cp2k" else None
    summary = label_dataset(
        in_path,
        out_path,
        reference,
        workers=workers,
        ranks=ranks if reference == "cp2k" else None,
        preset=preset if reference == "cp2k" else None,
        config=config,
        progress=False,
    )
    return {"path": out_path, **summary.to_dict()}


def train_member(data: str, model_dir: str, member: int, train: dict) -> dict:
    """Train ensemble member ``member`` on ``data`` into ``model_dir`` (resumes)."""
    from mlmd.train.loop import train_config_from
    from mlmd.train.loop import train_member as train_one

    metrics = train_one(data, model_dir, train_config_from(train, "campaign train config"), member)
    return {"model_dir": model_dir, "member": member, **metrics}


def explore(model_dir: str, start: str, index: int, md: dict, candidates: str) -> dict:
    """A short single-process MD run with the ensemble; frames whose spread exceeds the
    configured threshold are appended to ``candidates``."""
    from mlmd.md.engine import MDSafetyError
    from mlmd.md.runner import run_md

    config = {
        **md,
        "potential": model_dir,
        "structure": {"dataset": start, "index": index},
        "uncertainty": {**md.get("uncertainty", {}), "dataset": candidates},
    }
    try:
        summary = run_md(config, echo=False)
    except MDSafetyError as exc:  # the model left its domain: what exploration looks for
        return {"candidates": candidates, "status": "stopped_unsafe", "message": str(exc)}
    return {
        "candidates": candidates,
        "status": summary.get("status"),
        "steps": summary.get("steps"),
    }


def select(
    model_dir: str,
    candidates: list[str],
    known: str,
    out: str,
    sigma_lo_eV_A: float,
    sigma_hi_eV_A: float,
    cap: int,
) -> dict:
    """Choose new frames for labelling from the exploration candidates (trust window, topped
    up from just above it when an early model puts too few frames inside)."""
    from pathlib import Path

    from mlmd.data import Dataset
    from mlmd.data.ops import write_frames
    from mlmd.potential import load_potential
    from mlmd.select import select_uncertain

    frames = [f for path in candidates if Path(path).exists() for f in Dataset(path)]
    chosen = select_uncertain(
        load_potential(model_dir),
        frames,
        sigma_lo_eV_A=sigma_lo_eV_A,
        sigma_hi_eV_A=sigma_hi_eV_A,
        cap=cap,
        known_keys=Dataset(known).keys(),
        fill_from_above=True,
    )
    write_frames(
        out,
        {"name": "unlabelled", "origin": "active-learning selection"},
        chosen.frames,
        overwrite=True,
    )
    spreads = chosen.spreads
    return {
        "path": out,
        **chosen.counts,
        "spread_max": float(spreads.max()) if len(spreads) else 0.0,
        "spread_mean": float(spreads.mean()) if len(spreads) else 0.0,
    }


def merge(datasets: list[str], out: str) -> dict:
    """Merge datasets of one reference method into ``out`` (deduplicated by key).

    (Not named ``inputs``: Parsl reserves that keyword for its own file dependencies.)
    """
    from mlmd.data.ops import merge_datasets

    n = merge_datasets(datasets, out, overwrite=True)
    return {"path": out, "frames": n}


def md_command(
    config: str,
    checkpoint: str,
    parsl_resource_specification: dict | None = None,
    stdout: str = "",
    stderr: str = "",
) -> str:
    """The shell command of an MD run on ``$PARSL_MPI_PREFIX`` ranks; it continues from
    ``checkpoint`` when an earlier (killed or walltime-stopped) attempt left one.

    Both paths are shell-quoted: a run directory named ``a;touch X`` or ``$(touch X)`` is a
    name, never a command. ``$PARSL_MPI_PREFIX`` is Parsl's own (launcher, ranks, hosts)
    and is split by the shell on purpose.
    """
    config_q, checkpoint_q = shlex.quote(config), shlex.quote(checkpoint)
    run = f"$PARSL_MPI_PREFIX mlmd md run {config_q}"
    # no checkpoint: a fresh start, replacing what an attempt killed before its first
    # checkpoint left (`mlmd md run` refuses existing outputs without --overwrite)
    return (
        f"if [ -f {checkpoint_q} ]; then {run} --restart {checkpoint_q}; else {run} --overwrite; fi"
    )


def analyze(trajectory: str, out_dir: str) -> dict:
    """Structure and dynamics of a trajectory into ``out_dir`` (summary.json + PNGs)."""
    from mlmd.analysis import analyze as analyze_trajectory

    return {"out_dir": out_dir, "summary": analyze_trajectory(trajectory, out_dir)}
