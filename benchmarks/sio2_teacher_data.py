"""A teacher-labelled SiO2 dataset for the model benchmarks (shared by bench_model/bench_mace).

In-distribution (``build_dataset``): alpha-quartz and beta-cristobalite supercells
(48–192 atoms) rattled at amplitudes matching 300–4000 K and strained ±6 % (compressed and
expanded cells), plus melts and glass-like structures from short teacher Langevin MD of
random SiO2 boxes (72–144 atoms, 2.0–2.6 g/cm³) at 300–4000 K, frames every 20 fs.
Out-of-distribution (``build_ood``): glass-like frames compressed by 20 % in volume, and
crystals rattled as at ~6000 K.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from ase.io import read, write

from mlmd.data import Dataset
from mlmd.data.build import random_sio2, sio2_crystal
from mlmd.data.convert import frame_from_atoms, frame_to_atoms
from mlmd.data.frame import Frame
from mlmd.reference.teacher import Teacher

REFERENCE = {"name": "teacher", "potential": "teacher"}
CRYSTALS = [("quartz", (2, 2, 1)), ("quartz", (2, 2, 2)), ("cristobalite", (2, 1, 1)),
            ("cristobalite", (2, 2, 1)), ("cristobalite", (2, 2, 2))]  # fmt: skip


def _rattle_sigma_A(temperature_K: float) -> float:
    """Thermal-like random displacement (Å): 0.05 Å at 4000 K (matches the teacher's force
    RMS in 4000 K MD, ≈ 3.4 eV/Å), growing as √T."""
    return 0.05 * float(np.sqrt(temperature_K / 4000.0))


def _strained(frame: Frame, rng: np.random.Generator, sigma_A: float, scale: float) -> Frame:
    atoms = frame_to_atoms(frame)
    strain = np.eye(3) * scale + rng.normal(scale=0.004, size=(3, 3))
    atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    atoms.positions += rng.normal(scale=sigma_A, size=atoms.positions.shape)
    atoms.wrap()
    return frame_from_atoms(atoms)


def crystal_frames(n: int, seed: int, temperatures=(300, 4000), scales=(0.96, 1.04)) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        name, rep = CRYSTALS[k % len(CRYSTALS)]
        t = rng.uniform(*temperatures)
        out.append(
            _strained(sio2_crystal(name, rep), rng, _rattle_sigma_A(t), rng.uniform(*scales))
        )
    return out


def md_frames(n_runs: int, per_run: int, seed: int) -> list:
    """Short Langevin MD of random SiO2 (melt at high T, glass-like at low T) under the same
    NKV-1994 Vashishta potential, run by LAMMPS (fast) and relabelled by the teacher."""
    rng = np.random.default_rng(seed)
    out = []
    for run in range(n_runs):
        n_atoms = int(rng.choice([72, 96, 144, 192]))
        density = float(rng.uniform(2.0, 2.6))
        t = float([4000, 3000, 2000, 1000, 300][run % 5])
        atoms = frame_to_atoms(random_sio2(n_atoms, density, seed=seed * 100 + run))
        out += [frame_from_atoms(a) for a in _lammps_md(atoms, t, per_run, int(rng.integers(1e6)))]
    return out


def _lammps_md(atoms, temperature_K: float, n_frames: int, seed: int) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write(work / "data.lmp", atoms, format="lammps-data", specorder=["O", "Si"], masses=True)
        pot = "/usr/share/lammps/potentials/SiO.1994.vashishta"
        (work / "in.lmp").write_text(
            f"""units metal
atom_style atomic
boundary p p p
read_data data.lmp
pair_style vashishta
pair_coeff * * {pot} O Si
velocity all create {temperature_K} {seed} dist gaussian
timestep 0.001
fix 1 all nve
fix 2 all langevin {temperature_K} {temperature_K} 0.05 {seed}
run 200
dump d all custom 20 dump.lmp id type x y z
dump_modify d sort id
run {20 * n_frames}
"""
        )
        subprocess.run(["lmp", "-in", "in.lmp", "-log", "log.lmp", "-screen", "none"],
                       cwd=work, check=True)  # fmt: skip
        frames = read(work / "dump.lmp", index="1:", format="lammps-dump-text")
    for a in frames:
        a.numbers = np.where(a.numbers == 1, 8, 14)
        a.calc = None
    return frames


def label(frames: list) -> list:
    results = Teacher().label(frames)
    return [
        f.with_labels(energy=r.energy, forces=r.forces, stress=r.stress)
        for f, r in zip(frames, results, strict=True)
        if r.status == "ok"
    ]


def build_dataset(path: Path, seed: int = 0, n_crystal: int = 240, n_runs: int = 20,
                  per_run: int = 15) -> Path:  # fmt: skip
    """≥ 500 in-distribution frames (crystal + melt + glass-like), written to ``path``."""
    if path.is_file():
        return path
    frames = crystal_frames(n_crystal, seed) + md_frames(n_runs, per_run, seed + 1)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    Dataset.create(tmp, REFERENCE).append(label(frames))
    tmp.rename(path)
    return path


def build_ood(path: Path, seed: int = 7, n_each: int = 20) -> Path:
    """Out-of-distribution frames: 20 % volume-compressed glass-like, and ~6000 K rattles."""
    if path.is_file():
        return path
    compressed = []
    for f in md_frames(4, n_each // 4, seed):
        atoms = frame_to_atoms(f)
        atoms.set_cell(atoms.cell.array * 0.8 ** (1 / 3), scale_atoms=True)
        compressed.append(replace(frame_from_atoms(atoms), source="compressed20"))
    hot = crystal_frames(n_each, seed, temperatures=(6000, 6000), scales=(0.98, 1.02))
    frames = compressed + [replace(f, source="rattle6000K") for f in hot]
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    Dataset.create(tmp, REFERENCE).append(label([f.unlabelled() for f in frames]))
    tmp.rename(path)
    return path
