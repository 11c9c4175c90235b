"""The bad-input table (CONTRACTS §9): one row per mistake a user makes, run through the
``mlmd`` command.

Every row must end with exit code 2, one line ``mlmd CMD: error: ...`` on stderr that holds
every fragment in ``expect`` (the file and the field at fault), no traceback, within
``TIMEOUT_S`` (a hang fails), and every file of the case directory unchanged and nothing new
written (hashes before and after).

Most rows call :func:`mlmd.cli.main` inside the test process
(:func:`tests.cli_helpers.call_mlmd`: an exception escaping ``main`` fails the row, as a
traceback would; a time limit by SIGALRM; cwd, logging, signals, torch threads and progress
put back). Rows with ``console=True``, one or more per command family, and every
``readonly`` row (the command must run without root's permission override, see
:func:`tests.cli_helpers.unprivileged`) run the installed console script in a subprocess,
so its exit status and stderr stay covered end to end.

Add a row: ``Case(id, argv, expect, prepare=..., readonly=..., console=...)``. ``argv`` runs
in a fresh copy of the kit directory (:func:`kit`: ``data.h5`` six teacher-labelled SiO2
frames, ``train.toml`` a tiny model, ``model/`` two trained members, ``good.extxyz`` the
frames of ``data.h5``, ``cu.h5`` one EMT-labelled Cu cell), so names are relative.
``prepare(d)`` makes or damages files in that copy first; directories in ``readonly`` are
created read-only.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_helpers import TIMEOUT_S, call_mlmd, run_mlmd, tree_digest, unprivileged


@dataclass(frozen=True)
class Case:
    id: str
    argv: str  # the words after ``mlmd``, split on spaces
    expect: tuple[str, ...]  # fragments of the one-line error message
    prepare: Callable[[Path], None] | None = None
    readonly: tuple[str, ...] = ()
    console: bool = False  # run the console script in a subprocess (always when readonly)


# ------------------------------------------------------------------ the kit everyone shares
@pytest.fixture(scope="session")
def kit(tmp_path_factory) -> Path:
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from mlmd.data import Dataset, frame_from_atoms, write_extxyz
    from mlmd.potential.export import write_manifest
    from mlmd.train.cli import load_train_config
    from mlmd.train.loop import train_member
    from tests.train.conftest import teacher_frames

    d = tmp_path_factory.mktemp("kit")
    frames = teacher_frames(6)
    Dataset.create(d / "data.h5", {"name": "teacher", "potential": "teacher"}).append(frames)
    write_extxyz(frames, d / "good.extxyz")
    (d / "train.toml").write_text(
        "[train]\nbatch_size = 3\nsplit = [0.5, 0.25, 0.25]\nepochs = 1\n"
        "[train.model]\ncutoff_A = 3.5\nn_basis = 3\nchannels = 2\nhidden = [4]\n"
    )
    cfg = load_train_config(d / "train.toml")
    for member in range(2):
        train_member(d / "data.h5", d / "model", cfg, member)
    write_manifest(d / "model", 2)
    cu = bulk("Cu", "fcc", a=3.6, cubic=True)
    cu.rattle(0.05, seed=1)
    cu.calc = EMT()
    cu.get_forces()
    Dataset.create(d / "cu.h5", {"name": "emt"}).append([frame_from_atoms(cu)])
    return d


# ------------------------------------------------------------------ ways to damage inputs
def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)

    return prepare


def mkdir(name: str) -> Callable[[Path], None]:
    return lambda d: (d / name).mkdir(parents=True, exist_ok=True)


def remove(name: str) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        path = d / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    return prepare


def truncate(name: str, n_bytes: int) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        path = d / name
        path.write_bytes(path.read_bytes()[:n_bytes])

    return prepare


def edit_weights(name: str, how: str) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        import torch

        state = torch.load(d / name, weights_only=True)
        for value in state.values():
            if value.is_floating_point():
                if how == "nan":
                    value.view(-1)[0] = float("nan")
                    break
                value.mul_(1e12)
        torch.save(state, d / name)

    return prepare


def edit_text(name: str, old: str, new: str) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        path = d / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new))

    return prepare


def set_key(name: str, row: int, key: str) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        import h5py

        with h5py.File(d / name, "r+") as f:
            f["frames/key"][row] = key

    return prepare


def one_frame(name: str, numbers: list[int]) -> Callable[[Path], None]:
    """An unlabelled dataset of one 8 Å cell holding atoms ``numbers`` 2 Å apart."""

    def prepare(d: Path) -> None:
        import numpy as np

        from mlmd.data import Dataset, Frame

        pos = [[2.0 * i, 0.0, 0.0] for i in range(len(numbers))]
        Dataset.create(d / name, {"name": "none"}).append(
            [Frame(numbers, pos, np.eye(3) * 8, True)]
        )

    return prepare


def qe_only_si(name: str) -> Callable[[Path], None]:
    """A QE config whose pseudopotential directory ``pseudo/`` holds Si's file only."""

    def prepare(d: Path) -> None:
        (d / "pseudo").mkdir()
        shutil.copy("/usr/share/espresso/pseudo/Si.pbe-nl-rrkjus_psl.1.0.0.UPF", d / "pseudo")
        (d / name).write_text(f'[run]\npseudo_dir = "{d / "pseudo"}"\n')

    return prepare


#: A two-step teacher MD run of the kit's first frame; rows replace one line of it.
MD = (
    'steps = 2\ntimestep_fs = 1.0\npotential = "teacher"\ndevice = "cpu"\n'
    '[structure]\ndataset = "data.h5"\nindex = 0\n'
    '[ensemble]\nkind = "langevin"\ntemperature_K = 300.0\ndamping_fs = 100.0\n'
    '[output]\ndirectory = "mdout"\n'
)


def md_config(old: str = "", new: str = "") -> Callable[[Path], None]:
    assert old in MD
    return write("md.toml", MD.replace(old, new))


def md_start(name: str, damage: str) -> Callable[[Path], None]:
    """md.toml starting from ``name``: a cristobalite extxyz with an overlap or a NaN."""

    def prepare(d: Path) -> None:
        import ase.io
        import numpy as np

        from mlmd.data import build
        from mlmd.data.convert import frame_to_atoms

        atoms = frame_to_atoms(build.sio2_crystal("cristobalite", (1, 1, 1)))
        if damage == "overlap":
            atoms.positions[5] = atoms.positions[6] + [0.001, 0.0, 0.0]
        else:
            atoms.positions[3] = np.nan
        ase.io.write(d / name, atoms)
        start = 'dataset = "data.h5"\nindex = 0\n'
        (d / "md.toml").write_text(MD.replace(start, f'extxyz = "{name}"\n'))

    return prepare


def md_checkpoint(name: str, kind: str) -> Callable[[Path], None]:
    """md.toml plus ``name``: a checkpoint of an older format, or of another (192-atom) run."""

    def prepare(d: Path) -> None:
        import numpy as np

        write("md.toml", MD)(d)
        if kind == "old":
            np.savez(d / name, format=np.array("mlmd.md.checkpoint/1"), step=np.array(1))
            return
        from mlmd.md import run_md

        other = {
            "steps": 1,
            "potential": "teacher",
            "torch_threads": 1,
            "structure": {"builder": "sio2_crystal", "repeat": [2, 2, 2]},
            "output": {"directory": str(d / "other")},
        }
        run_md(other, echo=False)
        (d / "other" / "checkpoint.npz").rename(d / name)
        shutil.rmtree(d / "other")

    return prepare


def md_trajectory(name: str, *, truncated: bool = False) -> Callable[[Path], None]:
    """``name``: the H5MD trajectory of a 4-step teacher run of cristobalite (frames every
    step), or its first half (a copy cut short)."""

    def prepare(d: Path) -> None:
        from mlmd.md import run_md

        crystal = {"builder": "sio2_crystal", "crystal": "cristobalite", "repeat": [1, 1, 1]}
        output = {"directory": str(d / "mdx"), "trajectory_every": 1, "thermo_every": 1}
        run_md({"steps": 4, "potential": "teacher", "torch_threads": 1, "structure": crystal,
                "output": output}, echo=False)  # fmt: skip
        data = (d / "mdx" / "trajectory.h5").read_bytes()
        (d / name).write_bytes(data[: len(data) // 2] if truncated else data)
        shutil.rmtree(d / "mdx")

    return prepare


def props_case(body: str, trajectory: str = "", kind: str = "nve", **series) -> Callable:
    """A ``props.toml`` with ``body`` and an H5MD run ``trajectory`` in mlmd's layout
    (CONTRACTS §2) of ensemble ``kind``; ``series`` picks what it holds (properties stream)."""

    def prepare(d: Path) -> None:
        import numpy as np

        from tests.properties.synthetic import isotropic_pressure_tensor, write_trajectory

        (d / "props.toml").write_text('output = "out"\n' + body)
        if not trajectory:
            return
        n = series.get("n", 4000)
        rng = np.random.default_rng(0)
        steps = np.arange(n) * 2
        obs = {
            "volume": (np.full(n, 3000.0), steps, "angstrom^3"),
            "temperature": (np.full(n, 3500.0), steps, "K"),
        }
        if series.get("ptensor", True):
            tau = series.get("tau_fs", 50.0)
            tensor = isotropic_pressure_tensor(
                n, dt_fs=2.0, tau_fs=tau, sigma_GPa=1.0, mean_GPa=5.0, rng=rng
            )
            obs["pressure_tensor"] = (tensor, steps, "GPa")
        write_trajectory(d / trajectory, {"ensemble": {"kind": kind}}, obs)

    return prepare


def anneal_between_frames(name: str) -> Callable[[Path], None]:
    """An mlmd H5MD trajectory (24 atoms, frames every 20 fs to 0.32 ps) whose stored
    schedule puts the anneal (0.305–0.315 ps) between two frames (validate stream)."""

    def prepare(d: Path) -> None:
        import numpy as np

        from mlmd.data.build import random_sio2
        from mlmd.md.h5md import H5MDWriter

        frame = random_sio2(24, 2.2, seed=3)
        schedule = {"time_ps": [0, 0.1, 0.305, 0.315], "temperature_K": [4000, 4000, 300, 300]}
        config = {"steps": 315, "timestep_fs": 1.0, "schedule": schedule}
        writer = H5MDWriter(d / name, frame.numbers, np.ones(24), np.arange(24), config)
        for step in range(0, 316, 20):
            writer.write_frame(step, float(step), frame.cell, frame.positions, np.zeros((24, 3)))
        writer.close()

    return prepare


#: Seconds an in-process row may take (no interpreter or torch import to pay for).
IN_PROCESS_TIMEOUT_S = 30.0

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary"
TRAIN = "train data.h5 -o out --config train.toml"

# ------------------------------------------------------------------ the table
CASES = [
    # config values any command reads (mlmd/config.py: data stream), on md run
    Case("md-nan-timestep", "md run md.toml", ("md.toml", "timestep_fs", "not a finite number"),
         md_config("timestep_fs = 1.0", "timestep_fs = nan")),
    Case("md-inf-temperature", "md run md.toml",
         ("md.toml", "ensemble.temperature_K", "not a finite number"),
         md_config("temperature_K = 300.0", "temperature_K = inf")),
    Case("md-nan-damping", "md run md.toml",
         ("md.toml", "ensemble.damping_fs", "not a finite number"),
         md_config("damping_fs = 100.0", "damping_fs = nan")),
    Case("md-config-is-a-directory", "md run mdcfg", ("mdcfg", "is a directory"), mkdir("mdcfg")),
    # md run (md stream)
    Case("md-key-of-another-integrator", "md run md.toml",
         ("md.toml", "ensemble.barostat_damping_fs", "does not apply to kind = 'langevin'"),
         md_config("damping_fs = 100.0", "damping_fs = 100.0\nbarostat_damping_fs = 5.0")),
    Case("md-overlapping-start", "md run md.toml",
         ("ov.extxyz", "structure", "closer than 0.5 Å: 5–6 at 0.001 Å"),
         md_start("ov.extxyz", "overlap")),
    Case("md-nan-start", "md run md.toml", ("nan.extxyz", "structure", "atoms 3", "non-finite"),
         md_start("nan.extxyz", "nan")),
    Case("md-restart-not-a-checkpoint", "md run md.toml --restart junk.npz",
         ("junk.npz", "--restart", "not a readable .npz file"),
         lambda d: (md_config()(d), write("junk.npz", b"PK\x03\x04 not a zip")(d))),
    Case("md-restart-old-checkpoint", "md run md.toml --restart old.npz",
         ("old.npz", "--restart", "older mlmd"), md_checkpoint("old.npz", "old")),
    Case("md-restart-another-runs-checkpoint", "md run md.toml --restart ck.npz",
         ("ck.npz", "--restart", "another run", "the checkpoint has 192"),
         md_checkpoint("ck.npz", "foreign")),
    Case("md-existing-output", "md run md.toml",
         ("mdout", "output.directory", "already holds", "--overwrite"),
         lambda d: (md_config()(d), write("mdout/thermo.log", "# step\n")(d))),
    Case("traj-export-unknown-format", "traj export t.h5 -o t.pdb",
         ("t.pdb", "-o", "unknown export format"), write("t.h5", "x")),
    Case("traj-export-missing-trajectory", "traj export none.h5 -o t.xyz",
         ("none.h5", "trajectory not found"), console=True),
    # outputs where the user may not write: one mechanism in the dispatcher for every command
    Case("md-readonly-output", "md run md.toml", ("ro/md", "Permission denied"),
         md_config('directory = "mdout"', 'directory = "ro/md"'), readonly=("ro",)),
    Case("label-readonly-output", "label data.h5 -o ro/out.h5 --reference teacher",
         ("ro/", "Permission denied"), readonly=("ro",)),
    Case("analyze-readonly-output", "analyze t.h5 -o ro/an --what rdf",
         ("ro/an", "Permission denied"), md_trajectory("t.h5"), readonly=("ro",)),
    # trajectories given to analyze (analysis stream)
    Case("analyze-truncated-trajectory", "analyze t.h5 -o an --what rdf",
         ("t.h5", "truncated or damaged"), md_trajectory("t.h5", truncated=True)),
    # label references (refs stream)
    Case("label-hostile-key", "label data.h5 -o out.h5 --reference teacher",
         ("data.h5", "frames/key"), set_key("data.h5", 1, "../victim")),
    Case("label-lammps-rejected-pair-style", "label data.h5 -o out.h5 --reference lammps "
         "--config l.toml", ("l.toml", "pair_style", "sww"),
         write("l.toml", 'pair_style = "sww"\npair_coeff = ["* * Si.sw Si"]\n'), console=True),
    Case("label-lammps-element-outside-the-potential", "label data.h5 -o out.h5 --reference "
         "lammps --config l.toml", ("data.h5", "elements", "'O'"),
         write("l.toml", 'pair_style = "sw"\npair_coeff = ["* * Si.sw Si"]\n')),
    Case("label-xtb-element-without-parameters", "label og.h5 -o out.h5 --reference xtb",
         ("og.h5", "elements", "Og"), one_frame("og.h5", [8, 118])),
    Case("label-cp2k-element-without-basis", "label u.h5 -o out.h5 --reference cp2k --ranks 1",
         ("u.h5", "basis_sets.U", "BASIS_MOLOPT"), one_frame("u.h5", [92, 8])),
    Case("label-qe-missing-pseudopotential", "label data.h5 -o out.h5 --reference qe "
         "--config q.toml", ("data.h5", "for O in", "case/pseudo"), qe_only_si("q.toml")),
    Case("label-negative-bound", "label data.h5 -o out.h5 --reference teacher "
         "--max-force-eV-A -1", ("max_force_eV_A", "> 0")),
    # data (data stream)
    Case("import-png-as-extxyz", "data import s.extxyz -o new.h5",
         ("s.extxyz", "not a readable extxyz file"), write("s.extxyz", PNG)),
    Case("import-poscar-as-extxyz", "data import POSCAR -o new.h5",
         ("POSCAR", "not a readable extxyz file"),
         write("POSCAR", "Si\n1.0\n5.4 0 0\n0 5.4 0\n0 0 5.4\nSi\n1\nDirect\n0 0 0\n")),
    Case("import-energy-not-a-number", "data import b.extxyz -o new.h5",
         ("b.extxyz", "structure 0: energy", "not a number"),
         write("b.extxyz", "1\nenergy=abc\nSi 0 0 0\n")),
    Case("import-forces-wrong-shape", "data import b.extxyz -o new.h5",
         ("b.extxyz", "structure 0: forces"),
         write("b.extxyz", "1\nenergy=1 Properties=species:S:1:pos:R:3:forces:R:2\n"
               "Si 0 0 0 1 2\n")),
    Case("import-weight-not-a-number", "data import b.extxyz -o new.h5",
         ("b.extxyz", "mlmd_weight"), write("b.extxyz", "1\nmlmd_weight=abc\nSi 0 0 0\n")),
    Case("import-nan-positions", "data import b.extxyz -o new.h5",
         ("b.extxyz", "structure 0: positions"), write("b.extxyz", "1\n\nSi nan 0 0\n")),
    Case("import-stress-and-virial-disagree", "data import b.extxyz -o new.h5",
         ("b.extxyz", "virial", "disagree"),
         write("b.extxyz", '1\nLattice="3 0 0 0 3 0 0 0 3" energy=1 stress="1 0 0 0 1 0 0 0 1" '
               'virial="1 0 0 0 1 0 0 0 1" Properties=species:S:1:pos:R:3:forces:R:3 pbc="T T T"'
               "\nSi 0 0 0 0 0 0\n")),
    Case("import-empty-label-key", "data import good.extxyz -o new.h5 --energy-key=",
         ("--energy-key", "must not be empty")),
    Case("import-output-is-a-directory", "data import good.extxyz -o outdir",
         ("outdir", "is a directory"), mkdir("outdir")),
    Case("import-readonly-directory", "data import good.extxyz -o ro/new.h5",
         ("ro/new.h5", "Permission denied"), readonly=("ro",)),
    Case("info-not-hdf5", "data info x.h5", ("x.h5", "not an HDF5 file"), write("x.h5", "text")),
    Case("info-truncated-dataset", "data info data.h5", ("data.h5", "truncated or damaged"),
         truncate("data.h5", 3000)),
    Case("info-hostile-absolute-key", "data info data.h5",
         ("data.h5", "frames/key", "not a content hash"), set_key("data.h5", 2, "/abs/victim")),
    Case("merge-hostile-relative-key", "data merge data.h5 -o m.h5",
         ("data.h5", "frames/key", "'../victim'"), set_key("data.h5", 0, "../victim")),
    Case("export-hostile-key", "data export data.h5 -o x.extxyz",
         ("frames/key",), set_key("data.h5", 5, "a;touch X")),
    Case("merge-readonly-directory", "data merge data.h5 -o ro/m.h5",
         ("ro/m.h5", "Permission denied"), readonly=("ro",)),
    Case("export-readonly-directory", "data export data.h5 -o ro/x.extxyz",
         ("ro/x.extxyz", "Permission denied"), readonly=("ro",)),
    # train (data stream)
    Case("train-negative-epochs", f"{TRAIN} --epochs -1", ("--epochs", "epochs = -1")),
    Case("train-zero-epochs", f"{TRAIN} --epochs 0", ("--epochs", "must be ≥ 1")),
    Case("train-negative-lr", "train data.h5 -o out --config bad.toml",
         ("bad.toml", "lr = -0.1", "must be > 0"), write("bad.toml", "[train]\nlr = -0.1\n")),
    Case("train-nan-lr", "train data.h5 -o out --config bad.toml",
         ("bad.toml", "train.lr", "not a finite number"), write("bad.toml", "[train]\nlr = nan\n")),
    Case("train-inf-weight", "train data.h5 -o out --config bad.toml",
         ("bad.toml", "train.w_forces", "not a finite number"),
         write("bad.toml", "[train]\nw_forces = inf\n")),
    Case("train-config-is-a-directory", "train data.h5 -o out --config cfgdir",
         ("cfgdir", "is a directory"), mkdir("cfgdir")),
    Case("train-config-not-toml", "train data.h5 -o out --config bad.toml",
         ("bad.toml", "not valid TOML"), write("bad.toml", PNG)),
    Case("train-species-miss-an-element", "train data.h5 -o out --config bad.toml",
         ("data.h5", "train.model.species", "O (", "lack"),
         write("bad.toml", "[train.model]\nspecies = [14]\n")),
    Case("train-member-outside-ensemble", f"{TRAIN} --ensemble 2 --member 2", ("--member",)),
    Case("train-garbage-checkpoint", "train data.h5 -o model --config train.toml --epochs 2",
         ("member_0/checkpoint.pt", "not a readable training checkpoint"),
         write("model/member_0/checkpoint.pt", b"garbage")),
    Case("train-truncated-checkpoint", "train data.h5 -o model --config train.toml --epochs 2",
         ("member_0/checkpoint.pt", "not a readable training checkpoint"),
         truncate("model/member_0/checkpoint.pt", 3000)),
    Case("train-readonly-directory", f"{TRAIN.replace('-o out', '-o ro/m')}",
         ("ro/m", "Permission denied"), readonly=("ro",)),
    # evaluate / export (data stream)
    Case("evaluate-missing-member-weights", "evaluate model data.h5",
         ("member_1", "weights.pt missing"), remove("model/member_1/weights.pt")),
    Case("evaluate-missing-member", "evaluate model data.h5",
         ("model", "ensemble of 2 members", "[1]"), remove("model/member_1"), console=True),
    Case("evaluate-nan-weights", "evaluate model data.h5",
         ("member_0/weights.pt", "non-finite"), edit_weights("model/member_0/weights.pt", "nan")),
    Case("evaluate-huge-weights", "evaluate model data.h5",
         ("data.h5", "weights are damaged"), edit_weights("model/member_0/weights.pt", "huge")),
    Case("evaluate-mismatched-weights", "evaluate model data.h5",
         ("member_1/weights.pt", "do not match the model config"),
         edit_text("model/member_1/config.json", '"channels": 2', '"channels": 3')),
    Case("evaluate-config-not-json", "evaluate model data.h5",
         ("member_0/config.json", "not valid JSON"), write("model/member_0/config.json", "{x")),
    Case("evaluate-unknown-element", "evaluate model cu.h5", ("cu.h5", "Cu (29)")),
    Case("evaluate-not-an-export", "evaluate junk.pt data.h5",
         ("junk.pt", "not a readable model export"), write("junk.pt", b"PK\x03\x04 not a zip")),
    Case("export-nan-weights", "export model -o m.pt",
         ("member_1/weights.pt", "non-finite"), edit_weights("model/member_1/weights.pt", "nan")),
    Case("export-missing-member", "export model -o m.pt",
         ("model", "member(s) [0]"), remove("model/member_0"), console=True),
    # properties (props stream)
    Case("properties-viscosity-without-pressure-tensor", "properties props.toml",
         ("nvt.h5", "/observables/pressure_tensor", "output.pressure_tensor_every"),
         props_case("[viscosity]\ntrajectories = ['nvt.h5']\n", "nvt.h5", "langevin",
                    ptensor=False)),
    Case("properties-viscosity-run-too-short", "properties props.toml",
         ("short.h5", "too short for the plateau"),
         props_case("[viscosity]\ntrajectories = ['short.h5']\n", "short.h5", n=600,
                    tau_fs=3000.0)),
    Case("properties-npt-fluctuations-of-an-nve-run", "properties props.toml",
         ("nve.h5", "ensemble.kind", "does not sample NPT"),
         props_case("[bulk_modulus]\ntrajectories = ['nve.h5']\n", "nve.h5", "nve")),
    Case("properties-unknown-key", "properties props.toml",
         ("props.toml", "viscosity.replica", "did you mean 'replicas'"),
         props_case("[viscosity]\nreplica = 2\n"), console=True),
    Case("properties-no-start-structure", "properties props.toml",
         ("elastic.structure", "needs a start structure"), props_case("[elastic]\n")),
    # validate (validate stream)
    Case("validate-species-differ-from-the-reference",
         "validate model --reference lammps --reference-config sw.toml --parts a -o out",
         ("model", "species", "[8, 14]", "[14]"),
         write("sw.toml", 'pair_style = "sw"\npair_coeff = ["* * Si.sw Si"]\n')),
    Case("validate-reference-md-with-a-reference-without-md",
         "validate model --reference cp2k -o out", ("--reference", "cannot run MD")),
    Case("validate-phase-window-without-frames",
         "validate model --reference teacher --parts a --trajectory t.h5 -o out",
         ("t.h5", "glass window 0.305–0.315 ps holds no frame"), anneal_between_frames("t.h5")),
    Case("validate-unknown-config-key", "validate model --reference teacher --config v.toml -o out",
         ("v.toml", "liquid.sampling_pss", "did you mean 'sampling_ps'"),
         write("v.toml", "[liquid]\nsampling_pss = 8.0\n"), console=True),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, kit: Path, tmp_path: Path) -> None:
    work = tmp_path / "case"
    shutil.copytree(kit, work)
    if case.prepare is not None:
        case.prepare(work)
    prefix: list[str] = []
    if case.readonly:
        prefix = unprivileged()
        if prefix is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        for name in case.readonly:
            (work / name).mkdir(parents=True, exist_ok=True)
            (work / name).chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    before = tree_digest(work)
    try:
        if case.console or case.readonly:
            result = run_mlmd(*case.argv.split(), cwd=work, prefix=prefix, timeout=TIMEOUT_S)
        else:
            result = call_mlmd(*case.argv.split(), cwd=work, timeout=IN_PROCESS_TIMEOUT_S)
    finally:
        for name in case.readonly:
            (work / name).chmod(0o755)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stderr}"
    assert lines and lines[-1].startswith("mlmd ") and "error:" in lines[-1], result.stderr
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, result.stderr
    for fragment in case.expect:
        assert fragment in lines[-1], f"{fragment!r} not in: {lines[-1]}"
    assert tree_digest(work) == before, "a failed command changed or wrote files"
    assert not os.path.exists(work / "X")  # nothing ran from a hostile name


def test_every_command_family_has_a_console_row() -> None:
    """The subprocess rows keep every command of the table covered through the real script."""
    families = {c.argv.split()[0] for c in CASES}
    console = {c.argv.split()[0] for c in CASES if c.console or c.readonly}
    assert families == console, f"no console row for {sorted(families - console)}"


def test_an_in_process_command_leaves_the_process_as_it_found_it(kit: Path, tmp_path) -> None:
    """A real ``md run`` (sets torch's threads, its signal handlers, logging) in-process: the
    next test sees the same cwd, threads, root handlers, signal handlers and progress state."""
    import logging
    import signal

    import torch

    from mlmd import progress

    work = tmp_path / "case"
    shutil.copytree(kit, work)
    threads = torch.get_num_threads() + 1
    (work / "md.toml").write_text(f"torch_threads = {threads}\n" + MD)
    root = logging.getLogger()
    before = (os.getcwd(), torch.get_num_threads(), root.handlers[:], root.level)
    sigterm, silent = signal.getsignal(signal.SIGTERM), progress._SILENT
    result = call_mlmd("md", "run", "md.toml", cwd=work, timeout=IN_PROCESS_TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    assert (work / "mdout" / "checkpoint.npz").is_file()
    assert (os.getcwd(), torch.get_num_threads(), root.handlers, root.level) == before
    assert signal.getsignal(signal.SIGTERM) is sigterm and progress._SILENT is silent
