"""The reference's own MD as a campaign's first data.

Where the reference can run MD (the teacher through mlmd, a LAMMPS pair style through
LAMMPS: :data:`mlmd.validate.MD_ENGINES`), a campaign runs it along the production path in
small random cells (:class:`mlmd.workflow.config.ReferenceMDConfig`) and labels every frame
it wrote: the freshly inserted cell, the compressed melt, the supercooled liquid and the
glass are in the first training set, before any model has run. (A model trained only on
crystals and their rattles meets the melt for the first time in production.) The frames are
written unlabelled and go through the campaign's labelling step like any other, so every
label has the same provenance and status checks.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mlmd.analysis.reader import open_trajectory
from mlmd.data import Frame, write_frames


def run_reference_md(config: dict, reference_name: str, settings: dict, out: Path) -> dict:
    """Run the MD config ``config`` (its potential is the reference's) with the reference
    ``reference_name`` (``settings``: its config table) in ``out/md`` and write
    every trajectory frame, unlabelled, to ``out/frames.h5``. A finished run is not run
    again; an unfinished one (stopped by a signal, or killed) continues from its last
    checkpoint written with this config (the teacher's mlmd MD; LAMMPS starts over).

    Returns:
        {"path", "frames", "trajectory", "status"} (status of the MD run).

    Raises:
        InputError: a reference that cannot run MD.
        MDSafetyError: the reference's own MD failed its safety checks (a bad schedule).
    """
    from mlmd.reference.registry import get_reference
    from mlmd.validate.runs import Run, execute, md_engine, reference_md_potential

    engine = md_engine(reference_name)
    backend = get_reference(reference_name, config=settings)
    if engine == "mlmd":
        config = {**config, "potential": reference_md_potential(backend, reference_name)}
    config = {**config, "output": {**config["output"], "directory": str(Path(out) / "md")}}
    run = Run("reference_md", "reference_1", engine, config)
    record = execute(run, backend)
    frames = trajectory_frames(run.trajectory)
    path = Path(out) / "frames.h5"
    origin = {"name": "unlabelled", "origin": f"{reference_name} MD"}
    write_frames(path, origin, frames, overwrite=True)
    return {
        "path": str(path),
        "frames": len(frames),
        "trajectory": str(run.trajectory),
        "status": record["status"],
    }


def trajectory_frames(trajectory: Path) -> list[Frame]:
    """Every frame of an H5MD trajectory as an unlabelled :class:`~mlmd.data.Frame` (its
    source names the file and the step)."""
    with open_trajectory(trajectory) as reader:
        return [
            replace(
                Frame(reader.numbers, snap.positions, snap.cell, snap.pbc),
                source=f"{trajectory}:step {snap.step}",
            )
            for snap in reader.frames(slice(None))
        ]
