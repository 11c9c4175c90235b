"""The MD runs of a validation: the model and the reference at the same state points.

:func:`plan_runs` gives one :class:`Run` per (state point, role): ``model`` and
``reference_1`` … ``reference_K``. Every run of a state point has the same start structure
(one file, ``starts.h5``; reference 2 onwards start from the builder's next seed when the
start is random), thermostat kind and time constant, timestep, length and output interval;
they differ only in potential and seed. Each run is a plain mlmd MD config, so the campaign
can submit them wherever it likes; :func:`execute` runs one here.

Engines: ``mlmd`` (:func:`mlmd.md.runner.run_md`; the model, and the teacher as reference)
and ``lammps`` (``mlmd.reference.lammps_md.run_reference_md``, CONTRACTS §5). A reference
that cannot run MD is refused by :func:`md_engine` before anything runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlmd.atomic import write_text
from mlmd.config import from_mapping, to_mapping
from mlmd.errors import InputError, MlmdError
from mlmd.md.config import StructureConfig
from mlmd.validate.config import ValidateConfig
from mlmd.workflow.plan import checkpoint_interval
from mlmd.workflow.steps import file_digest

#: Which engine runs each reference's MD (references not listed cannot run MD).
MD_ENGINES = {"teacher": "mlmd", "lammps": "lammps"}


@dataclass(frozen=True)
class Run:
    """One MD run. ``state`` ``liquid``/``glass``; ``role`` ``model``/``reference_<k>``;
    ``config`` the mlmd MD config mapping (its output directory included)."""

    state: str
    role: str
    engine: str
    config: dict

    @property
    def name(self) -> str:
        """``<state>/<role>``: the run's name in a validation's records."""
        return f"{self.state}/{self.role}"

    @property
    def directory(self) -> Path:
        return Path(self.config["output"]["directory"])

    @property
    def trajectory(self) -> Path:
        return self.directory / "trajectory.h5"

    @property
    def is_reference(self) -> bool:
        return self.role != "model"


def md_engine(reference_name: str) -> str:
    """The engine of a reference's MD; :class:`InputError` for one that cannot run MD."""
    if reference_name not in MD_ENGINES:
        raise InputError(
            f"reference {reference_name!r} cannot run MD, which the reference-MD comparison needs",
            field="--reference",
            fix=f"use --reference {'|'.join(MD_ENGINES)}, or --parts a (single points only)",
        )
    engine = MD_ENGINES[reference_name]
    if engine == "lammps":
        try:
            import mlmd.reference.lammps_md  # noqa: F401
        except ImportError:
            raise InputError(
                "this mlmd cannot run LAMMPS reference MD yet (no mlmd.reference.lammps_md)",
                field="--reference",
                fix="use --reference teacher, or --parts a with lammps",
            ) from None
    return engine


def reference_md_potential(reference, name: str) -> str:
    """What mlmd runs as the MD of reference ``reference`` (a backend named ``name``): the
    teacher's ``potential`` setting."""
    settings = getattr(reference, "settings", None)
    return str(getattr(settings, "potential", name))


def _start_structures(spec, state: str, out: Path) -> Path:
    """Write the start frames of one state point to ``out/starts-<state>-<hash>.h5`` (the
    hash of their recipes: a changed recipe never reuses old runs): frame 0 for the model
    and reference 1, frame 1 for the other references."""
    from mlmd.data import Frame, write_frames
    from mlmd.md.structure import load_structure

    recipes = [to_mapping(s) for s in _starts(spec.structure)]
    digest = hashlib.sha256(json.dumps(recipes, sort_keys=True).encode()).hexdigest()[:12]
    path = out / f"starts-{state}-{digest}.h5"
    if not path.exists():
        frames = []
        for k, recipe in enumerate(recipes):
            s = load_structure(from_mapping(StructureConfig, recipe))
            source = f"validate {state} start {k}"
            frames.append(Frame(s.numbers, s.positions, s.cell, True, source=source))
        write_frames(path, {"name": "none"}, frames)
    return path


def _starts(structure: StructureConfig) -> list[StructureConfig]:
    """The model's (= reference 1's) start and the other references' (random: next seed)."""
    if structure.builder == "random_sio2":
        return [structure, dataclasses.replace(structure, seed=structure.seed + 1)]
    return [structure, structure]


def _config(cfg: ValidateConfig, seed: int, potential: str, state: dict) -> dict:
    """The MD config of one run, its output directory not yet placed (:func:`_placed`): the
    state point's ``state`` (steps, ensemble, schedule) with the shared settings; a
    checkpoint about every 10 % of the run (a killed run resumes)."""
    md = cfg.md
    every = md.output_every
    return {
        "potential": potential,
        "device": md.device,
        "torch_threads": md.torch_threads,
        "timestep_fs": md.timestep_fs,
        "seed": seed,
        **state,
        "output": {
            "trajectory_every": every,
            "thermo_every": every,
            "checkpoint_every": checkpoint_interval(state["steps"], every),
        },
    }


def _placed(config: dict, out: Path, state: str, role: str, reference: dict | None) -> dict:
    """``config`` writing into ``out/<state>/<role>-<digest>``. The digest hashes what the run
    is: its config, the potential's files (a model directory's weights; a name as itself)
    and, for a reference run, the reference's settings. A run planned again with the same
    inputs (a rerun, another validation of the same model, another model's validation for a
    reference run) finds its finished record there; a changed one never reuses it, even in a
    model directory retrained in place."""
    potential = Path(config["potential"])
    identity = {
        "config": config,
        "potential": file_digest(potential) if potential.exists() else config["potential"],
        "reference": reference,
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    directory = out / state / f"{role}-{digest}"
    return {**config, "output": {**config["output"], "directory": str(directory)}}


def _liquid(cfg: ValidateConfig) -> dict:
    s = cfg.liquid
    return {
        "steps": round((s.equilibration_ps + s.sampling_ps) * 1000 / cfg.md.timestep_fs),
        "initial_temperature_K": s.temperature_K,
        "ensemble": {
            "kind": "langevin",
            "temperature_K": s.temperature_K,
            "damping_fs": cfg.md.damping_fs,
        },
    }


def _glass(cfg: ValidateConfig) -> dict:
    g = cfg.glass
    return {
        "steps": round(g.time_ps[-1] * 1000 / cfg.md.timestep_fs),
        "initial_temperature_K": g.temperature_K[0],
        "ensemble": {
            "kind": "npt",
            "temperature_K": g.temperature_K[0],
            "pressure_GPa": g.pressure_GPa[0],
            "damping_fs": cfg.md.damping_fs,
            "barostat_damping_fs": g.barostat_damping_fs,
            "compressibility_per_GPa": g.compressibility_per_GPa,
        },
        "schedule": {
            "time_ps": list(g.time_ps),
            "temperature_K": list(g.temperature_K),
            "pressure_GPa": list(g.pressure_GPa),
        },
    }


def plan_runs(
    cfg: ValidateConfig, model: str, reference_name: str, reference, out: Path
) -> list[Run]:
    """Every MD run of part (b), model first, for the enabled state points.

    Args:
        model: the model's potential spec (a model directory, an export, a registered name).
        reference_name: ``teacher`` or ``lammps`` (:data:`MD_ENGINES`).
        reference: the built reference (its settings identify its runs; the teacher's
            ``potential`` setting is what mlmd runs for it).
        out: where the runs and their start structures go (runs in
            ``out/<state>/<role>-<digest>``, :func:`_placed`).
    """
    engine = md_engine(reference_name)
    reference_potential = reference_md_potential(reference, reference_name)
    identity = {"name": reference_name, "settings": reference.reference}
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for state, spec, build in (("liquid", cfg.liquid, _liquid), ("glass", cfg.glass, _glass)):
        if not spec.enabled:
            continue
        starts = _start_structures(spec, state, out)
        roles = ["model"] + [f"reference_{k + 1}" for k in range(cfg.md.reference_seeds)]
        for k, role in enumerate(roles):
            potential = model if role == "model" else reference_potential
            config = _config(cfg, cfg.md.seed + k, potential, build(cfg))
            config["structure"] = {"dataset": str(starts), "index": 0 if k <= 1 else 1}
            config = _placed(config, out, state, role, None if k == 0 else identity)
            runs.append(Run(state, role, "mlmd" if role == "model" else engine, config))
    return runs


def replica_run(cfg: ValidateConfig, model: str, out: Path) -> Run:
    """The model's small-cell replica of the glass schedule (frames for DFT labels), in
    ``out/replica/model-<digest>`` (:func:`_placed`)."""
    config = _config(cfg, cfg.md.seed, model, _glass(cfg))
    config["structure"] = to_mapping(cfg.aposteriori.replica_structure)
    return Run("replica", "model", "mlmd", _placed(config, out, "replica", "model", None))


class Interrupted(MlmdError):
    """An MD run stopped on SIGTERM/SIGUSR1 (a checkpoint is written; a rerun resumes it)."""

    exit_code = 130


#: Run statuses that are final (``failed``: the model's MD stopped by its safety checks).
FINISHED = ("completed", "failed")


def _stored_record(run: Run) -> dict:
    """The record in ``run``'s directory when it is of ``run``'s config, else {}."""
    path = run.directory / "run.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    return record if record.get("config") == run.config else {}


def finished_record(run: Run) -> dict:
    """The record of ``run``, finished (by :func:`execute`, e.g. in a campaign's task) with
    this config; :class:`MlmdError` when it is not."""
    record = _stored_record(run)
    if record.get("status") not in FINISHED:
        status = record.get("status", "not run with this config")
        raise MlmdError(
            f"the validation's {run.state} {run.role} MD in {run.directory} has not finished "
            f"({status}): run it first (mlmd.validate.execute)"
        )
    return record


def execute(run: Run, reference=None) -> dict:
    """Run ``run`` unless its directory records the same config as finished; returns the run
    record ``{"status", "config", "message"?, ...}`` (also in ``run.json``).

    A model whose MD fails its safety checks gives status ``failed`` (the verdict fails it),
    not an error. A run interrupted by a signal records ``interrupted`` and raises
    :class:`Interrupted`. The next call of an unfinished run (interrupted, or killed
    outright) continues the mlmd engine's last checkpoint when that was written with this
    very config (:func:`own_checkpoint`); the LAMMPS engine cannot continue and starts over.
    """
    record = _stored_record(run)
    if record.get("status") in FINISHED:
        return record
    run.directory.mkdir(parents=True, exist_ok=True)
    record = _RUNNERS[run.engine](run, reference)
    record["config"] = run.config
    write_text(run.directory / "run.json", json.dumps(record, indent=2, default=str))
    if record["status"] == "interrupted":
        raise Interrupted(f"MD of the {run.state} {run.role} interrupted: rerun to resume it")
    return record


def own_checkpoint(run: Run) -> Path | None:
    """``run``'s ``checkpoint.npz`` when the run that wrote it had exactly ``run``'s config
    (compared resolved, as the checkpoint stores it), else None: a changed config (steps,
    seed, ensemble, output …) never continues an old run's state. (run_md itself checks the
    potential's weights and the atoms when it resumes.)"""
    from mlmd.md.config import config_from_mapping

    path = run.directory / "checkpoint.npz"
    try:
        with np.load(path) as npz:
            theirs = json.loads(str(npz["config"]))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # none, or not an mlmd checkpoint: start afresh
    mine = json.loads(json.dumps(to_mapping(config_from_mapping(run.config))))
    return path if theirs == mine else None


def _run_mlmd(run: Run, reference) -> dict:
    from mpi4py import MPI

    from mlmd.md.engine import MDSafetyError
    from mlmd.md.runner import run_md

    restart = own_checkpoint(run)
    try:
        summary = run_md(run.config, restart=restart, comm=MPI.COMM_SELF, echo=False)
    except MDSafetyError as exc:
        if run.is_reference:
            raise
        return {"status": "failed", "message": f"MD safety check: {exc}"}
    first = summary["step"] - summary["steps_run"]
    return {"status": summary["status"], "wall_s": summary["wall_s"], "first_step": first}


def lammps_md_spec(config: dict) -> dict:
    """The LAMMPS reference MD spec (``mlmd.reference.lammps_md.ReferenceMDSpec`` keys) of an
    mlmd MD config: the same steps, timestep, Langevin time constant, targets, schedule,
    output intervals and seed (NVT = Langevin; NPT = Langevin + LAMMPS ``nph``)."""
    e, schedule = config["ensemble"], config.get("schedule", {})
    spec = {
        "steps": config["steps"],
        "timestep_fs": config["timestep_fs"],
        "ensemble": "nvt" if e["kind"] == "langevin" else "npt",
        "temperature_K": e["temperature_K"],
        "pressure_GPa": e.get("pressure_GPa", 0.0),
        "damping_fs": e["damping_fs"],
        "barostat_damping_fs": e.get("barostat_damping_fs", 1000.0),
        "thermo_every": config["output"]["thermo_every"],
        "trajectory_every": config["output"]["trajectory_every"],
        "seed": config["seed"],
    }
    if schedule:
        spec["schedule"] = {k: tuple(v) for k, v in schedule.items()}
    return spec


def _run_lammps(run: Run, reference) -> dict:
    """LAMMPS has no restart here: every unfinished attempt starts over from step 0."""
    from mlmd.data import Dataset
    from mlmd.reference.lammps_md import run_reference_md

    structure = run.config["structure"]
    frame = Dataset(structure["dataset"])[structure["index"]]
    run.trajectory.unlink(missing_ok=True)  # an unfinished earlier attempt
    path = run_reference_md(reference.settings, frame, lammps_md_spec(run.config), run.directory)
    if Path(path) != run.trajectory:
        run.trajectory.symlink_to(Path(path).resolve())
    return {"status": "completed", "engine": "lammps"}


_RUNNERS = {"mlmd": _run_mlmd, "lammps": _run_lammps}
